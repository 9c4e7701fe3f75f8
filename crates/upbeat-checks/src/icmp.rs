//! The ICMP probe: does the host answer echo requests ("ping")?
//!
//! Linux offers two ways to ping. An ICMP *datagram* socket needs no privilege when
//! `net.ipv4.ping_group_range` covers the process's group; the kernel then fills in the
//! identifier and hands back only our replies. A *raw* socket needs root or CAP_NET_RAW and sees
//! every ICMP packet (on loopback, our own requests too), so replies are matched on the
//! identifier and a random token in the payload. The probe tries the first and falls back to the
//! second.
//!
//! Both are opened through socket2's safe API and then handed to tokio as a `UdpSocket`: to the
//! kernel and to tokio's reactor that is just a connected datagram socket, whatever its protocol,
//! and it keeps the workspace free of `unsafe` (tokio's `AsyncFd` now needs it). That is all an
//! echo needs, so surge-ping and its packet and RNG crates are not worth their weight here.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;
use upbeat_core::monitor::IcmpSpec;
use upbeat_core::sample::ProbeOutcome;
use upbeat_core::{ErrorKind, Phases, ProbeError};

use crate::net::{self, Deadline, classify_io, describe_io};

/// Without an answer, the next request goes out after this, as ping(8) does; with one, at once.
const INTERVAL: Duration = Duration::from_secs(1);
/// The payload after the 8-byte header: our token, then a tag for whoever reads a capture.
const PAYLOAD_TAG: &[u8; 8] = b"upbeat\0\0";

/// Whether this process may open ICMP sockets; when it may not, the message says what to change.
/// Meant for `upbeat config check`, so that a misconfigured host is caught before the first check.
pub fn icmp_permitted() -> Result<(), String> {
    open(false).map(|_| ()).map_err(|error| error.message)
}

pub(crate) async fn probe(spec: &IcmpSpec, timeout: Duration) -> ProbeOutcome {
    let deadline = Deadline::start(timeout);
    let mut phases = Phases::default();
    let (latency, error) = match check(spec, timeout, &deadline, &mut phases).await {
        Ok(best) => (best, None),
        Err(error) => (deadline.elapsed(), Some(error)),
    };
    ProbeOutcome { latency, phases, http_status: None, error }
}

/// The best round trip of `spec.count` echoes.
async fn check(
    spec: &IcmpSpec,
    timeout: Duration,
    deadline: &Deadline,
    phases: &mut Phases,
) -> Result<Duration, ProbeError> {
    let addrs = net::resolve(&spec.host, 0, deadline, phases).await?;
    // The first address, as ping(8) takes it: the order is the system's preference.
    let target = addrs
        .first()
        .map(SocketAddr::ip)
        .ok_or_else(|| ProbeError::new(ErrorKind::Dns, "the name resolved to no address"))?;
    let pinger = Pinger::open(target)?;
    let left = || timeout.saturating_sub(deadline.elapsed());

    let mut sent: Vec<Instant> = Vec::with_capacity(usize::from(spec.count));
    let mut best: Option<Duration> = None;
    let mut buf = vec![0u8; 2048];
    for seq in 0..u16::from(spec.count.max(1)) {
        if left().is_zero() {
            break;
        }
        pinger.send(seq).await?;
        sent.push(Instant::now());
        // This request's reply, or a late one of an earlier request, for at most INTERVAL.
        let until = Instant::now() + INTERVAL.min(left());
        while let Ok(reply) = tokio::time::timeout_at(until, pinger.receive(&mut buf)).await {
            let replied = reply?;
            if let Some(rtt) = sent.get(usize::from(replied)).map(Instant::elapsed) {
                best = Some(best.map_or(rtt, |best| best.min(rtt)));
            }
            if replied == seq {
                break;
            }
        }
    }
    if let Some(best) = best {
        return Ok(best);
    }
    // No answer yet: any reply before the deadline will do.
    let phase = format!("while waiting for an echo reply from {target}");
    deadline
        .run(&phase, async {
            loop {
                let replied = pinger.receive(&mut buf).await?;
                if let Some(sent) = sent.get(usize::from(replied)) {
                    return Ok(sent.elapsed());
                }
            }
        })
        .await?
}

/// The socket flavour decides what a reply looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavour {
    Datagram,
    Raw,
}

