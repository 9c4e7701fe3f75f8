//! The DNS probe: does one server answer `query`/`record_type` with the expected response code
//! and records?
//!
//! It is a small DNS client of its own (RFC 1035 messages over UDP, retried over TCP when the
//! answer is truncated) rather than a resolver library, because a monitor needs what a resolver
//! hides: the server's raw response code (a resolver reports NXDOMAIN, SERVFAIL and an empty
//! answer as the same "no records" error), the records exactly as that server sent them (no
//! cache, no search list, no CNAME chasing), and one deadline over all of it. The message code
//! is tested on its own below and against a real server in `tests/kinds.rs`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;
use upbeat_core::monitor::{DnsSpec, Rcode, RecordType};
use upbeat_core::sample::ProbeOutcome;
use upbeat_core::{ErrorKind, Phases, ProbeError};

use crate::net::{Deadline, classify_io, describe_io};

/// Read on every check, so a change (DHCP, a VPN, systemd-resolved) applies without a restart;
/// it is a small file in the page cache.
const RESOLV_CONF: &str = "/etc/resolv.conf";
/// What the C library asks when resolv.conf names no server.
const DEFAULT_SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53);
/// The C library uses at most three servers (`MAXNS`); so does the probe.
const MAX_SERVERS: usize = 3;
/// The EDNS payload size of the 2020 DNS flag day: large answers without IP fragmentation.
const UDP_PAYLOAD: u16 = 1232;
/// A lost datagram is sent again after this, then after twice as long, and so on.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// How much of the answer a failure message quotes.
const ANSWER_QUOTE: usize = 200;

pub(crate) async fn probe(spec: &DnsSpec, timeout: Duration) -> ProbeOutcome {
    let deadline = Deadline::start(timeout);
    let started = Instant::now();
    let error = check(spec, timeout, &deadline).await.err();
    let phases = Phases { dns: Some(started.elapsed()), ..Phases::default() };
    ProbeOutcome { latency: deadline.elapsed(), phases, http_status: None, error }
}

async fn check(spec: &DnsSpec, timeout: Duration, deadline: &Deadline) -> Result<(), ProbeError> {
    let servers = match spec.resolver {
        Some(server) => vec![server],
        None => system_servers(),
    };
    let question = Question { name: spec.query.trim_end_matches('.').to_owned(), rtype: type_code(spec.record_type) };
    let query = encode_query(0, &question)
        .map_err(|reason| ProbeError::new(ErrorKind::Dns, format!("cannot ask for {}: {reason}", spec.query)))?;
    let response = ask(&servers, &question, &query, timeout, deadline).await?;
    judge(spec, &response)
}

/// Asks each server in turn, as the C library does, each with an equal share of the time left;
/// the last one has until the deadline. The first answer, whatever its code, is the answer.
async fn ask(
    servers: &[SocketAddr],
    question: &Question,
    query: &[u8],
    budget: Duration,
    deadline: &Deadline,
) -> Result<Message, ProbeError> {
    let asked = servers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let phase = format!("while waiting for the DNS answer to {question} from {asked}");
    let attempts = async {
        for (i, &server) in servers.iter().enumerate() {
            let left = servers.len() - i;
            if left == 1 {
                return exchange(server, question, query).await;
            }
            let share = budget.saturating_sub(deadline.elapsed()) / left as u32;
            // A server that fails or stays silent for its share hands over to the next; only the
            // last one's failure is reported, and the phase names them all.
            if let Ok(Ok(response)) = tokio::time::timeout(share, exchange(server, question, query)).await {
                return Ok(response);
            }
        }
        Err(ProbeError::new(ErrorKind::Dns, "no DNS server to ask"))
    };
    deadline.run(&phase, attempts).await?
}

