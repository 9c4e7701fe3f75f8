//! The dns, tls and icmp probes against real servers on the loopback interface.
//!
//! The DNS server here is a few dozen lines of its own (not the probe's encoder turned around), so
//! the probe is checked against an independent reading of RFC 1035. TLS servers are tokio-rustls
//! with certificates made by rcgen for each case. Every listener is bound before the probe
//! starts, so there is no readiness to wait for, and nothing leaves 127.0.0.1 or ::1.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use upbeat_checks::{Prober, icmp_permitted};
use upbeat_core::ErrorKind;
use upbeat_core::monitor::{DnsSpec, IcmpSpec, MonitorKind, Rcode, RecordType, TlsSpec};
use upbeat_core::sample::ProbeOutcome;

/// Generous, so a loaded CI machine does not turn a pass into a timeout; the timeout tests use
/// their own short one.
const TIMEOUT: Duration = Duration::from_secs(10);
const DAY: i64 = 86_400;

fn error_kind(outcome: &ProbeOutcome) -> Option<ErrorKind> {
    outcome.error.as_ref().map(|e| e.kind)
}

fn message(outcome: &ProbeOutcome) -> &str {
    outcome.error.as_ref().map_or("", |e| e.message.as_str())
}

// ---------------------------------------------------------------------------------------------
// DNS

const A: u16 = 1;
const CNAME: u16 = 5;
const MX: u16 = 15;
const TXT: u16 = 16;
const AAAA: u16 = 28;