/// Opens an ICMP (or ICMPv6) socket: a datagram one when allowed, else a raw one.
fn open(v6: bool) -> Result<(Socket, Flavour), ProbeError> {
    let (domain, protocol) = if v6 { (Domain::IPV6, Protocol::ICMPV6) } else { (Domain::IPV4, Protocol::ICMPV4) };
    if let Ok(socket) = Socket::new(domain, Type::DGRAM, Some(protocol)) {
        return Ok((socket, Flavour::Datagram));
    }
    match Socket::new(domain, Type::RAW, Some(protocol)) {
        Ok(socket) => Ok((socket, Flavour::Raw)),
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            Err(ProbeError::new(ErrorKind::Permission, not_permitted()))
        }
        Err(err) => {
            Err(ProbeError::new(ErrorKind::Connect, format!("cannot open an ICMP socket: {}", describe_io(&err))))
        }
    }
}

/// What to do about it, with this process's own binary and group filled in.
fn not_permitted() -> String {
    let binary = std::env::current_exe().map_or_else(|_| "<binary>".to_owned(), |path| path.display().to_string());
    let group = effective_group().map_or_else(|| "of this process".to_owned(), |gid| gid.to_string());
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
        .map(|range| format!(" (now \"{}\")", range.split_whitespace().collect::<Vec<_>>().join(" ")))
        .unwrap_or_default();
    format!(
        "ICMP sockets are not permitted for this user: run as root, grant CAP_NET_RAW (setcap cap_net_raw+ep {binary}), \
         or widen net.ipv4.ping_group_range{range} to include group {group}"
    )
}

/// The effective group id, which is what the kernel compares with `ping_group_range`, read from
/// procfs because asking libc would take `unsafe`.
fn effective_group() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    group_from_status(&status)
}

fn group_from_status(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|line| line.strip_prefix("Gid:"))?;
    // Real, effective, saved, filesystem.
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One probe's socket, connected to the target so that the kernel filters on the source
/// address.
struct Pinger {
    socket: UdpSocket,
    target: IpAddr,
    flavour: Flavour,
    /// Ours on a raw socket; on a datagram socket the kernel replaces it with its own.
    ident: u16,
    /// Tells our replies from other processes' on a raw socket, and from a stale probe's.
    token: u64,
}

impl Pinger {
    fn open(target: IpAddr) -> Result<Pinger, ProbeError> {
        let (socket, flavour) = open(target.is_ipv6())?;
        let setup = |err: io::Error| {
            ProbeError::new(
                classify_io(&err, ErrorKind::Connect),
                format!("cannot ping {target}: {}", describe_io(&err)),
            )
        };
        socket.set_nonblocking(true).map_err(setup)?;
        socket.connect(&SockAddr::from(SocketAddr::new(target, 0))).map_err(setup)?;
        let socket = UdpSocket::from_std(std::net::UdpSocket::from(socket)).map_err(setup)?;
        let random = crate::random_u64();
        Ok(Pinger { socket, target, flavour, ident: random as u16, token: random.rotate_left(16) })
    }

    async fn send(&self, seq: u16) -> Result<(), ProbeError> {
        let packet = echo_request(self.target.is_ipv6(), self.ident, seq, self.token);
        let failed = |err: io::Error| {
            ProbeError::new(
                classify_io(&err, ErrorKind::Connect),
                format!("could not send an echo request to {}: {}", self.target, describe_io(&err)),
            )
        };
        self.socket.send(&packet).await.map(|_| ()).map_err(failed)
    }

    /// The sequence number of the next reply that is ours. An error here is the kernel passing
    /// on an ICMP error about our request, such as "host unreachable".
    async fn receive(&self, buf: &mut [u8]) -> Result<u16, ProbeError> {
        loop {
            let len = self.socket.recv(buf).await.map_err(|err| {
                ProbeError::new(
                    classify_io(&err, ErrorKind::Connect),
                    format!("echo request to {} failed: {}", self.target, describe_io(&err)),
                )
            })?;
            if let Some(seq) = self.reply_seq(&buf[..len]) {
                return Ok(seq);
            }
        }
    }

