//! The TLS probe: does `host:port` complete a handshake with a certificate that is valid for the
//! name, and will it still be valid in `expires_within`?
//!
//! rustls' WebPKI verifier decides whether the certificate is good; it is wrapped in a
//! [`Recorder`] that keeps the leaf the server presented and the time it was checked against, so
//! that a failure says *what* is wrong ("expired 3 days ago", "issued by …, which is not trusted")
//! instead of "handshake failed", and so that "expires in 5 days" is computed against the same
//! clock the verifier used.
//!
//! A leaf's validity is read with a small DER walk ([`read_certificate`]) rather than a full X.509
//! parser: the probe needs three fields that sit at fixed places in every certificate, and
//! [`peer_validity`] makes the same reading available to the HTTPS probe for its own connection.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, CommonState, DigitallySignedStruct, SignatureScheme};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use upbeat_core::monitor::TlsSpec;
use upbeat_core::sample::ProbeOutcome;
use upbeat_core::{ErrorKind, Phases, ProbeError};

use crate::net::{self, Deadline, add_phase, describe_io, one_line};

/// The TLS configuration of certificate checks, built once per [`Prober`](crate::Prober).
#[derive(Debug)]
pub(crate) struct Inspector {
    /// No ALPN (the service may not speak HTTP, and a server that insists on its own protocol
    /// would otherwise refuse the handshake) and no resumption (a resumed session presents no
    /// certificate, so there would be nothing to inspect).
    config: ClientConfig,
    /// `None` when the prober was given a ready-made configuration whose verifier cannot be
    /// wrapped: the probe then relies on rustls' error details alone.
    verifier: Option<Arc<WebPkiServerVerifier>>,
}

impl Inspector {
    pub(crate) fn new(base: &ClientConfig, verifier: Option<Arc<WebPkiServerVerifier>>) -> Inspector {
        let mut config = base.clone();
        config.alpn_protocols.clear();
        config.resumption = Resumption::disabled();
        Inspector { config, verifier }
    }

    /// The configuration for one handshake, and where its recorder leaves what it saw. The
    /// recorder is per handshake because a verifier learns nothing about which connection it is
    /// verifying for, and probes run concurrently.
    fn for_one_handshake(&self) -> (Arc<ClientConfig>, Option<Slot>) {
        let mut config = self.config.clone();
        let Some(inner) = &self.verifier else { return (Arc::new(config), None) };
        let seen = Arc::new(Mutex::new(None));
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(Recorder { inner: Arc::clone(inner), seen: Arc::clone(&seen) }));
        (Arc::new(config), Some(seen))
    }
}

/// Where a recorder leaves what it saw, for the probe to pick up after the handshake.
type Slot = Arc<Mutex<Option<Presented>>>;

/// What the server presented, and when it was checked.
#[derive(Debug)]
struct Presented {
    leaf: CertificateDer<'static>,
    now: UnixTime,
}

/// Verifies exactly as rustls' WebPKI verifier does, remembering the leaf on the way.
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    seen: Slot,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // A poisoned lock only costs the details of the message, never the verification.
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(Presented { leaf: end_entity.clone().into_owned(), now });
        }
        self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

pub(crate) async fn probe(spec: &TlsSpec, inspector: &Inspector, timeout: Duration) -> ProbeOutcome {
    let deadline = Deadline::start(timeout);
    let mut phases = Phases::default();
    let error = check(spec, inspector, &deadline, &mut phases).await.err();
    ProbeOutcome { latency: deadline.elapsed(), phases, http_status: None, error }
}

