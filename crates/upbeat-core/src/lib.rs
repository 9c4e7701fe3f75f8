//! upbeat's domain, with no I/O.
//!
//! Everything here is plain data and pure functions: the checked configuration, what a probe
//! reports (a [`Sample`]), the per-monitor state machine that turns samples into outages, and the
//! feed items that are derived from the event log. The store, the probes and the web layer all
//! speak these types; none of them is allowed to decide what "down" means on its own.

/// A closed list of names: an enum whose variants each have one stable text, for configuration,
/// storage and the API alike, with `ALL`, `as_str`, `parse`, `names` (for errors) and Display.
macro_rules! names {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            /// The accepted names, for error messages.
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod condition;
pub mod config;
pub mod cron;
pub mod duration;
pub mod feed;
pub mod heartbeat;
pub mod html;
pub mod import;
pub mod incident;
pub mod maintenance;
pub mod metric;
pub mod monitor;
pub mod notify;
pub mod outage;
pub mod sample;
pub mod state;
pub mod subscriber;
pub mod token;
pub mod uptime;

pub use config::Config;
pub use monitor::{MonitorId, MonitorKind, Policy};
pub use outage::{Outage, OutageId};
pub use sample::{ErrorKind, Phases, ProbeError, Sample};
pub use state::{MonitorState, Status, Transition};
pub use token::Scope;