/// What the test zone says about a question.
enum Reply {
    /// A response code, records as (owner, type, rdata) with `None` for the question's name, and
    /// the truncation flag.
    Answer { rcode: u16, records: Vec<(Option<&'static str>, u16, Vec<u8>)>, truncated: bool },
    /// No answer at all.
    Silence,
}

/// `test.example`, as an authoritative server would answer for it.
fn zone(name: &str, qtype: u16, over_tcp: bool) -> Reply {
    let answer = |records| Reply::Answer { rcode: 0, records, truncated: false };
    let code = |rcode| Reply::Answer { rcode, records: vec![], truncated: false };
    let www_a = || vec![(None, A, vec![10, 0, 0, 1]), (None, A, vec![10, 0, 0, 2])];
    match (name, qtype) {
        ("www.test.example", A) => answer(www_a()),
        ("www.test.example", AAAA) => {
            answer(vec![(None, AAAA, Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets().to_vec())])
        }
        // The first exchange is "mail" plus a pointer to the question's name at offset 12.
        ("test.example", MX) => answer(vec![
            (None, MX, [&[0, 10, 4][..], b"mail", &[0xc0, 12]].concat()),
            (None, MX, [&[0, 20][..], &wire_name("backup.test.example")].concat()),
        ]),
        ("test.example", TXT) => answer(vec![
            (None, TXT, [&[7][..], b"v=spf1 ", &[4], b"-all"].concat()),
            (None, TXT, [&[12][..], b"hello, world"].concat()),
        ]),
        ("alias.test.example", CNAME) => answer(vec![(None, CNAME, wire_name("www.test.example"))]),
        ("alias.test.example", A) => {
            answer(vec![(None, CNAME, wire_name("www.test.example")), (Some("www.test.example"), A, vec![10, 0, 0, 1])])
        }
        ("broken.test.example", _) => code(2),
        ("silent.test.example", _) => Reply::Silence,
        ("big.test.example", A) if !over_tcp => Reply::Answer { rcode: 0, records: vec![], truncated: true },
        ("big.test.example", A) => answer(vec![(None, A, vec![10, 0, 0, 3])]),
        ("www.test.example" | "test.example" | "alias.test.example" | "big.test.example", _) => answer(vec![]),
        (other, _) if other.ends_with(".test.example") => code(3),
        _ => code(5),
    }
}

fn wire_name(name: &str) -> Vec<u8> {
    let mut wire = Vec::new();
    for label in name.split('.') {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    wire
}

/// Answers one query, or `None` for silence (and for anything it cannot read).
fn respond(query: &[u8], over_tcp: bool) -> Option<Vec<u8>> {
    if query.len() < 12 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    let mut labels = Vec::new();
    let mut at = 12;
    loop {
        let len = usize::from(*query.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question = query.get(12..at + 4)?;
    let Reply::Answer { rcode, records, truncated } = zone(&labels.join("."), qtype, over_tcp) else { return None };

    // QR and AA, RD copied, TC when asked for.
    let flags =
        0x8400 | (u16::from_be_bytes([query[2], query[3]]) & 0x0100) | if truncated { 0x0200 } else { 0 } | rcode;
    let mut response = Vec::new();
    for word in [u16::from_be_bytes([query[0], query[1]]), flags, 1, records.len() as u16, 0, 0] {
        response.extend_from_slice(&word.to_be_bytes());
    }
    response.extend_from_slice(question);
    for (owner, rtype, rdata) in records {
        match owner {
            None => response.extend_from_slice(&[0xc0, 12]),
            Some(owner) => response.extend_from_slice(&wire_name(owner)),
        }
        response.extend_from_slice(&rtype.to_be_bytes());
        response.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        response.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        response.extend_from_slice(&rdata);
    }
    Some(response)
}

struct DnsServer {
    addr: SocketAddr,
    /// Queries that went unanswered: retransmissions show up here.
    ignored: Arc<AtomicUsize>,
}

/// The zone served over UDP and TCP on one port of 127.0.0.1, as DNS servers listen.
async fn dns_server() -> DnsServer {
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
        let port = udp.local_addr().expect("local addr").port();
        // The port is free for UDP; for TCP it almost always is too.
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().expect("local addr");
    let ignored = Arc::new(AtomicUsize::new(0));
    let silent = Arc::clone(&ignored);
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((len, from)) = udp.recv_from(&mut buf).await {
            match respond(&buf[..len], false) {
                Some(response) => {
                    let _ = udp.send_to(&response, from).await;
                }
                None => {
                    silent.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            tokio::spawn(async move {
                let Ok(len) = stream.read_u16().await else { return };
                let mut query = vec![0u8; usize::from(len)];
                if stream.read_exact(&mut query).await.is_err() {
                    return;
                }
                if let Some(response) = respond(&query, true) {
                    let mut framed = (response.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&response);
                    let _ = stream.write_all(&framed).await;
                }
            });
        }
    });
    DnsServer { addr, ignored }
}

fn dns(server: SocketAddr, query: &str, record_type: RecordType, expect: &[&str]) -> DnsSpec {
    DnsSpec {
        query: query.to_owned(),
        record_type,
        resolver: Some(server),
        expect: expect.iter().map(|s| (*s).to_owned()).collect(),
        expect_rcode: None,
    }
}

async fn probe_dns(spec: DnsSpec, timeout: Duration) -> ProbeOutcome {
    Prober::new().probe(&MonitorKind::Dns(spec), timeout).await
}

#[tokio::test]
async fn dns_a_records_are_up_when_every_expected_address_is_there() {
    let server = dns_server().await;
    let outcome =
        probe_dns(dns(server.addr, "www.test.example", RecordType::A, &["10.0.0.2", "10.0.0.1"]), TIMEOUT).await;
    assert_eq!(outcome.error, None, "{outcome:?}");
    assert!(outcome.phases.dns.is_some(), "{:?}", outcome.phases);
    assert!(outcome.latency >= outcome.phases.dns.unwrap_or_default());
    // Without expectations, any record of the type will do.
    let outcome = probe_dns(dns(server.addr, "WWW.Test.Example.", RecordType::A, &[]), TIMEOUT).await;
    assert!(outcome.is_up(), "{outcome:?}");
}

#[tokio::test]
async fn dns_a_missing_address_names_what_was_found() {
    let server = dns_server().await;
    let outcome =
        probe_dns(dns(server.addr, "www.test.example", RecordType::A, &["10.0.0.1", "10.0.0.9"]), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Dns), "{outcome:?}");
    assert_eq!(message(&outcome), "expected 10.0.0.9 in the answer; got 10.0.0.1, 10.0.0.2");
}

#[tokio::test]
async fn dns_aaaa_compares_addresses_not_spellings() {
    let server = dns_server().await;
    let up = probe_dns(dns(server.addr, "www.test.example", RecordType::Aaaa, &["2001:0db8:0:0::1"]), TIMEOUT).await;
    assert!(up.is_up(), "{up:?}");
    let down = probe_dns(dns(server.addr, "www.test.example", RecordType::Aaaa, &["2001:db8::2"]), TIMEOUT).await;
    assert_eq!(message(&down), "expected 2001:db8::2 in the answer; got 2001:db8::1");
}

#[tokio::test]
async fn dns_mx_is_preference_and_exchange() {
    let server = dns_server().await;
    let expect = ["10 mail.test.example.", "20 Backup.Test.Example"];
    let up = probe_dns(dns(server.addr, "test.example", RecordType::Mx, &expect), TIMEOUT).await;
    assert!(up.is_up(), "{up:?}");
    let down = probe_dns(dns(server.addr, "test.example", RecordType::Mx, &["30 mail.test.example"]), TIMEOUT).await;
    assert_eq!(error_kind(&down), Some(ErrorKind::Dns));
    assert_eq!(
        message(&down),
        "expected 30 mail.test.example in the answer; got 10 mail.test.example, 20 backup.test.example"
    );
}

#[tokio::test]
async fn dns_txt_joins_its_strings() {
    let server = dns_server().await;
    let up = probe_dns(dns(server.addr, "test.example", RecordType::Txt, &["v=spf1 -all"]), TIMEOUT).await;
    assert!(up.is_up(), "{up:?}");
    let down = probe_dns(dns(server.addr, "test.example", RecordType::Txt, &["v=spf1 +all"]), TIMEOUT).await;
    assert_eq!(message(&down), "expected v=spf1 +all in the answer; got \"v=spf1 -all\", \"hello, world\"");
}

#[tokio::test]
async fn dns_cname_compares_names_without_case_or_trailing_dot() {
    let server = dns_server().await;
    let up =
        probe_dns(dns(server.addr, "alias.test.example", RecordType::Cname, &["WWW.test.example."]), TIMEOUT).await;
    assert!(up.is_up(), "{up:?}");
    // An A question on an alias gets the chain; the A records at its end count.
    let chained = probe_dns(dns(server.addr, "alias.test.example", RecordType::A, &["10.0.0.1"]), TIMEOUT).await;
    assert!(chained.is_up(), "{chained:?}");
    let down =
        probe_dns(dns(server.addr, "alias.test.example", RecordType::Cname, &["mail.test.example"]), TIMEOUT).await;
    assert_eq!(message(&down), "expected mail.test.example in the answer; got www.test.example");
}

#[tokio::test]
async fn dns_nxdomain_is_down_unless_expected() {
    let server = dns_server().await;
    let down = probe_dns(dns(server.addr, "nope.test.example", RecordType::A, &[]), TIMEOUT).await;
    assert_eq!(error_kind(&down), Some(ErrorKind::Dns), "{down:?}");
    assert_eq!(message(&down), "NXDOMAIN for nope.test.example A");

    let mut expected = dns(server.addr, "nope.test.example", RecordType::A, &[]);
    expected.expect_rcode = Some(Rcode::NxDomain);
    let up = probe_dns(expected.clone(), TIMEOUT).await;
    assert!(up.is_up(), "{up:?}");

    // Expecting NXDOMAIN, a name that exists is the failure.
    expected.query = "www.test.example".to_owned();
    let down = probe_dns(expected, TIMEOUT).await;
    assert_eq!(message(&down), "NOERROR for www.test.example A; expected NXDOMAIN");
}

#[tokio::test]
async fn dns_servfail_is_down() {
    let server = dns_server().await;
    let outcome = probe_dns(dns(server.addr, "broken.test.example", RecordType::A, &[]), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Dns), "{outcome:?}");
    assert_eq!(message(&outcome), "SERVFAIL for broken.test.example A");
}

#[tokio::test]
async fn dns_an_empty_answer_is_down() {
    let server = dns_server().await;
    let outcome = probe_dns(dns(server.addr, "www.test.example", RecordType::Mx, &[]), TIMEOUT).await;
    assert_eq!(message(&outcome), "no MX record for www.test.example: the answer is empty");
}

#[tokio::test]
async fn dns_silence_is_a_timeout_in_the_dns_phase_after_retrying() {
    let server = dns_server().await;
    let timeout = Duration::from_millis(1_500);
    let outcome = probe_dns(dns(server.addr, "silent.test.example", RecordType::A, &[]), timeout).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Timeout), "{outcome:?}");
    assert_eq!(
        message(&outcome),
        format!("timed out after 1.5s while waiting for the DNS answer to silent.test.example A from {}", server.addr)
    );
    assert!(outcome.latency >= timeout);
    assert!(outcome.phases.dns.is_some());
    assert!(server.ignored.load(Ordering::SeqCst) >= 2, "the query was sent again after a second");
}

#[tokio::test]
async fn dns_a_truncated_answer_is_asked_again_over_tcp() {
    let server = dns_server().await;
    // Over UDP the server only says "truncated"; 10.0.0.3 exists only in its TCP answer.
    let outcome = probe_dns(dns(server.addr, "big.test.example", RecordType::A, &["10.0.0.3"]), TIMEOUT).await;
    assert!(outcome.is_up(), "{outcome:?}");
}

#[tokio::test]
async fn dns_a_closed_port_is_refused() {
    let closed = {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        socket.local_addr().expect("local addr")
    };
    let outcome = probe_dns(dns(closed, "www.test.example", RecordType::A, &[]), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Refused), "{outcome:?}");
    assert_eq!(message(&outcome), format!("connection refused by {closed}: no DNS server is listening"));
}