/// One server: UDP, sent again while no answer comes, then TCP if the answer is truncated.
async fn exchange(server: SocketAddr, question: &Question, query: &[u8]) -> Result<Message, ProbeError> {
    let id = crate::random_u64() as u16;
    let mut query = query.to_vec();
    query[..2].copy_from_slice(&id.to_be_bytes());

    let any = if server.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
    let transport = |err: std::io::Error| transport_error(server, &err);
    let socket = UdpSocket::bind(SocketAddr::new(any, 0)).await.map_err(transport)?;
    // Connected, so the kernel drops datagrams from anyone but the server.
    socket.connect(server).await.map_err(transport)?;
    socket.send(&query).await.map_err(transport)?;
    let mut buf = vec![0u8; 65_535];
    let mut wait = FIRST_RETRY;
    loop {
        let received = match tokio::time::timeout(wait, socket.recv(&mut buf)).await {
            Ok(received) => received.map_err(transport)?,
            Err(_) => {
                socket.send(&query).await.map_err(transport)?;
                wait *= 2;
                continue;
            }
        };
        let datagram = &buf[..received];
        // Another query's late answer, or garbage: not ours, keep waiting.
        let Some(header) = Header::read(datagram).filter(|h| h.id == id && h.is_response) else { continue };
        if header.truncated {
            return exchange_tcp(server, question, &query).await;
        }
        let response = decode_response(datagram).map_err(|reason| {
            ProbeError::new(ErrorKind::Dns, format!("malformed DNS answer from {server}: {reason}"))
        })?;
        if response.answers_question(question) {
            return Ok(response);
        }
    }
}

/// RFC 7766: the same query with a two-byte length in front, on a fresh connection.
async fn exchange_tcp(server: SocketAddr, question: &Question, query: &[u8]) -> Result<Message, ProbeError> {
    let context = |err: std::io::Error| {
        let error = transport_error(server, &err);
        ProbeError::new(error.kind, format!("the UDP answer was truncated and TCP failed: {}", error.message))
    };
    let mut stream = TcpStream::connect(server).await.map_err(context)?;
    let len = u16::try_from(query.len()).unwrap_or(u16::MAX);
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.map_err(context)?;
    let len = stream.read_u16().await.map_err(context)?;
    let mut answer = vec![0u8; usize::from(len)];
    stream.read_exact(&mut answer).await.map_err(context)?;
    let malformed = |reason: String| {
        ProbeError::new(ErrorKind::Dns, format!("malformed DNS answer from {server} over TCP: {reason}"))
    };
    let response = decode_response(&answer).map_err(malformed)?;
    if response.id != query_id(query) || !response.answers_question(question) {
        return Err(malformed("it answers another question".to_owned()));
    }
    Ok(response)
}

fn query_id(query: &[u8]) -> u16 {
    u16::from_be_bytes([query[0], query[1]])
}

fn transport_error(server: SocketAddr, err: &std::io::Error) -> ProbeError {
    let kind = classify_io(err, ErrorKind::Connect);
    let message = match err.kind() {
        // A closed UDP port comes back as an ICMP "port unreachable", which the kernel reports on
        // the connected socket as a refusal.
        std::io::ErrorKind::ConnectionRefused => format!("connection refused by {server}: no DNS server is listening"),
        _ => format!("could not reach the DNS server {server}: {}", describe_io(err)),
    };
    ProbeError::new(kind, message)
}

/// The servers of the system configuration, or the C library's default when it names none.
fn system_servers() -> Vec<SocketAddr> {
    let text = std::fs::read_to_string(RESOLV_CONF).unwrap_or_default();
    let servers = nameservers(&text);
    if servers.is_empty() { vec![DEFAULT_SERVER] } else { servers }
}

/// The `nameserver` lines of a resolv.conf. Link-local IPv6 addresses with a zone (`fe80::1%eth0`)
/// are skipped: the zone names an interface, which the standard library cannot look up.
fn nameservers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or_default();
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(address)) => address.parse::<IpAddr>().ok(),
                _ => None,
            }
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .take(MAX_SERVERS)
        .collect()
}

