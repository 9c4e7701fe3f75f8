//! upbeat's probes: the only place that talks to monitored services.
//!
//! A probe turns a [`MonitorKind`] and a timeout into a [`ProbeOutcome`]. It never fails and never
//! panics: an unreachable host, a bad certificate, a wrong status or a timeout are all *results*
//! (an outcome whose `error` says which [`ErrorKind`](upbeat_core::ErrorKind) and why), because
//! the scheduler's job is to record them, not to handle them. Deciding whether a failure opens an
//! outage is `upbeat-core`'s business, not this crate's.
//!
//! The whole probe, from DNS to the last byte of the body, runs under one deadline, and the
//! outcome says where the time went ([`Phases`](upbeat_core::Phases)) so that "slow" can be told
//! apart from "slow to resolve".

mod http;
mod net;
mod tcp;

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use upbeat_core::MonitorKind;
use upbeat_core::sample::ProbeOutcome;

/// Runs checks. Create one at startup and clone it into each task: the TLS configuration (root
/// store and all) is built once and shared.
#[derive(Clone, Debug)]
pub struct Prober {
    tls: Arc<ClientConfig>,
}

impl Prober {
    /// A prober that trusts the Mozilla roots shipped with `webpki-roots` and speaks HTTP/1.1.
    pub fn new() -> Prober {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        // The provider is passed explicitly so that no process-wide default has to be installed,
        // and so that this crate works whatever other crates in the binary choose.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // Cannot fail: ring implements both TLS 1.2 and 1.3, the versions the safe defaults ask
        // for. The alternative, a fallible constructor, would push an impossible error onto
        // every caller.
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions");
        let mut config = builder.with_root_certificates(roots).with_no_client_auth();
        // Only HTTP/1.1 is implemented; advertising h2 would let a server pick a protocol the
        // probe cannot speak.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Prober::with_tls_config(Arc::new(config))
    }

    /// A prober with another TLS configuration, for private CAs. Its ALPN list is used as given,
    /// so it should offer `http/1.1` only.
    pub fn with_tls_config(tls: Arc<ClientConfig>) -> Prober {
        Prober { tls }
    }

    /// Checks `kind` once. `timeout` bounds the whole check, redirects included; when it runs out
    /// the outcome is a [`Timeout`](upbeat_core::ErrorKind::Timeout) that names the phase it
    /// ran out in.
    pub async fn probe(&self, kind: &MonitorKind, timeout: Duration) -> ProbeOutcome {
        let outcome = match kind {
            MonitorKind::Http(spec) => http::probe(spec, &self.tls, timeout).await,
            MonitorKind::Tcp(spec) => tcp::probe(spec, timeout).await,
            // Told, not asked: pings feed them, and the scheduler never hands them over.
            MonitorKind::Heartbeat(_) | MonitorKind::Push(_) | MonitorKind::Metric(_) => ProbeOutcome {
                latency: Duration::ZERO,
                phases: Default::default(),
                http_status: None,
                error: Some(upbeat_core::ProbeError::new(upbeat_core::ErrorKind::Protocol, "nothing to probe")),
            },
            MonitorKind::Dns(_) | MonitorKind::Tls(_) | MonitorKind::Icmp(_) => ProbeOutcome {
                latency: Duration::ZERO,
                phases: Default::default(),
                http_status: None,
                error: Some(upbeat_core::ProbeError::new(upbeat_core::ErrorKind::Protocol, "not implemented yet")),
            },
        };
        tracing::debug!(
            kind = kind.name(),
            target = %kind.target(),
            latency_ms = outcome.latency.as_millis() as u64,
            status = outcome.http_status,
            error = outcome.error.as_ref().map(tracing::field::display),
            "probe finished"
        );
        outcome
    }
}

impl Default for Prober {
    fn default() -> Prober {
        Prober::new()
    }
}