    fn reply_seq(&self, packet: &[u8]) -> Option<u16> {
        let v6 = self.target.is_ipv6();
        // A raw IPv4 socket delivers the IP header too; the others start at the ICMP header.
        let icmp = if self.flavour == Flavour::Raw && !v6 {
            let header_len = usize::from(packet.first()? & 0x0f) * 4;
            packet.get(header_len..)?
        } else {
            packet
        };
        let reply = parse_echo_reply(v6, icmp)?;
        let ours = reply.token == self.token && (self.flavour == Flavour::Datagram || reply.ident == self.ident);
        ours.then_some(reply.seq)
    }
}

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

/// An echo request: type, code, checksum, identifier, sequence number, then the payload.
fn echo_request(v6: bool, ident: u16, seq: u16, token: u64) -> Vec<u8> {
    let mut packet = vec![if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 }, 0, 0, 0];
    packet.extend_from_slice(&ident.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&token.to_be_bytes());
    packet.extend_from_slice(PAYLOAD_TAG);
    // ICMPv6's checksum covers a pseudo-header with addresses only the kernel knows, and the
    // kernel fills it in; ICMPv4's is ours to compute (a datagram socket would redo it).
    if !v6 {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 =
        data.chunks(2).map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[derive(Debug, PartialEq, Eq)]
struct EchoReply {
    ident: u16,
    seq: u16,
    token: u64,
}

fn parse_echo_reply(v6: bool, icmp: &[u8]) -> Option<EchoReply> {
    let expected = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    if icmp.len() < 16 || icmp[0] != expected || icmp[1] != 0 {
        return None;
    }
    let mut token = [0u8; 8];
    token.copy_from_slice(&icmp[8..16]);
    Some(EchoReply {
        ident: u16::from_be_bytes([icmp[4], icmp[5]]),
        seq: u16::from_be_bytes([icmp[6], icmp[7]]),
        token: u64::from_be_bytes(token),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_a_valid_checksum() {
        let packet = echo_request(false, 0x1234, 7, 0x0102_0304_0506_0708);
        assert_eq!(&packet[..2], &[8, 0]);
        assert_eq!(&packet[4..8], &[0x12, 0x34, 0, 7]);
        // Summing a packet with its checksum in place gives all ones, complemented to zero.
        assert_eq!(checksum(&packet), 0);
        assert_eq!(checksum(&[0x45, 0x00, 0x00, 0x73, 0x00]), !(0x4500u16 + 0x0073));
        let v6 = echo_request(true, 1, 2, 3);
        assert_eq!((v6[0], &v6[2..4]), (128, &[0u8, 0][..]), "the kernel fills in ICMPv6 checksums");
    }

    #[test]
    fn only_echo_replies_are_replies() {
        let mut reply = echo_request(false, 0x1234, 7, 42);
        reply[0] = ECHO_REPLY_V4;
        assert_eq!(parse_echo_reply(false, &reply), Some(EchoReply { ident: 0x1234, seq: 7, token: 42 }));
        // Our own request, which a raw socket on loopback also receives.
        assert_eq!(parse_echo_reply(false, &echo_request(false, 0x1234, 7, 42)), None);
        assert_eq!(parse_echo_reply(false, &reply[..12]), None, "too short for our token");
        let mut reply6 = echo_request(true, 1, 2, 3);
        reply6[0] = ECHO_REPLY_V6;
        assert_eq!(parse_echo_reply(true, &reply6).map(|r| r.seq), Some(2));
        assert_eq!(parse_echo_reply(false, &reply6), None);
    }

    #[test]
    fn the_refusal_says_what_to_change() {
        let message = not_permitted();
        let binary = std::env::current_exe().expect("the test binary").display().to_string();
        assert!(
            message.starts_with(&format!(
                "ICMP sockets are not permitted for this user: run as root, grant CAP_NET_RAW (setcap cap_net_raw+ep {binary}), or widen net.ipv4.ping_group_range"
            )),
            "{message}"
        );
        let group = message.rsplit(" to include group ").next().expect("a group");
        assert!(group.parse::<u32>().is_ok(), "{message}");
    }

    #[test]
    fn the_effective_group_is_the_second_gid() {
        let status = "Name:\tupbeat\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t1001\t1001\t1001\nGroups:\t27\n";
        assert_eq!(group_from_status(status), Some(1001));
        assert_eq!(group_from_status("Name:\tx\n"), None);
    }
}