/// Up or down, from the answer: the response code first, then the expected values.
fn judge(spec: &DnsSpec, response: &Message) -> Result<(), ProbeError> {
    let asked = format!("{} {}", spec.query, spec.record_type);
    let wanted = type_code(spec.record_type);
    let found: Vec<&Data> = response.answers.iter().filter(|r| r.rtype == wanted).map(|r| &r.data).collect();
    let fail = |message: String| Err(ProbeError::new(ErrorKind::Dns, message));
    match spec.expect_rcode {
        Some(expected) if response.rcode != rcode_value(expected) => {
            return fail(format!("{} for {asked}; expected {expected}", rcode_name(response.rcode)));
        }
        Some(_) => {}
        None if response.rcode != 0 => return fail(format!("{} for {asked}", rcode_name(response.rcode))),
        None if found.is_empty() => {
            let others: Vec<String> =
                response.answers.iter().map(|r| format!("{} {}", type_name(r.rtype), r.data)).collect();
            return fail(if others.is_empty() {
                format!("no {} record for {}: the answer is empty", spec.record_type, spec.query)
            } else {
                format!("no {} record for {}; got {}", spec.record_type, spec.query, quote(&others))
            });
        }
        None => {}
    }
    let missing: Vec<&str> =
        spec.expect.iter().filter(|e| !found.iter().any(|data| data.matches(e))).map(String::as_str).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let got: Vec<String> = found.iter().map(|data| data.to_string()).collect();
    let got = if got.is_empty() { "nothing".to_owned() } else { quote(&got) };
    fail(format!("expected {} in the answer; got {got}", missing.join(", ")))
}

/// Comma-joined, cut at [`ANSWER_QUOTE`] characters.
fn quote(values: &[String]) -> String {
    let joined = values.join(", ");
    match joined.char_indices().nth(ANSWER_QUOTE) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

const CLASS_IN: u16 = 1;
const TYPE_OPT: u16 = 41;

fn type_code(record_type: RecordType) -> u16 {
    match record_type {
        RecordType::A => 1,
        RecordType::Ns => 2,
        RecordType::Cname => 5,
        RecordType::Soa => 6,
        RecordType::Ptr => 12,
        RecordType::Mx => 15,
        RecordType::Txt => 16,
        RecordType::Aaaa => 28,
        RecordType::Srv => 33,
        RecordType::Caa => 257,
    }
}

fn type_name(code: u16) -> String {
    RecordType::ALL
        .iter()
        .find(|t| type_code(**t) == code)
        .map_or_else(|| format!("TYPE{code}"), |t| t.as_str().to_owned())
}

fn rcode_value(rcode: Rcode) -> u16 {
    match rcode {
        Rcode::NoError => 0,
        Rcode::FormErr => 1,
        Rcode::ServFail => 2,
        Rcode::NxDomain => 3,
        Rcode::NotImp => 4,
        Rcode::Refused => 5,
    }
}

/// The mnemonic of a response code (RFC 6895), for messages.
fn rcode_name(code: u16) -> String {
    if let Some(rcode) = Rcode::ALL.iter().find(|r| rcode_value(**r) == code) {
        return rcode.as_str().to_owned();
    }
    match code {
        6 => "YXDOMAIN".to_owned(),
        7 => "YXRRSET".to_owned(),
        8 => "NXRRSET".to_owned(),
        9 => "NOTAUTH".to_owned(),
        10 => "NOTZONE".to_owned(),
        16 => "BADVERS".to_owned(),
        _ => format!("RCODE{code}"),
    }
}

/// A question: a name (without the trailing dot) and a record type, class IN.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Question {
    name: String,
    rtype: u16,
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, type_name(self.rtype))
    }
}

/// A standard query with recursion desired (a recursive resolver needs it, an authoritative
/// server ignores it) and an EDNS OPT record offering [`UDP_PAYLOAD`] bytes.
fn encode_query(id: u16, question: &Question) -> Result<Vec<u8>, String> {
    let mut message = Vec::with_capacity(64);
    for word in [id, 0x0100, 1, 0, 0, 1] {
        message.extend_from_slice(&word.to_be_bytes());
    }
    encode_name(&question.name, &mut message)?;
    message.extend_from_slice(&question.rtype.to_be_bytes());
    message.extend_from_slice(&CLASS_IN.to_be_bytes());
    // OPT: the root name, the type, the payload size in the class, a zero TTL (extended code,
    // version 0, no flags) and no options.
    message.push(0);
    message.extend_from_slice(&TYPE_OPT.to_be_bytes());
    message.extend_from_slice(&UDP_PAYLOAD.to_be_bytes());
    message.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    Ok(message)
}

fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    for label in name.split('.').filter(|_| !name.is_empty()) {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("the label {label:?} is not 1 to 63 bytes long"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    if out.len() - start > 255 {
        return Err("the name is longer than 255 bytes".to_owned());
    }
    Ok(())
}

/// The fixed part of a message that says whether a datagram is the answer being waited for.
struct Header {
    id: u16,
    is_response: bool,
    truncated: bool,
}

impl Header {
    fn read(message: &[u8]) -> Option<Header> {
        let flags = u16::from_be_bytes([*message.get(2)?, *message.get(3)?]);
        Some(Header {
            id: u16::from_be_bytes([message[0], message[1]]),
            is_response: flags & 0x8000 != 0,
            truncated: flags & 0x0200 != 0,
        })
    }
}

/// A decoded response: what the probe judges.
#[derive(Debug)]
struct Message {
    id: u16,
    /// With the extended bits of an OPT record, when there is one.
    rcode: u16,
    questions: Vec<Question>,
    answers: Vec<Record>,
}

impl Message {
    /// Servers echo the question; one that does not (or echoes another) is answering someone
    /// else. An answer without a question (some servers' FORMERR) is taken on the id alone.
    fn answers_question(&self, question: &Question) -> bool {
        match self.questions.as_slice() {
            [] => true,
            [echoed] => echoed.rtype == question.rtype && same_name(&echoed.name, &question.name),
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Record {
    rtype: u16,
    data: Data,
}

/// Record data, decoded for the types a monitor can ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// CNAME, NS and PTR.
    Name(String),
    Mx {
        preference: u16,
        exchange: String,
    },
    /// The character-strings joined, as SPF and DKIM read them.
    Txt(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    Caa {
        flags: u8,
        tag: String,
        value: String,
    },
    Other(Vec<u8>),
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::A(ip) => write!(f, "{ip}"),
            Data::Aaaa(ip) => write!(f, "{ip}"),
            Data::Name(name) => f.write_str(name),
            Data::Mx { preference, exchange } => write!(f, "{preference} {exchange}"),
            // Quoted: a TXT value may hold commas and spaces, and the list is comma-separated.
            Data::Txt(text) => write!(f, "{text:?}"),
            Data::Srv { priority, weight, port, target } => write!(f, "{priority} {weight} {port} {target}"),
            Data::Soa { mname, rname, serial, refresh, retry, expire, minimum } => {
                write!(f, "{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}")
            }
            Data::Caa { flags, tag, value } => write!(f, "{flags} {tag} {value:?}"),
            // RFC 3597's generic form.
            Data::Other(bytes) => {
                write!(f, "\\# {}", bytes.len())?;
                bytes.iter().try_for_each(|b| write!(f, " {b:02x}"))
            }
        }
    }
}

impl Data {
    /// Whether an expected value, as written in the configuration, names this record.
    fn matches(&self, expected: &str) -> bool {
        let expected = expected.trim();
        match self {
            Data::A(ip) => expected.parse::<IpAddr>() == Ok(IpAddr::V4(*ip)),
            Data::Aaaa(ip) => expected.parse::<IpAddr>() == Ok(IpAddr::V6(*ip)),
            Data::Name(name) => same_name(name, expected),
            Data::Txt(text) => text == expected,
            // Field by field: numbers as numbers, names without case or trailing dot, quotes
            // optional, so "10 mail.example.com." matches "10 Mail.Example.com".
            Data::Mx { .. } | Data::Srv { .. } | Data::Soa { .. } | Data::Caa { .. } => {
                fields(&self.to_string()) == fields(expected)
            }
            Data::Other(_) => false,
        }
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'))
}

fn fields(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|field| match field.parse::<u64>() {
            Ok(n) => n.to_string(),
            Err(_) => field.trim_matches('"').trim_end_matches('.').to_ascii_lowercase(),
        })
        .collect()
}

fn decode_response(message: &[u8]) -> Result<Message, String> {
    let mut r = Reader { message, at: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
    let mut questions = Vec::new();
    for _ in 0..counts[0] {
        let name = r.name()?;
        let (rtype, _class) = (r.u16()?, r.u16()?);
        questions.push(Question { name, rtype });
    }
    let mut answers = Vec::new();
    for _ in 0..counts[1] {
        let (rtype, _ttl, data) = r.record(true)?;
        answers.push(Record { rtype, data: data.unwrap_or(Data::Other(Vec::new())) });
    }
    for _ in 0..counts[2] {
        r.record(false)?;
    }
    let mut rcode = flags & 0x000f;
    for _ in 0..counts[3] {
        let (rtype, ttl, _) = r.record(false)?;
        if rtype == TYPE_OPT {
            // The OPT "TTL" carries the upper eight bits of a 12-bit response code.
            rcode |= ((ttl >> 24) as u16) << 4;
        }
    }
    Ok(Message { id, rcode, questions, answers })
}

/// A cursor over a whole message: names in record data may point anywhere in it.
struct Reader<'a> {
    message: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let bytes = self.message.get(self.at..self.at + n).ok_or("the message ends early")?;
        self.at += n;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A name, following compression pointers (RFC 1035, 4.1.4), written without its trailing
    /// dot.
    fn name(&mut self) -> Result<String, String> {
        let mut labels: Vec<String> = Vec::new();
        let mut at = self.at;
        let mut resume = None;
        // Each pointer must lead before where the previous one led (or the name began), so a
        // chain of pointers cannot loop.
        let mut limit = self.at;
        let mut length = 1;
        loop {
            let len = *self.message.get(at).ok_or("a name runs past the message")?;
            match len & 0xc0 {
                0x00 if len == 0 => {
                    at += 1;
                    break;
                }
                0x00 => {
                    let label =
                        self.message.get(at + 1..at + 1 + usize::from(len)).ok_or("a label runs past the message")?;
                    length += label.len() + 1;
                    if length > 255 {
                        return Err("a name is longer than 255 bytes".to_owned());
                    }
                    labels.push(label_text(label));
                    at += 1 + label.len();
                }
                0xc0 => {
                    let low = *self.message.get(at + 1).ok_or("a name runs past the message")?;
                    let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                    if target >= limit {
                        return Err("a compression pointer does not point backwards".to_owned());
                    }
                    resume.get_or_insert(at + 2);
                    at = target;
                    limit = target;
                }
                _ => return Err(format!("unsupported label type {len:#04x}")),
            }
        }
        self.at = resume.unwrap_or(at);
        Ok(labels.join("."))
    }

    /// A resource record: its type, TTL and, when `decode`, its data.
    fn record(&mut self, decode: bool) -> Result<(u16, u32, Option<Data>), String> {
        self.name()?;
        let (rtype, _class, ttl, len) = (self.u16()?, self.u16()?, self.u32()?, usize::from(self.u16()?));
        let start = self.at;
        let end = start + len;
        if end > self.message.len() {
            return Err("a record runs past the message".to_owned());
        }
        let data = if decode { Some(self.data(rtype, end)?) } else { None };
        if self.at > end {
            return Err(format!("a {} record is longer than its length says", type_name(rtype)));
        }
        self.at = end;
        Ok((rtype, ttl, data))
    }

    fn data(&mut self, rtype: u16, end: usize) -> Result<Data, String> {
        let len = end - self.at;
        let fixed = |expected: usize| {
            if len == expected { Ok(()) } else { Err(format!("a {} record of {len} bytes", type_name(rtype))) }
        };
        Ok(match rtype {
            1 => {
                fixed(4)?;
                let b = self.bytes(4)?;
                Data::A(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            28 => {
                fixed(16)?;
                let mut octets = [0u8; 16];
                octets.copy_from_slice(self.bytes(16)?);
                Data::Aaaa(Ipv6Addr::from(octets))
            }
            2 | 5 | 12 => Data::Name(self.name()?),
            15 => Data::Mx { preference: self.u16()?, exchange: self.name()? },
            16 => {
                let mut text = Vec::new();
                while self.at < end {
                    let n = usize::from(self.u8()?);
                    text.extend_from_slice(self.bytes(n)?);
                }
                Data::Txt(String::from_utf8_lossy(&text).into_owned())
            }
            33 => Data::Srv { priority: self.u16()?, weight: self.u16()?, port: self.u16()?, target: self.name()? },
            6 => Data::Soa {
                mname: self.name()?,
                rname: self.name()?,
                serial: self.u32()?,
                refresh: self.u32()?,
                retry: self.u32()?,
                expire: self.u32()?,
                minimum: self.u32()?,
            },
            257 => {
                let flags = self.u8()?;
                let tag_len = usize::from(self.u8()?);
                let tag = String::from_utf8_lossy(self.bytes(tag_len)?).into_owned();
                let value = String::from_utf8_lossy(self.bytes(end.saturating_sub(self.at))?).into_owned();
                Data::Caa { flags, tag, value }
            }
            _ => Data::Other(self.bytes(len)?.to_vec()),
        })
    }
}

/// A label in presentation form: letters, digits and most punctuation as they are; a dot, a
/// backslash, spaces and other bytes escaped (`\.`, `\\`, `\032`) so the name reads unambiguously.
fn label_text(label: &[u8]) -> String {
    let mut text = String::with_capacity(label.len());
    for &b in label {
        match b {
            b'.' | b'\\' => {
                text.push('\\');
                text.push(char::from(b));
            }
            0x21..=0x7e => text.push(char::from(b)),
            _ => text.push_str(&format!("\\{b:03}")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response to `question` built by hand, with `answers` as (type, rdata) owned by a
    /// pointer to the question's name.
    fn response(id: u16, flags: u16, question: &Question, answers: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut m = Vec::new();
        for word in [id, flags, 1, answers.len() as u16, 0, 0] {
            m.extend_from_slice(&word.to_be_bytes());
        }
        encode_name(&question.name, &mut m).expect("name");
        m.extend_from_slice(&question.rtype.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        for (rtype, rdata) in answers {
            m.extend_from_slice(&[0xc0, 12]);
            m.extend_from_slice(&rtype.to_be_bytes());
            m.extend_from_slice(&CLASS_IN.to_be_bytes());
            m.extend_from_slice(&300u32.to_be_bytes());
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(rdata);
        }
        m
    }

    fn question(name: &str, rtype: u16) -> Question {
        Question { name: name.to_owned(), rtype }
    }

    fn spec(record_type: RecordType, expect: &[&str], expect_rcode: Option<Rcode>) -> DnsSpec {
        DnsSpec {
            query: "example.test".to_owned(),
            record_type,
            resolver: None,
            expect: expect.iter().map(|s| (*s).to_owned()).collect(),
            expect_rcode,
        }
    }

    #[test]
    fn queries_are_encoded_with_edns() {
        let query = encode_query(0xbeef, &question("www.example.test", 28)).expect("query");
        let expected: &[u8] = &[
            0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, // header: RD, one question, one additional
            3, b'w', b'w', b'w', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 4, b't', b'e', b's', b't',
            0, // name
            0, 28, 0, 1, // AAAA IN
            0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0, // OPT, 1232 bytes
        ];
        assert_eq!(query, expected);
    }

    #[test]
    fn bad_names_are_refused_before_sending() {
        assert!(encode_query(1, &question("a..b", 1)).is_err());
        assert!(encode_query(1, &question(&"a".repeat(64), 1)).is_err());
        assert!(encode_query(1, &question(&["abcdefghi"; 26].join("."), 1)).is_err(), "260 bytes");
        let root = encode_query(1, &question("", 2)).expect("the root");
        assert_eq!(&root[12..13], &[0]);
    }

    #[test]
    fn answers_decode_with_compression() {
        let q = question("example.test", 15);
        // "mail" followed by a pointer to the question's name at offset 12.
        let mx = [&[0, 10, 4][..], b"mail", &[0xc0, 12]].concat();
        let message = decode_response(&response(7, 0x8180, &q, &[(15, mx)])).expect("decodes");
        assert_eq!(message.id, 7);
        assert_eq!(message.rcode, 0);
        assert!(message.answers_question(&q));
        assert_eq!(message.answers[0].data, Data::Mx { preference: 10, exchange: "mail.example.test".to_owned() });
        assert_eq!(message.answers[0].data.to_string(), "10 mail.example.test");
    }

    #[test]
    fn every_record_type_decodes_and_matches_its_written_form() {
        let q = question("example.test", 1);
        let name = [&[3][..], b"ns1", &[0xc0, 12]].concat();
        let cases: Vec<(u16, Vec<u8>, &str, &str)> = vec![
            (1, vec![10, 0, 0, 1], "10.0.0.1", "10.0.0.1"),
            (
                28,
                [0x20, 0x01, 0x0d, 0xb8].iter().copied().chain([0; 11]).chain([1]).collect(),
                "2001:db8::1",
                "2001:0db8:0::1",
            ),
            (2, name.clone(), "ns1.example.test", "NS1.Example.Test."),
            (16, [&[7][..], b"v=spf1 ", &[4], b"-all"].concat(), "\"v=spf1 -all\"", "v=spf1 -all"),
            (
                33,
                [&[0, 1, 0, 5, 0x14, 0x95][..], &name].concat(),
                "1 5 5269 ns1.example.test",
                "1 5 5269 ns1.example.test.",
            ),
            (
                6,
                [&name[..], &name, &[0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]].concat(),
                "ns1.example.test ns1.example.test 9 1 2 3 4",
                "ns1.example.test. ns1.example.test. 9 1 2 3 4",
            ),
            (257, [&[0, 5][..], b"issue", b"ca.test"].concat(), "0 issue \"ca.test\"", "0 issue \"ca.test\""),
            (99, vec![1, 2], "\\# 2 01 02", "\\# 2 01 02"),
        ];
        for (rtype, rdata, shown, written) in cases {
            let message = decode_response(&response(1, 0x8180, &q, &[(rtype, rdata)])).expect("decodes");
            let data = &message.answers[0].data;
            assert_eq!(data.to_string(), shown, "type {rtype}");
            assert_eq!(data.matches(written), rtype != 99, "type {rtype} against {written:?}");
        }
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        let q = question("example.test", 1);
        let good = response(1, 0x8180, &q, &[(1, vec![10, 0, 0, 1])]);
        for cut in 0..good.len() {
            assert!(decode_response(&good[..cut]).is_err(), "cut at {cut}");
        }
        let short_a = response(1, 0x8180, &q, &[(1, vec![10, 0, 0])]);
        assert!(decode_response(&short_a).is_err());
        // A pointer to itself.
        let mut looped = response(1, 0x8180, &q, &[(5, vec![0xc0, 0])]);
        let at = looped.len() - 2;
        looped[at + 1] = at as u8;
        assert!(decode_response(&looped).is_err());
        // A name that does not fit its record.
        let overlong = response(1, 0x8180, &q, &[(5, [&[3][..], b"www"].concat())]);
        assert!(decode_response(&overlong).is_err());
    }

    #[test]
    fn the_extended_response_code_comes_from_opt() {
        let q = question("example.test", 1);
        let mut m = response(1, 0x8180, &q, &[]);
        m[11] = 1; // one additional record
        m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(decode_response(&m).expect("decodes").rcode, 16);
        assert_eq!(rcode_name(16), "BADVERS");
    }

    #[test]
    fn labels_are_escaped_for_display() {
        assert_eq!(label_text(b"a.b\\c d"), "a\\.b\\\\c\\032d");
    }

    fn message(rcode: u16, answers: Vec<(u16, Data)>) -> Message {
        Message {
            id: 1,
            rcode,
            questions: vec![],
            answers: answers.into_iter().map(|(rtype, data)| Record { rtype, data }).collect(),
        }
    }

    fn judged(spec: &DnsSpec, message: &Message) -> Result<(), String> {
        judge(spec, message).map_err(|e| {
            assert_eq!(e.kind, ErrorKind::Dns);
            e.message
        })
    }

    #[test]
    fn the_response_code_decides_first() {
        let a = |ip: [u8; 4]| (1, Data::A(Ipv4Addr::from(ip)));
        assert_eq!(judged(&spec(RecordType::A, &[], None), &message(0, vec![a([10, 0, 0, 1])])), Ok(()));
        assert_eq!(
            judged(&spec(RecordType::A, &[], None), &message(3, vec![])),
            Err("NXDOMAIN for example.test A".to_owned())
        );
        assert_eq!(judged(&spec(RecordType::A, &[], Some(Rcode::NxDomain)), &message(3, vec![])), Ok(()));
        assert_eq!(
            judged(&spec(RecordType::A, &[], Some(Rcode::NxDomain)), &message(0, vec![a([10, 0, 0, 1])])),
            Err("NOERROR for example.test A; expected NXDOMAIN".to_owned())
        );
        assert_eq!(
            judged(&spec(RecordType::A, &[], None), &message(0, vec![])),
            Err("no A record for example.test: the answer is empty".to_owned())
        );
        assert_eq!(
            judged(&spec(RecordType::A, &[], None), &message(0, vec![(5, Data::Name("other.test".to_owned()))])),
            Err("no A record for example.test; got CNAME other.test".to_owned())
        );
        // Asked for explicitly, an empty NOERROR is what was wanted.
        assert_eq!(judged(&spec(RecordType::A, &[], Some(Rcode::NoError)), &message(0, vec![])), Ok(()));
    }

    #[test]
    fn every_expected_value_must_be_in_the_answer() {
        let answer =
            message(0, vec![(1, Data::A(Ipv4Addr::new(10, 0, 0, 1))), (1, Data::A(Ipv4Addr::new(10, 0, 0, 2)))]);
        assert_eq!(judged(&spec(RecordType::A, &["10.0.0.2", "10.0.0.1"], None), &answer), Ok(()));
        assert_eq!(
            judged(&spec(RecordType::A, &["10.0.0.1", "10.0.0.9"], None), &answer),
            Err("expected 10.0.0.9 in the answer; got 10.0.0.1, 10.0.0.2".to_owned())
        );
        let many = message(0, (0..100).map(|i| (16, Data::Txt(format!("record number {i}")))).collect());
        let error = judged(&spec(RecordType::Txt, &["absent"], None), &many).expect_err("absent");
        assert!(error.chars().count() < 260 && error.ends_with('…'), "{error}");
    }

    #[tokio::test]
    async fn servers_are_asked_in_turn_until_one_answers() {
        let refused = UdpSocket::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr");
        let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let answering = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let servers = [refused, silent.local_addr().expect("addr"), answering.local_addr().expect("addr")];
        let q = question("example.test", 1);
        let answer_q = q.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((_, from)) = answering.recv_from(&mut buf).await {
                let id = u16::from_be_bytes([buf[0], buf[1]]);
                let _ = answering.send_to(&response(id, 0x8180, &answer_q, &[(1, vec![10, 0, 0, 7])]), from).await;
            }
        });
        let budget = Duration::from_secs(2);
        let deadline = Deadline::start(budget);
        let query = encode_query(0, &q).expect("query");
        // The first refuses at once; the second is silent for its half of what is left.
        let message = ask(&servers, &q, &query, budget, &deadline).await.expect("the third server answers");
        assert_eq!(message.answers[0].data, Data::A(Ipv4Addr::new(10, 0, 0, 7)));
        assert!(deadline.elapsed() < budget, "{:?}", deadline.elapsed());
    }

    #[test]
    fn resolv_conf_names_up_to_three_servers() {
        let text = "# comment\nsearch example.test\nnameserver 10.0.0.1\nnameserver ::1 # local\n\
                    nameserver fe80::1%eth0\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:2\n";
        let servers: Vec<String> = nameservers(text).iter().map(ToString::to_string).collect();
        assert_eq!(servers, ["10.0.0.1:53", "[::1]:53", "10.0.0.2:53"]);
        assert!(nameservers("").is_empty());
    }
}