// ---------------------------------------------------------------------------------------------
// TLS

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// A private certificate authority.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new(common_name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, common_name);
        let key = KeyPair::generate().expect("CA key");
        let der = params.self_signed(&key).expect("CA certificate").der().clone();
        Ca { issuer: Issuer::new(params, key), der }
    }

    /// A prober that trusts this CA, for HTTPS and TLS checks alike.
    fn prober(&self) -> Prober {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).expect("root");
        Prober::with_roots(roots)
    }

    /// A leaf for `names`, valid from `from` to `until` seconds relative to now.
    fn leaf(&self, names: &[&str], from: i64, until: i64) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        // rcgen takes `time`'s type, which a fixed date plus a std Duration builds.
        params.not_before = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(unix_in(from));
        params.not_after = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(unix_in(until));
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf certificate");
        (vec![cert.der().clone(), self.der.clone()], PrivateKeyDer::Pkcs8(key.serialize_der().into()))
    }
}

/// Now plus `offset` seconds, in seconds since 1970.
fn unix_in(offset: i64) -> u64 {
    unix_now().checked_add_signed(offset).expect("a time after 1970")
}

/// A TLS server on 127.0.0.1 presenting `chain`; it completes handshakes and closes.
async fn tls_server((chain, key): (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)) -> SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let mut buf = [0u8; 64];
                let _ = tls.read(&mut buf).await;
            });
        }
    });
    addr
}

