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

mod dns;
mod http;
mod icmp;
mod net;
mod tcp;
mod tls;

pub use icmp::icmp_permitted;

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use upbeat_core::MonitorKind;
use upbeat_core::metric::MetricPull;
use upbeat_core::sample::ProbeOutcome;

/// Runs checks. Create one at startup and clone it into each task: the TLS configuration (root
/// store and all) is built once and shared.
#[derive(Clone, Debug)]
pub struct Prober {
    tls: Arc<ClientConfig>,
    /// For `tls` monitors: the same trust, but no ALPN, no resumption, and a verifier that
    /// remembers the certificate it judged.
    certificates: Arc<tls::Inspector>,
}

impl Prober {
    /// A prober that trusts the Mozilla roots shipped with `webpki-roots` and speaks HTTP/1.1.
    pub fn new() -> Prober {
        Prober::with_roots(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() })
    }

    /// A prober that trusts `roots` instead, for HTTPS and TLS checks alike: a private CA's, for
    /// internal services.
    pub fn with_roots(roots: rustls::RootCertStore) -> Prober {
        let roots = Arc::new(roots);
        // The provider is passed explicitly so that no process-wide default has to be installed,
        // and so that this crate works whatever other crates in the binary choose.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // Cannot fail: ring implements both TLS 1.2 and 1.3, the versions the safe defaults ask
        // for. The alternative, a fallible constructor, would push an impossible error onto
        // every caller.
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions");
        let mut config = builder.with_root_certificates(Arc::clone(&roots)).with_no_client_auth();
        // Only HTTP/1.1 is implemented; advertising h2 would let a server pick a protocol the
        // probe cannot speak.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Fails only for an empty root store; the TLS probe then reports rustls' own verdicts,
        // which an empty store makes "not trusted" for every certificate anyway.
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider).build().ok();
        let certificates = Arc::new(tls::Inspector::new(&config, verifier));
        Prober { tls: Arc::new(config), certificates }
    }

    /// A prober with another TLS configuration. Its ALPN list is used as given, so it should
    /// offer `http/1.1` only. `tls` monitors use it too, with rustls' verdicts but fewer details
    /// than [`Prober::with_roots`] gives (the configuration's verifier cannot be wrapped), so
    /// prefer that one for private CAs.
    pub fn with_tls_config(tls: Arc<ClientConfig>) -> Prober {
        let certificates = Arc::new(tls::Inspector::new(&tls, None));
        Prober { tls, certificates }
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
            MonitorKind::Dns(spec) => dns::probe(spec, timeout).await,
            MonitorKind::Tls(spec) => tls::probe(spec, &self.certificates, timeout).await,
            MonitorKind::Icmp(spec) => icmp::probe(spec, timeout).await,
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

impl Prober {
    /// Fetches a pulled metric's JSON and reads the number at its path.
    pub async fn fetch_value(&self, pull: &MetricPull, timeout: Duration) -> Result<f64, upbeat_core::ProbeError> {
        let spec = upbeat_core::monitor::HttpSpec {
            url: pull.url.clone(),
            method: ::http::Method::GET,
            headers: pull.headers.clone(),
            expected_status: upbeat_core::monitor::StatusSet(vec![(200, 299)]),
            body_contains: Vec::new(),
            body_not_contains: Vec::new(),
            follow_redirects: true,
            conditions: Vec::new(),
        };
        let body = http::fetch(&spec, &self.tls, timeout).await?;
        let invalid = |message: String| upbeat_core::ProbeError::new(upbeat_core::ErrorKind::Body, message);
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| invalid(format!("the response is not JSON: {e}")))?;
        upbeat_core::metric::value_at(&json, &pull.json_path).map_err(invalid)
    }
}

/// A random number for DNS ids and ICMP identifiers, which only have to make a stray or forged
/// answer unlikely to pass for ours. The standard library seeds each thread's `RandomState` keys
/// from the OS and changes them for every new one, so hashing nothing with a fresh one is random
/// without a dependency for it.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::hash::RandomState::new().build_hasher().finish()
}

impl Default for Prober {
    fn default() -> Prober {
        Prober::new()
    }
}