async fn check(
    spec: &TlsSpec,
    inspector: &Inspector,
    deadline: &Deadline,
    phases: &mut Phases,
) -> Result<(), ProbeError> {
    let name = spec.server_name.as_deref().unwrap_or_else(|| net::bare_host(&spec.host));
    let server_name = ServerName::try_from(name.to_owned())
        .map_err(|_| ProbeError::new(ErrorKind::Tls, format!("{name} is not a valid TLS server name")))?;
    let addrs = net::resolve(&spec.host, spec.port, deadline, phases).await?;
    let tcp = net::connect(&addrs, deadline, phases).await?;

    let (config, seen) = inspector.for_one_handshake();
    let started = Instant::now();
    let handshake =
        deadline.run("during the TLS handshake", TlsConnector::from(config).connect(server_name, tcp)).await;
    add_phase(&mut phases.tls, started.elapsed());
    let presented = seen.and_then(|seen| seen.lock().ok().and_then(|mut seen| seen.take()));
    let stream = handshake?.map_err(|err| handshake_error(&err, presented.as_ref(), name))?;

    let validity = peer_validity(stream.get_ref().1).map_err(|reason| {
        ProbeError::new(ErrorKind::Tls, format!("could not read the server's certificate: {reason}"))
    })?;
    // The verifier's time when there was one, so "valid" and "expires in" agree.
    let now = presented.map_or_else(UnixTime::now, |presented| presented.now);
    match expiry_problem(&validity, now, spec.expires_within) {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// When a certificate is valid: what [`peer_validity`] reads from a connection's leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) not_before: DateTime<Utc>,
    pub(crate) not_after: DateTime<Utc>,
}

/// The validity of the certificate the peer of an established TLS connection presented (its
/// leaf). For the HTTPS probe too, which sees the same certificate on its own connection.
pub(crate) fn peer_validity(connection: &CommonState) -> Result<Validity, String> {
    let leaf = connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or_else(|| "the server presented no certificate".to_owned())?;
    let certificate = read_certificate(leaf)?;
    Ok(Validity { not_before: certificate.not_before, not_after: certificate.not_after })
}

/// Why a certificate that verified is still a problem at `now`: it expires within `threshold`
/// (a [`Certificate`](ErrorKind::Certificate) failure: valid today, to be renewed), or it has
/// expired after all (possible with a custom verifier).
pub(crate) fn expiry_problem(validity: &Validity, now: UnixTime, threshold: Duration) -> Option<ProbeError> {
    let now = unix_time(now);
    let left = validity.not_after.signed_duration_since(now);
    if left <= chrono::TimeDelta::zero() {
        return Some(ProbeError::new(ErrorKind::Tls, expired(validity.not_after, now)));
    }
    let left = left.to_std().unwrap_or_default();
    if left >= threshold {
        return None;
    }
    Some(ProbeError::new(
        ErrorKind::Certificate,
        format!(
            "certificate expires in {} ({}); the threshold is {}",
            span(left),
            timestamp(validity.not_after),
            threshold_text(threshold)
        ),
    ))
}

fn expired(not_after: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let ago = now.signed_duration_since(not_after).to_std().unwrap_or_default();
    format!("certificate expired {} ago ({})", span(ago), timestamp(not_after))
}

/// Turns a failed handshake into what is wrong, with the certificate's details when the recorder
/// kept them.
fn handshake_error(err: &io::Error, presented: Option<&Presented>, name: &str) -> ProbeError {
    let rustls_error = err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(problem)) => {
            let leaf = presented.and_then(|presented| read_certificate(&presented.leaf).ok());
            ProbeError::new(ErrorKind::Tls, certificate_problem(problem, leaf.as_ref(), presented, name))
        }
        _ => ProbeError::new(ErrorKind::Tls, format!("TLS handshake failed: {}", describe_io(err))),
    }
}

fn certificate_problem(
    problem: &CertificateError,
    leaf: Option<&Certificate>,
    presented: Option<&Presented>,
    name: &str,
) -> String {
    let now = presented.map(|presented| unix_time(presented.now));
    match problem {
        CertificateError::ExpiredContext { time, not_after } => {
            let not_after = unix_time(*not_after);
            // WebPKI checks every certificate of the chain; say so when it is not the leaf.
            let which = match leaf {
                Some(leaf) if leaf.not_after != not_after => "an intermediate ",
                _ => "",
            };
            format!("{which}{}", expired(not_after, unix_time(*time)))
        }
        CertificateError::Expired => match (leaf, now) {
            (Some(leaf), Some(now)) if leaf.not_after < now => expired(leaf.not_after, now),
            _ => "certificate has expired".to_owned(),
        },
        CertificateError::NotValidYetContext { time, not_before } => {
            let not_before = unix_time(*not_before);
            let wait = not_before.signed_duration_since(unix_time(*time)).to_std().unwrap_or_default();
            format!("certificate is not valid before {} (in {})", timestamp(not_before), span(wait))
        }
        CertificateError::NotValidYet => "certificate is not valid yet".to_owned(),
        CertificateError::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
            let names = presented.iter().map(|name| presented_name(name)).collect::<Vec<_>>().join(", ");
            let names = truncate(&names, 200);
            format!("certificate is not valid for {name}; it names {names}")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("certificate is not valid for {name}")
        }
        CertificateError::UnknownIssuer => match leaf {
            Some(leaf) if leaf.self_issued => {
                format!("certificate{} is self-signed and not trusted", named(&leaf.subject))
            }
            Some(leaf) => match &leaf.issuer {
                Some(issuer) => {
                    format!("certificate{} is issued by {issuer}, which is not trusted", named(&leaf.subject))
                }
                None => format!("certificate{} is not issued by a trusted authority", named(&leaf.subject)),
            },
            None => "certificate is not issued by a trusted authority".to_owned(),
        },
        CertificateError::BadSignature => "a certificate in the chain has an invalid signature".to_owned(),
        CertificateError::Revoked => "certificate has been revoked".to_owned(),
        other => one_line(&rustls::Error::InvalidCertificate(other.clone()).to_string()),
    }
}