fn tls(host: &str, port: u16, expires_within_days: u64) -> TlsSpec {
    TlsSpec {
        host: host.to_owned(),
        port,
        server_name: None,
        expires_within: Duration::from_secs(expires_within_days * DAY as u64),
    }
}

async fn probe_tls(prober: &Prober, spec: TlsSpec) -> ProbeOutcome {
    prober.probe(&MonitorKind::Tls(spec), TIMEOUT).await
}

#[tokio::test]
async fn tls_a_valid_certificate_is_up_with_connect_and_tls_phases() {
    let ca = Ca::new("Upbeat Test CA");
    let addr = tls_server(ca.leaf(&["localhost"], -30 * DAY, 90 * DAY)).await;
    let outcome = probe_tls(&ca.prober(), tls("localhost", addr.port(), 14)).await;
    assert_eq!(outcome.error, None, "{outcome:?}");
    assert!(outcome.phases.connect.is_some() && outcome.phases.tls.is_some(), "{:?}", outcome.phases);
    assert!(outcome.phases.dns.is_some(), "localhost was resolved");
    assert_eq!(outcome.http_status, None);
}

#[tokio::test]
async fn tls_a_certificate_expiring_within_the_threshold_is_down_with_the_days_left() {
    let ca = Ca::new("Upbeat Test CA");
    let addr = tls_server(ca.leaf(&["localhost"], -30 * DAY, 5 * DAY + 3_600)).await;
    let outcome = probe_tls(&ca.prober(), tls("localhost", addr.port(), 7)).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Certificate), "{outcome:?}");
    let text = message(&outcome);
    assert!(text.starts_with("certificate expires in 5 days ("), "{text}");
    assert!(text.ends_with(" UTC); the threshold is 7 days"), "{text}");
    // The same certificate is fine for a shorter threshold.
    let outcome = probe_tls(&ca.prober(), tls("localhost", addr.port(), 3)).await;
    assert!(outcome.is_up(), "{outcome:?}");
}

