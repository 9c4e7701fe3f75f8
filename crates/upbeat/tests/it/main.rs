//! Black-box tests of the real application: the server on port 0, a real SQLite file, real HTTP
//! targets on loopback. One test binary, one module per story.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod helpers;

mod alerts;
mod api;
mod backup;
mod browser;
mod channels;
mod cli;
mod cli_incidents;
mod demo;
mod deploy;
mod feed_snapshot;
mod heartbeat;
mod import;
mod incidents;
mod mail;
mod maintenance;
mod metrics;
mod monitoring;
mod page;
mod readme;
mod restart;
mod statuspage;
mod subscribers;
mod tokens;
