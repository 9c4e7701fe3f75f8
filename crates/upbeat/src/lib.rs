//! The upbeat binary's library: the running system (engine, scheduler, writer), its wiring, and
//! the command line. `main.rs` only parses arguments and calls in here, so tests start the very
//! same [`app::Application`] on port 0.

pub mod admin;
pub mod app;
pub mod cli;
pub mod client;
pub mod clock;
pub mod deadlines;
pub mod demo;
pub mod engine;
pub mod import;
pub mod init;
pub mod outbox;
pub mod scheduler;
pub mod telemetry;
pub mod writer;