#[tokio::test]
async fn tls_an_expired_certificate_is_down_with_how_long_ago() {
    let ca = Ca::new("Upbeat Test CA");
    let addr = tls_server(ca.leaf(&["localhost"], -30 * DAY, -3 * DAY - 3_600)).await;
    let outcome = probe_tls(&ca.prober(), tls("localhost", addr.port(), 7)).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Tls), "{outcome:?}");
    assert!(message(&outcome).starts_with("certificate expired 3 days ago ("), "{}", message(&outcome));
    assert!(outcome.phases.tls.is_some());

    // A ready-made configuration gets the same details from rustls' own error.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der.clone()).expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let outcome = probe_tls(&Prober::with_tls_config(Arc::new(config)), tls("localhost", addr.port(), 7)).await;
    assert!(message(&outcome).starts_with("certificate expired 3 days ago ("), "{outcome:?}");
}

#[tokio::test]
async fn tls_a_certificate_not_valid_yet_is_down() {
    let ca = Ca::new("Upbeat Test CA");
    let addr = tls_server(ca.leaf(&["localhost"], 2 * DAY + 3_600, 90 * DAY)).await;
    let outcome = probe_tls(&ca.prober(), tls("localhost", addr.port(), 7)).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Tls), "{outcome:?}");
    assert!(message(&outcome).starts_with("certificate is not valid before "), "{}", message(&outcome));
    assert!(message(&outcome).ends_with(" (in 2 days)"), "{}", message(&outcome));
}

#[tokio::test]
async fn tls_a_certificate_for_another_name_is_down_and_names_its_names() {
    let ca = Ca::new("Upbeat Test CA");
    let addr = tls_server(ca.leaf(&["other.test", "www.other.test"], -DAY, 90 * DAY)).await;
    let outcome = probe_tls(&ca.prober(), tls("localhost", addr.port(), 7)).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Tls), "{outcome:?}");
    assert_eq!(message(&outcome), "certificate is not valid for localhost; it names other.test, www.other.test");

    // Asking for the certificate's own name (SNI and verification) makes it valid.
    let mut spec = tls("127.0.0.1", addr.port(), 7);
    spec.server_name = Some("www.other.test".to_owned());
    let outcome = probe_tls(&ca.prober(), spec).await;
    assert!(outcome.is_up(), "{outcome:?}");
    assert_eq!(outcome.phases.dns, None, "an IP address is not resolved");
}