/// webpki lists a certificate's names in their `Debug` form (`DnsName("example.com")`,
/// `IpAddress(192.0.2.1)`); a person wants the name.
fn presented_name(name: &str) -> &str {
    name.strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| name.strip_prefix("IpAddress(").and_then(|rest| rest.strip_suffix(')')))
        .unwrap_or(name)
}

fn named(subject: &Option<String>) -> String {
    subject.as_ref().map(|subject| format!(" for {subject}")).unwrap_or_default()
}

fn unix_time(time: UnixTime) -> DateTime<Utc> {
    let secs = i64::try_from(time.as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn timestamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A span for people, in its largest unit, rounded down: "3 days", "5 hours", "1 minute".
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = match secs {
        86_400.. => (secs / 86_400, "day"),
        3_600.. => (secs / 3_600, "hour"),
        60.. => (secs / 60, "minute"),
        _ => (secs, "second"),
    };
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

/// The configured threshold: exact, since it is what the operator wrote ("14 days"), falling
/// back to the compact form when it is not whole days.
fn threshold_text(threshold: Duration) -> String {
    if threshold.as_secs().is_multiple_of(86_400) && threshold.subsec_nanos() == 0 {
        span(threshold)
    } else {
        upbeat_core::duration::human(threshold)
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// What the probes read from a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Certificate {
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    /// The subject's and the issuer's common names (or organisations), for messages.
    subject: Option<String>,
    issuer: Option<String>,
    /// Issuer and subject are the same name: self-signed, for every purpose of a message.
    self_issued: bool,
}

/// Reads the validity and names of a DER certificate (RFC 5280, section 4.1):
///
/// ```text
/// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
///     [0] version OPTIONAL, serialNumber INTEGER, signature AlgorithmIdentifier,
///     issuer Name, validity SEQUENCE { notBefore Time, notAfter Time }, subject Name, ... }, ... }
/// ```
fn read_certificate(der: &[u8]) -> Result<Certificate, String> {
    let (certificate, _) = der::expect(der, der::SEQUENCE, "certificate")?;
    let (tbs, _) = der::expect(certificate, der::SEQUENCE, "tbsCertificate")?;
    let mut rest = tbs;
    if rest.first() == Some(&der::VERSION) {
        rest = der::read(rest)?.2;
    }
    let (_, rest) = der::expect(rest, der::INTEGER, "serialNumber")?;
    let (_, rest) = der::expect(rest, der::SEQUENCE, "signature")?;
    let (issuer, rest) = der::expect(rest, der::SEQUENCE, "issuer")?;
    let (validity, rest) = der::expect(rest, der::SEQUENCE, "validity")?;
    let (subject, _) = der::expect(rest, der::SEQUENCE, "subject")?;
    let (not_before, rest) = der::time(validity)?;
    let (not_after, _) = der::time(rest)?;
    Ok(Certificate {
        not_before,
        not_after,
        subject: der::display_name(subject),
        issuer: der::display_name(issuer),
        self_issued: issuer == subject,
    })
}

/// Just enough DER to walk a certificate to its validity and names. Every length is checked
/// against what is left, so a malformed certificate is an error, never a panic.
mod der {
    use chrono::{DateTime, NaiveDate, Utc};

    pub(super) const INTEGER: u8 = 0x02;
    pub(super) const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const OID: u8 = 0x06;
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;
    /// `[0] EXPLICIT`, the version field of a v2 or v3 certificate.
    pub(super) const VERSION: u8 = 0xa0;

    /// One element: its tag, its contents and what follows it.
    pub(super) fn read(input: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
        let (&tag, rest) = input.split_first().ok_or("unexpected end of data")?;
        if tag & 0x1f == 0x1f {
            return Err(format!("unsupported multi-byte tag {tag:#04x}"));
        }
        let (&first, rest) = rest.split_first().ok_or("unexpected end of data")?;
        let (len, rest) = match first {
            0..=0x7f => (usize::from(first), rest),
            0x81..=0x84 => {
                let n = usize::from(first & 0x7f);
                if rest.len() < n {
                    return Err("unexpected end of data".to_owned());
                }
                let len = rest[..n].iter().fold(0usize, |len, &b| (len << 8) | usize::from(b));
                (len, &rest[n..])
            }
            0x80 => return Err("indefinite length, which DER does not allow".to_owned()),
            _ => return Err("length too large".to_owned()),
        };
        if rest.len() < len {
            return Err(format!("element of {len} bytes with only {} left", rest.len()));
        }
        Ok((tag, &rest[..len], &rest[len..]))
    }

    pub(super) fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
        let (found, contents, rest) = read(input).map_err(|e| format!("{what}: {e}"))?;
        if found == tag {
            Ok((contents, rest))
        } else {
            Err(format!("{what}: expected tag {tag:#04x}, found {found:#04x}"))
        }
    }

    /// `UTCTime` (`YYMMDDHHMMSSZ`, years 1950 to 2049) or `GeneralizedTime` (`YYYYMMDDHHMMSSZ`),
    /// in the forms RFC 5280 requires: seconds present, in UTC, no fractions.
    pub(super) fn time(input: &[u8]) -> Result<(DateTime<Utc>, &[u8]), String> {
        let (tag, contents, rest) = read(input)?;
        let (year, digits) = match (tag, contents.len()) {
            (UTC_TIME, 13) => {
                let yy = number(&contents[..2])?;
                (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &contents[2..])
            }
            (GENERALIZED_TIME, 15) => (number(&contents[..4])?, &contents[4..]),
            _ => return Err(format!("not a certificate time: tag {tag:#04x}, {} bytes", contents.len())),
        };
        if digits.last() != Some(&b'Z') {
            return Err("time is not in UTC".to_owned());
        }
        let field = |at: usize| number(&digits[at..at + 2]);
        let (month, day, hour, minute, second) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
        let time = NaiveDate::from_ymd_opt(year as i32, month, day)
            .and_then(|date| date.and_hms_opt(hour, minute, second))
            .ok_or_else(|| format!("invalid date {}", String::from_utf8_lossy(contents)))?;
        Ok((time.and_utc(), rest))
    }

    fn number(digits: &[u8]) -> Result<u32, String> {
        digits.iter().try_fold(0u32, |n, &d| match d {
            b'0'..=b'9' => Ok(n * 10 + u32::from(d - b'0')),
            _ => Err(format!("{:?} is not a number", String::from_utf8_lossy(digits))),
        })
    }

    /// `CN=…` when the name has a common name, else `O=…`; `None` when it has neither or is
    /// malformed (the name only decorates a message).
    pub(super) fn display_name(name: &[u8]) -> Option<String> {
        const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
        const ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
        let attributes = attributes(name)?;
        [(COMMON_NAME, "CN"), (ORGANIZATION, "O")].into_iter().find_map(|(oid, label)| {
            attributes.iter().find(|(found, _)| found == &oid).map(|(_, value)| format!("{label}={value}"))
        })
    }

    /// `Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }`, with string values.
    fn attributes(mut name: &[u8]) -> Option<Vec<(&[u8], String)>> {
        let mut found = Vec::new();
        while !name.is_empty() {
            let (set, rest) = expect(name, SET, "name").ok()?;
            name = rest;
            let mut set = set;
            while !set.is_empty() {
                let (pair, rest) = expect(set, SEQUENCE, "attribute").ok()?;
                set = rest;
                let (oid, value) = expect(pair, OID, "attribute type").ok()?;
                let (tag, value, _) = read(value).ok()?;
                found.push((oid, string(tag, value)?));
            }
        }
        Some(found)
    }

    fn string(tag: u8, bytes: &[u8]) -> Option<String> {
        const UTF8: u8 = 0x0c;
        const PRINTABLE: u8 = 0x13;
        const TELETEX: u8 = 0x14;
        const IA5: u8 = 0x16;
        const BMP: u8 = 0x1e;
        match tag {
            UTF8 | PRINTABLE | TELETEX | IA5 => Some(String::from_utf8_lossy(bytes).into_owned()),
            BMP => {
                let units: Vec<u16> =
                    bytes.chunks_exact(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]])).collect();
                Some(String::from_utf16_lossy(&units))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rcgen::{CertificateParams, DnType, KeyPair};

    fn at(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).single().expect("a valid time")
    }

    fn certificate(not_before: (i32, u8, u8), not_after: (i32, u8, u8), common_name: &str) -> Vec<u8> {
        let mut params = CertificateParams::new(vec!["example.test".to_owned()]).expect("params");
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, common_name);
        let key = KeyPair::generate().expect("key");
        params.self_signed(&key).expect("certificate").der().to_vec()
    }

    #[test]
    fn reads_utc_and_generalized_times_and_names() {
        // rcgen writes dates before 2050 as UTCTime and later ones as GeneralizedTime.
        let der = certificate((2024, 3, 1), (2051, 12, 31), "example.test");
        let read = read_certificate(&der).expect("readable");
        assert_eq!(read.not_before, at(2024, 3, 1, 0, 0));
        assert_eq!(read.not_after, at(2051, 12, 31, 0, 0));
        assert_eq!(read.subject.as_deref(), Some("CN=example.test"));
        assert!(read.self_issued);
    }

    #[test]
    fn utc_time_years_before_1950_wrap_to_the_next_century() {
        let (time, rest) = der::time(b"\x17\x0d491231235959Z").expect("time");
        assert_eq!(time, Utc.with_ymd_and_hms(2049, 12, 31, 23, 59, 59).single().expect("time"));
        assert!(rest.is_empty());
        let (time, _) = der::time(b"\x17\x0d500101000000Z").expect("time");
        assert_eq!(time, at(1950, 1, 1, 0, 0));
    }

    #[test]
    fn malformed_certificates_are_errors() {
        let der = certificate((2024, 3, 1), (2030, 1, 1), "x");
        for cut in [0, 1, 2, 10, 40, der.len() / 2] {
            assert!(read_certificate(&der[..cut]).is_err(), "cut at {cut}");
        }
        assert!(der::read(b"\x30\x80\x00\x00").is_err(), "indefinite length");
        assert!(der::read(b"\x30\x85\x01\x01\x01\x01\x01").is_err(), "five length bytes");
        assert!(der::read(b"\x30\x82\xff\xff\x00").is_err(), "longer than the input");
        assert!(der::time(b"\x17\x0d241301000000Z").is_err(), "month 13");
        assert!(der::time(b"\x17\x0d2401010000000").is_err(), "not UTC");
        assert!(der::time(b"\x18\x0d240101000000Z").is_err(), "GeneralizedTime of the wrong length");
        assert!(der::time(b"\x17\x0d24010a000000Z").is_err(), "not digits");
    }

    #[test]
    fn long_form_lengths_are_read() {
        let mut element = vec![0x04, 0x82, 0x01, 0x00];
        element.extend(std::iter::repeat_n(7u8, 256));
        element.push(0xff);
        let (tag, contents, rest) = der::read(&element).expect("element");
        assert_eq!((tag, contents.len(), rest), (0x04, 256, &[0xff][..]));
    }

    #[test]
    fn expiry_is_judged_against_the_threshold() {
        let validity = Validity { not_before: at(2026, 1, 1, 0, 0), not_after: at(2026, 12, 4, 10, 0) };
        let now = |t: DateTime<Utc>| UnixTime::since_unix_epoch(Duration::from_secs(t.timestamp() as u64));
        let week = Duration::from_secs(7 * 86_400);

        let soon = expiry_problem(&validity, now(at(2026, 11, 29, 9, 0)), week).expect("within the threshold");
        assert_eq!(soon.kind, ErrorKind::Certificate);
        assert_eq!(soon.message, "certificate expires in 5 days (2026-12-04 10:00 UTC); the threshold is 7 days");

        assert_eq!(expiry_problem(&validity, now(at(2026, 11, 20, 0, 0)), week), None);
        assert_eq!(expiry_problem(&validity, now(at(2026, 12, 4, 9, 0)), Duration::ZERO), None);

        let gone = expiry_problem(&validity, now(at(2026, 12, 7, 11, 0)), week).expect("expired");
        assert_eq!(gone.kind, ErrorKind::Tls);
        assert_eq!(gone.message, "certificate expired 3 days ago (2026-12-04 10:00 UTC)");
    }

    #[test]
    fn presented_names_lose_their_debug_wrapping() {
        assert_eq!(presented_name("DnsName(\"*.example.com\")"), "*.example.com");
        assert_eq!(presented_name("IpAddress(2001::db8)"), "2001::db8");
        assert_eq!(presented_name("DirectoryName"), "DirectoryName");
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(Duration::from_secs(86_400)), "1 day");
        assert_eq!(span(Duration::from_secs(5 * 86_400 + 3_600)), "5 days");
        assert_eq!(span(Duration::from_secs(7_300)), "2 hours");
        assert_eq!(span(Duration::from_secs(61)), "1 minute");
        assert_eq!(span(Duration::from_secs(9)), "9 seconds");
        assert_eq!(threshold_text(Duration::from_secs(36 * 3_600)), "1d 12h");
        assert_eq!(threshold_text(Duration::from_secs(14 * 86_400)), "14 days");
    }
}
