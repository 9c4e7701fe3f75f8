//! upbeat's domain, with no I/O.
//!
//! Everything here is plain data and pure functions: the checked configuration, what a probe
//! reports (a [`Sample`]), the per-monitor state machine that turns samples into outages, and the
//! feed items that are derived from the event log. The store, the probes and the web layer all
//! speak these types; none of them is allowed to decide what "down" means on its own.

pub mod config;
pub mod duration;
pub mod feed;
pub mod html;
pub mod import;
pub mod incident;
pub mod maintenance;
pub mod monitor;
pub mod outage;
pub mod sample;
pub mod state;
pub mod token;
pub mod uptime;

pub use config::Config;
pub use monitor::{MonitorId, MonitorKind, Policy};
pub use outage::{Outage, OutageId};
pub use sample::{ErrorKind, Phases, ProbeError, Sample};
pub use state::{MonitorState, Status, Transition};
pub use token::Scope;