#[tokio::test]
async fn tls_a_self_signed_certificate_is_not_trusted() {
    let ca = Ca::new("Upbeat Test CA");
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let key = PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let addr = tls_server((vec![cert.der().clone()], key)).await;
    let outcome = probe_tls(&ca.prober(), tls("localhost", addr.port(), 7)).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Tls), "{outcome:?}");
    assert_eq!(message(&outcome), "certificate for CN=rcgen self signed cert is self-signed and not trusted");
}

#[tokio::test]
async fn tls_a_certificate_from_another_authority_names_its_issuer() {
    let trusted = Ca::new("Upbeat Test CA");
    let other = Ca::new("Someone Else's CA");
    let addr = tls_server(other.leaf(&["localhost"], -DAY, 90 * DAY)).await;
    let outcome = probe_tls(&trusted.prober(), tls("localhost", addr.port(), 7)).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Tls), "{outcome:?}");
    assert_eq!(
        message(&outcome),
        "certificate for CN=localhost is issued by CN=Someone Else's CA, which is not trusted"
    );
}

#[tokio::test]
async fn tls_a_server_that_does_not_speak_tls_is_a_handshake_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf).await;
        }
    });
    let outcome = probe_tls(&Prober::new(), tls("127.0.0.1", addr.port(), 7)).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Tls), "{outcome:?}");
    assert!(message(&outcome).starts_with("TLS handshake failed: "), "{}", message(&outcome));
}

// ---------------------------------------------------------------------------------------------
// ICMP

/// ICMP needs a privilege (root, CAP_NET_RAW or ping_group_range); without it these tests must
/// fail, saying what to grant, rather than pass for nothing.
fn require_icmp() {
    if let Err(what_to_do) = icmp_permitted() {
        panic!("the ICMP probe cannot be tested here: {what_to_do}");
    }
}

async fn probe_icmp(host: &str, count: u8) -> ProbeOutcome {
    Prober::new().probe(&MonitorKind::Icmp(IcmpSpec { host: host.to_owned(), count }), TIMEOUT).await
}

#[tokio::test]
async fn icmp_echo_to_loopback_is_up() {
    require_icmp();
    let outcome = probe_icmp(&Ipv4Addr::LOCALHOST.to_string(), 1).await;
    assert_eq!(outcome.error, None, "{outcome:?}");
    assert!(outcome.latency < Duration::from_secs(1), "the round trip on loopback: {:?}", outcome.latency);
    assert_eq!(outcome.phases.dns, None);
}

#[tokio::test]
async fn icmp_several_echoes_report_the_best_round_trip() {
    require_icmp();
    let outcome = probe_icmp("127.0.0.1", 3).await;
    assert_eq!(outcome.error, None, "{outcome:?}");
    assert!(outcome.latency < Duration::from_secs(1), "{:?}", outcome.latency);
}

#[tokio::test]
async fn icmp_names_are_resolved_first() {
    require_icmp();
    let outcome = probe_icmp("localhost", 1).await;
    assert_eq!(outcome.error, None, "{outcome:?}");
    assert!(outcome.phases.dns.is_some());
}

#[tokio::test]
async fn icmpv6_echo_to_loopback_is_up() {
    require_icmp();
    let outcome = probe_icmp("::1", 2).await;
    assert_eq!(outcome.error, None, "{outcome:?}");
}

#[tokio::test]
async fn icmp_to_a_name_that_cannot_resolve_is_a_dns_error() {
    // A 64-byte label is not a valid DNS name, so the C library refuses it without sending a
    // query anywhere.
    let host = format!("{}.invalid", "a".repeat(64));
    let outcome = probe_icmp(&host, 1).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Dns), "{outcome:?}");
    assert!(message(&outcome).starts_with(&format!("could not resolve {host}")), "{}", message(&outcome));
}
