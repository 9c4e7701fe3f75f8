//! An SMTP server on 127.0.0.1 that keeps what it accepts, for tests and benchmarks of code that
//! sends mail. It speaks enough of RFC 5321 for real clients (lettre among them): EHLO and HELO,
//! AUTH PLAIN and LOGIN (any credentials, recorded), MAIL, RCPT, DATA with dot-stuffing, RSET,
//! NOOP, QUIT, several messages per connection and many connections at once. [`SinkOptions`]
//! make it refuse an address, ask for a retry, or go silent, so a client's handling of each is
//! tested against a real conversation rather than a mock.
//!
//! A message counts only once the sink answered 250 to its DATA, as with a real server.
//!
//! [`ReceivedMail`] reads what arrived the way a mail client would: headers unfolded, RFC 2047
//! encoded-words in the subject decoded, and the `text/plain` and `text/html` parts of a
//! multipart message found and decoded from quoted-printable or base64. The decoders are small
//! and assume UTF-8 (or Latin-1 where a part says so), which is what upbeat sends.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// What the sink does besides accepting mail. `SinkOptions::default()` accepts everything.
#[derive(Clone, Debug, Default)]
pub struct SinkOptions {
    /// RCPT TO an address containing any of these substrings answers `550 5.1.1`.
    pub reject_rcpt: Vec<String>,
    /// The first N DATA transactions, counted across all connections, are answered
    /// `451 4.3.0` once their data is in, and are not kept.
    pub tempfail_first: usize,
    /// The first N connections get the greeting and then no answer to anything, so a client's
    /// timeout can be tested.
    pub hang_first: usize,
}

/// One accepted message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without angle brackets; empty for the null sender.
    pub from: String,
    /// The envelope recipients (`RCPT TO`) that were accepted, in order.
    pub to: Vec<String>,
    /// The message as sent, after dot-unstuffing, every line ending in CRLF.
    pub data: String,
    /// The credentials given with AUTH on the message's connection, if any.
    pub auth: Option<(String, String)>,
}

/// A running sink. It stops listening, and closes every connection, when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

struct Shared {
    options: SinkOptions,
    state: Mutex<State>,
    /// Woken on every accepted message.
    arrived: Notify,
}

#[derive(Default)]
struct State {
    mails: Vec<ReceivedMail>,
    /// DATA transactions whose data was read, kept or not: `tempfail_first` counts these.
    transactions: usize,
    connections: usize,
}

impl Shared {
    /// The state, even after a panicking test thread poisoned the lock: it stays consistent
    /// because every update is a single push or increment.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SmtpSink {
    /// Binds 127.0.0.1 on a free port and starts accepting connections.
    pub async fn start(options: SinkOptions) -> anyhow::Result<SmtpSink> {
        SmtpSink::bind("127.0.0.1:0".parse()?, options).await
    }

    /// Binds `addr` and starts accepting connections.
    pub async fn bind(addr: SocketAddr, options: SinkOptions) -> anyhow::Result<SmtpSink> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { options, state: Mutex::new(State::default()), arrived: Notify::new() });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(SmtpSink { addr, shared, accept })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message accepted so far, in the order the sink answered 250.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.state().mails.clone()
    }

    pub fn count(&self) -> usize {
        self.shared.state().mails.len()
    }

    /// Waits until a message is kept, then takes every kept message out of the sink, so a sink
    /// that runs for long (the demo's) holds only what was not read yet.
    pub async fn take_next(&self) -> Vec<ReceivedMail> {
        loop {
            let arrived = self.shared.arrived.notified();
            let mails = std::mem::take(&mut self.shared.state().mails);
            if !mails.is_empty() {
                return mails;
            }
            arrived.await;
        }
    }

    /// Waits until at least `n` messages were accepted and returns all of them (possibly more
    /// than `n`), in arrival order.
    ///
    /// # Panics
    ///
    /// After `timeout`, saying how many messages came.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Created before the check: a `Notified` sees every `notify_waiters` from its
            // creation on, so a message accepted between the check and the wait is not missed.
            let arrived = self.shared.arrived.notified();
            let mails = self.messages();
            if mails.len() >= n {
                return mails;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let got = self.count();
                if got >= n {
                    return self.messages();
                }
                panic!("the SMTP sink at {} got {got} of the {n} messages waited for within {timeout:?}", self.addr);
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // The accept task owns the sessions' `JoinSet`: aborting it ends them all.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // An accept error concerns one connection (it was reset before being taken);
                // the listener itself carries on.
                if let Ok((stream, _)) = accepted {
                    let shared = Arc::clone(&shared);
                    // An I/O error ends just that conversation: the client went away.
                    sessions.spawn(async move { session(stream, &shared).await.ok() });
                }
            }
            // Reaps finished sessions so the set does not grow with every connection.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

/// The longest command line taken, CRLF included. RFC 5321 asks for 512 at least, and
/// RFC 4954 for 12288 on AUTH lines; a test needs neither, so this is a round, roomy number.
const MAX_LINE: usize = 4096;
/// The longest line inside DATA (RFC 5321 says 1000; clients that fold properly stay under).
const MAX_DATA_LINE: usize = 64 * 1024;
/// The largest message kept; a larger one is read to its end and refused with 552.
const MAX_MESSAGE: usize = 32 * 1024 * 1024;

const EHLO_REPLY: &str = "250-sink.upbeat.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
                          250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n";

/// One line read from the client.
enum Line {
    /// The line without its line ending.
    Text(Vec<u8>),
    /// The line was longer than the limit; it was read to its end and dropped.
    TooLong,
    /// The client closed the connection (possibly in the middle of a line).
    Closed,
}

/// Reads one line without ever holding more than `limit` bytes of it.
async fn read_line<R: AsyncBufRead + Unpin>(read: &mut R, limit: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buffer = read.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(Line::Closed);
        }
        let (taken, complete) = match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => (end + 1, true),
            None => (buffer.len(), false),
        };
        if !too_long {
            if line.len() + taken > limit {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(&buffer[..taken]);
            }
        }
        read.consume(taken);
        if complete {
            if too_long {
                return Ok(Line::TooLong);
            }
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Line::Text(line));
        }
    }
}

/// One client's conversation: the transaction in progress and the connection's credentials.
struct Session<'a, R, W> {
    shared: &'a Shared,
    read: R,
    write: W,
    from: Option<String>,
    to: Vec<String>,
    auth: Option<(String, String)>,
}

async fn session(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 sink.upbeat.test ESMTP upbeat test sink\r\n").await?;
    let hang = {
        let mut state = shared.state();
        state.connections += 1;
        state.connections <= shared.options.hang_first
    };
    if hang {
        // Takes whatever the client says, answers nothing, until it gives up and closes.
        tokio::io::copy(&mut read, &mut tokio::io::sink()).await?;
        return Ok(());
    }
    Session { shared, read, write, from: None, to: Vec::new(), auth: None }.run().await
}

impl<R: AsyncBufRead + Unpin, W: tokio::io::AsyncWrite + Unpin> Session<'_, R, W> {
    async fn run(mut self) -> std::io::Result<()> {
        loop {
            let line = match read_line(&mut self.read, MAX_LINE).await? {
                Line::Text(line) => String::from_utf8_lossy(&line).into_owned(),
                Line::TooLong => {
                    self.reply("500 5.5.2 line too long\r\n").await?;
                    continue;
                }
                Line::Closed => return Ok(()),
            };
            let (verb, argument) = line.split_once(' ').unwrap_or((&line, ""));
            let argument = argument.trim();
            let reply: String = match verb.to_ascii_uppercase().as_str() {
                "EHLO" | "HELO" if argument.is_empty() => "501 5.5.4 a domain or address, please\r\n".into(),
                "EHLO" => {
                    self.reset();
                    EHLO_REPLY.into()
                }
                "HELO" => {
                    self.reset();
                    "250 sink.upbeat.test\r\n".into()
                }
                "NOOP" => "250 2.0.0 ok\r\n".into(),
                "RSET" => {
                    self.reset();
                    "250 2.0.0 ok\r\n".into()
                }
                "QUIT" => {
                    self.reply("221 2.0.0 bye\r\n").await?;
                    return Ok(());
                }
                "AUTH" => self.auth(argument).await?,
                "MAIL" => self.mail(argument),
                "RCPT" => self.rcpt(argument),
                "DATA" => self.data().await?,
                _ => "502 5.5.2 command not recognised\r\n".into(),
            };
            self.reply(&reply).await?;
        }
    }

    async fn reply(&mut self, reply: &str) -> std::io::Result<()> {
        self.write.write_all(reply.as_bytes()).await
    }

    fn reset(&mut self) {
        self.from = None;
        self.to.clear();
    }

    /// A line the client sends in answer to a `334` challenge.
    async fn answer(&mut self, challenge: &str) -> std::io::Result<Option<String>> {
        self.reply(challenge).await?;
        match read_line(&mut self.read, MAX_LINE).await? {
            Line::Text(line) => Ok(Some(String::from_utf8_lossy(&line).into_owned())),
            Line::TooLong => Ok(None),
            Line::Closed => Err(std::io::ErrorKind::UnexpectedEof.into()),
        }
    }

    /// AUTH PLAIN or LOGIN, with or without an initial response; any credentials will do.
    async fn auth(&mut self, argument: &str) -> std::io::Result<String> {
        if self.auth.is_some() {
            return Ok("503 5.5.1 already authenticated\r\n".into());
        }
        if self.from.is_some() {
            return Ok("503 5.5.1 not during a mail transaction\r\n".into());
        }
        let (mechanism, initial) = argument.split_once(' ').unwrap_or((argument, ""));
        let initial = (!initial.is_empty()).then(|| initial.trim().to_owned());
        let credentials = match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(response) => Some(response),
                    None => self.answer("334 \r\n").await?,
                };
                // authzid NUL authcid NUL passwd; "=" is an empty initial response.
                response.filter(|r| r != "*").and_then(|r| base64_text(&r)).and_then(|text| {
                    let mut fields = text.split('\0');
                    let (_authzid, user, password) = (fields.next()?, fields.next()?, fields.next()?);
                    fields.next().is_none().then(|| (user.to_owned(), password.to_owned()))
                })
            }
            "LOGIN" => {
                let user = match initial {
                    Some(user) => Some(user),
                    // "Username:" and "Password:", as every server says them.
                    None => self.answer("334 VXNlcm5hbWU6\r\n").await?,
                };
                match user.filter(|u| u != "*").and_then(|u| base64_text(&u)) {
                    Some(user) => self
                        .answer("334 UGFzc3dvcmQ6\r\n")
                        .await?
                        .filter(|p| p != "*")
                        .and_then(|p| base64_text(&p))
                        .map(|password| (user, password)),
                    None => None,
                }
            }
            _ => return Ok("504 5.5.4 unrecognised authentication mechanism\r\n".into()),
        };
        Ok(match credentials {
            Some(credentials) => {
                self.auth = Some(credentials);
                "235 2.7.0 authentication succeeded\r\n".into()
            }
            None => "501 5.5.2 cannot decode the credentials\r\n".into(),
        })
    }

    fn mail(&mut self, argument: &str) -> String {
        if self.from.is_some() {
            return "503 5.5.1 nested MAIL command\r\n".into();
        }
        match path(argument, "FROM:") {
            Some(address) => {
                self.from = Some(address);
                "250 2.1.0 ok\r\n".into()
            }
            None => "501 5.5.4 syntax: MAIL FROM:<address>\r\n".into(),
        }
    }

    fn rcpt(&mut self, argument: &str) -> String {
        if self.from.is_none() {
            return "503 5.5.1 MAIL first\r\n".into();
        }
        match path(argument, "TO:") {
            Some(address) if address.is_empty() => "501 5.1.3 a recipient, please\r\n".into(),
            Some(address) if self.shared.options.reject_rcpt.iter().any(|r| address.contains(r.as_str())) => {
                format!("550 5.1.1 <{address}>: no such user here\r\n")
            }
            Some(address) => {
                self.to.push(address);
                "250 2.1.5 ok\r\n".into()
            }
            None => "501 5.5.4 syntax: RCPT TO:<address>\r\n".into(),
        }
    }

    async fn data(&mut self) -> std::io::Result<String> {
        if self.from.is_none() || self.to.is_empty() {
            return Ok("503 5.5.1 MAIL and RCPT first\r\n".into());
        }
        self.reply("354 end data with <CR><LF>.<CR><LF>\r\n").await?;
        let mut data = Vec::new();
        let mut too_big = false;
        loop {
            match read_line(&mut self.read, MAX_DATA_LINE).await? {
                Line::Text(line) if line == b"." => break,
                Line::Text(line) => {
                    let line = line.strip_prefix(b".").unwrap_or(&line);
                    too_big |= data.len() + line.len() + 2 > MAX_MESSAGE;
                    if !too_big {
                        data.extend_from_slice(line);
                        data.extend_from_slice(b"\r\n");
                    }
                }
                Line::TooLong => too_big = true,
                Line::Closed => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            }
        }
        let from = self.from.take().unwrap_or_default();
        let to = std::mem::take(&mut self.to);
        if too_big {
            return Ok("552 5.3.4 message too big for the sink\r\n".into());
        }
        let mail =
            ReceivedMail { from, to, data: String::from_utf8_lossy(&data).into_owned(), auth: self.auth.clone() };
        let kept = {
            let mut state = self.shared.state();
            state.transactions += 1;
            let kept = state.transactions > self.shared.options.tempfail_first;
            if kept {
                state.mails.push(mail);
            }
            kept
        };
        Ok(if kept {
            self.shared.arrived.notify_waiters();
            "250 2.0.0 queued\r\n".into()
        } else {
            "451 4.3.0 try again later\r\n".into()
        })
    }
}

/// The address in `FROM:<a@b> PARAMS` or `TO:<a@b>`, after the keyword (any case).
fn path(argument: &str, keyword: &str) -> Option<String> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument[keyword.len()..].trim_start().strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(rest[..end].to_owned())
}

fn base64_text(text: &str) -> Option<String> {
    String::from_utf8(base64_decode(text)?).ok()
}

impl ReceivedMail {
    /// The first header called `name` (in any case), continuation lines unfolded, as written:
    /// encoded-words are left encoded.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(split_entity(&self.data).0, name)
    }

    /// The subject, RFC 2047 encoded-words decoded.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject").map(|subject| decode_encoded_words(&subject))
    }

    /// The first `text/plain` part decoded (the body itself when the message is not
    /// multipart), with lines ending in `\n`.
    pub fn text_part(&self) -> Option<String> {
        find_part(&self.data, "text/plain")
    }

    /// The first `text/html` part decoded, with lines ending in `\n`.
    pub fn html_part(&self) -> Option<String> {
        find_part(&self.data, "text/html")
    }
}

/// An entity's header block and body: they are separated by the first empty line.
fn split_entity(entity: &str) -> (&str, &str) {
    if let Some(body) = entity.strip_prefix("\r\n") {
        // No headers at all: a part may do that, and is then plain US-ASCII text.
        return ("", body);
    }
    match entity.split_once("\r\n\r\n") {
        Some((head, body)) => (head, body),
        None => (entity.strip_suffix("\r\n").unwrap_or(entity), ""),
    }
}

fn header_in(head: &str, name: &str) -> Option<String> {
    let mut lines = head.split("\r\n");
    let first = lines.find_map(|line| {
        let (n, value) = line.split_once(':')?;
        // A continuation line of another header is not a header of its own.
        (!line.starts_with([' ', '\t']) && n.trim_end().eq_ignore_ascii_case(name)).then_some(value)
    })?;
    // Unfolding removes the CRLF and keeps the whitespace after it (RFC 5322 §2.2.3).
    let mut value = first.to_owned();
    for continuation in lines.take_while(|line| line.starts_with([' ', '\t'])) {
        value.push_str(continuation);
    }
    Some(value.trim().to_owned())
}

/// A parameter of a structured header such as `Content-Type`, unquoted.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.trim().split_once('=')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Finds the first entity of media type `kind`, looking into multiparts depth first, and
/// decodes its body.
fn find_part(entity: &str, kind: &str) -> Option<String> {
    let (head, body) = split_entity(entity);
    let content_type = header_in(head, "Content-Type").unwrap_or_else(|| "text/plain".to_owned());
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media.starts_with("multipart/") {
        let boundary = parameter(&content_type, "boundary")?;
        return body_parts(body, &boundary).into_iter().find_map(|part| find_part(part, kind));
    }
    if media != kind {
        return None;
    }
    let encoding = header_in(head, "Content-Transfer-Encoding").unwrap_or_default().to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "base64" => base64_decode(body)?,
        "quoted-printable" => quoted_printable(body.as_bytes(), false),
        // 7bit, 8bit, binary.
        _ => body.as_bytes().to_vec(),
    };
    let charset = parameter(&content_type, "charset").unwrap_or_default();
    Some(decode_charset(&charset, bytes).replace("\r\n", "\n"))
}

/// The body parts of a multipart body (RFC 2046 §5.1.1): what lies between delimiter lines,
/// without the CRLF before each delimiter (it belongs to the delimiter), without the preamble
/// and the epilogue.
fn body_parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0usize;
    for line in body.split_inclusive("\r\n") {
        let rest = line.trim_end_matches("\r\n").strip_prefix(delimiter.as_str()).map(str::trim_end);
        if let Some(rest @ ("" | "--")) = rest {
            if let Some(start) = start {
                parts.push(&body[start..offset.saturating_sub(2).max(start)]);
            }
            if rest == "--" {
                return parts;
            }
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    // No closing delimiter: the last part runs to the end.
    if let Some(start) = start {
        parts.push(&body[start..]);
    }
    parts
}

fn decode_charset(charset: &str, bytes: Vec<u8>) -> String {
    if charset.eq_ignore_ascii_case("iso-8859-1") || charset.eq_ignore_ascii_case("latin1") {
        bytes.into_iter().map(char::from).collect()
    } else {
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// Standard base64 (RFC 4648 §4), whitespace ignored, stopping at the padding.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()).take_while(|c| *c != b'=') {
        acc = (acc << 6 | u32::from(value(c)?)) & 0xFFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Quoted-printable (RFC 2045 §6.7); in an encoded-word's `Q` encoding, `_` is a space.
/// Malformed escapes are kept as written, as the RFC suggests.
fn quoted_printable(text: &[u8], word: bool) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'=' => {
                let rest = &text[i + 1..];
                // A soft line break, possibly after trailing whitespace.
                let blanks = rest.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
                let after = &rest[blanks..];
                if after.starts_with(b"\r\n") {
                    i += 1 + blanks + 2;
                } else if after.starts_with(b"\n") {
                    i += 1 + blanks + 1;
                } else if let (Some(high), Some(low)) =
                    (rest.first().copied().and_then(hex), rest.get(1).copied().and_then(hex))
                {
                    out.push(high << 4 | low);
                    i += 3;
                } else {
                    out.push(b'=');
                    i += 1;
                }
            }
            b'_' if word => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes RFC 2047 encoded-words (`=?utf-8?B?...?=`, `=?utf-8?Q?...?=`) in a header value.
/// Whitespace between two encoded-words is dropped, as the RFC says, and adjacent words are
/// decoded together, so a character split across two of them comes out whole.
pub fn decode_encoded_words(text: &str) -> String {
    let mut out = String::new();
    // Bytes of consecutive encoded-words, with their charset, and the whitespace seen after them.
    let mut words: Option<(String, Vec<u8>)> = None;
    let mut blanks = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some((charset, bytes, length)) = encoded_word(rest) {
            match &mut words {
                Some((current, pending)) if current.eq_ignore_ascii_case(&charset) => pending.extend(bytes),
                _ => {
                    if let Some((current, pending)) = words.take() {
                        out.push_str(&decode_charset(&current, pending));
                    } else {
                        out.push_str(&blanks);
                    }
                    words = Some((charset, bytes));
                }
            }
            blanks.clear();
            rest = &rest[length..];
            continue;
        }
        if c == ' ' || c == '\t' {
            blanks.push(c);
        } else {
            if let Some((charset, pending)) = words.take() {
                out.push_str(&decode_charset(&charset, pending));
            }
            out.push_str(&blanks);
            blanks.clear();
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    if let Some((charset, pending)) = words {
        out.push_str(&decode_charset(&charset, pending));
    }
    out.push_str(&blanks);
    out
}

/// An encoded-word at the start of `text`: its charset, its decoded bytes and its length.
fn encoded_word(text: &str) -> Option<(String, Vec<u8>, usize)> {
    let inner = text.strip_prefix("=?")?;
    let (charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let payload = &rest[..end];
    if [charset, encoding, payload].iter().any(|s| s.contains([' ', '\t'])) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => base64_decode(payload)?,
        "Q" | "q" => quoted_printable(payload.as_bytes(), true),
        _ => return None,
    };
    // `charset*language` (RFC 2231): the language does not matter here.
    let charset = charset.split('*').next().unwrap_or_default().to_owned();
    Some((charset, bytes, 2 + inner.len() - rest.len() + end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

    const WAIT: Duration = Duration::from_secs(10);

    /// A raw SMTP client: writes what it is given, reads one whole (possibly multiline) reply.
    struct Client {
        read: BufReader<OwnedReadHalf>,
        write: OwnedWriteHalf,
    }

    impl Client {
        async fn connect(sink: &SmtpSink) -> (Client, String) {
            let (read, write) = TcpStream::connect(sink.addr()).await.unwrap().into_split();
            let mut client = Client { read: BufReader::new(read), write };
            let greeting = client.reply().await;
            (client, greeting)
        }

        async fn reply(&mut self) -> String {
            let mut reply = String::new();
            loop {
                let mut line = String::new();
                let n = tokio::time::timeout(WAIT, self.read.read_line(&mut line)).await.unwrap().unwrap();
                assert!(n > 0, "the sink closed the connection; so far: {reply:?}");
                reply.push_str(&line);
                // The last line of a reply has a space after its code.
                if line.as_bytes().get(3) == Some(&b' ') {
                    return reply;
                }
            }
        }

        async fn say(&mut self, text: &str) -> String {
            self.write.write_all(text.as_bytes()).await.unwrap();
            self.reply().await
        }

        /// EHLO, MAIL, RCPT and DATA for one message; returns the reply to the data.
        async fn send(&mut self, from: &str, to: &str, data: &str) -> String {
            assert!(self.say(&format!("MAIL FROM:<{from}>\r\n")).await.starts_with("250 "));
            assert!(self.say(&format!("RCPT TO:<{to}>\r\n")).await.starts_with("250 "));
            assert!(self.say("DATA\r\n").await.starts_with("354 "));
            self.say(&format!("{data}.\r\n")).await
        }
    }

    fn code(reply: &str) -> &str {
        &reply[..3]
    }

    #[tokio::test]
    async fn takes_several_dot_stuffed_messages_on_one_connection() {
        let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
        let (mut c, greeting) = Client::connect(&sink).await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        let ehlo = c.say("EHLO client.test\r\n").await;
        for extension in ["250-PIPELINING\r\n", "250-8BITMIME\r\n", "250-SMTPUTF8\r\n", "250 AUTH PLAIN LOGIN\r\n"] {
            assert!(ehlo.contains(extension), "{ehlo}");
        }
        assert_eq!(code(&c.say("NOOP\r\n").await), "250");
        assert_eq!(code(&c.say("VRFY root\r\n").await), "502", "unknown commands");
        assert_eq!(code(&c.say("DATA\r\n").await), "503", "DATA before MAIL");
        assert_eq!(code(&c.say("RCPT TO:<b@x.test>\r\n").await), "503", "RCPT before MAIL");
        assert_eq!(code(&c.say(&format!("NOOP {}\r\n", "x".repeat(MAX_LINE))).await), "500", "a line too long");

        assert_eq!(code(&c.say("mail from: <a@x.test> BODY=8BITMIME\r\n").await), "250", "any case, parameters");
        assert_eq!(code(&c.say("MAIL FROM:<a@x.test>\r\n").await), "503", "nested MAIL");
        assert_eq!(code(&c.say("RCPT TO:<b@x.test>\r\n").await), "250");
        assert_eq!(code(&c.say("RCPT TO:<c@x.test>\r\n").await), "250");
        assert_eq!(code(&c.say("DATA\r\n").await), "354");
        let reply = c.say("Subject: one\r\n\r\n..leading dot\r\n..\r\nend\r\n.\r\n").await;
        assert_eq!(code(&reply), "250");

        // A transaction abandoned with RSET leaves nothing behind.
        assert_eq!(code(&c.say("MAIL FROM:<x@x.test>\r\n").await), "250");
        assert_eq!(code(&c.say("RSET\r\n").await), "250");
        assert_eq!(code(&c.say("DATA\r\n").await), "503");
        assert_eq!(code(&c.send("", "d@x.test", "Subject: two\r\n\r\nsecond\r\n").await), "250", "null sender");
        assert!(c.say("QUIT\r\n").await.starts_with("221 "));

        let mails = sink.wait_for(2, WAIT).await;
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[0].from, "a@x.test");
        assert_eq!(mails[0].to, ["b@x.test", "c@x.test"]);
        assert_eq!(mails[0].data, "Subject: one\r\n\r\n.leading dot\r\n.\r\nend\r\n");
        assert_eq!(mails[0].auth, None);
        assert_eq!(mails[0].text_part().as_deref(), Some(".leading dot\n.\nend\n"));
        assert_eq!(mails[1].from, "");
        assert_eq!(mails[1].to, ["d@x.test"]);
        assert_eq!(mails[1].subject().as_deref(), Some("two"));
        assert_eq!(sink.count(), 2);
    }

    #[tokio::test]
    async fn refuses_listed_recipients_and_tempfails_the_first_transactions() {
        let options = SinkOptions { reject_rcpt: vec!["nobody@".into()], tempfail_first: 2, hang_first: 0 };
        let sink = SmtpSink::start(options).await.unwrap();
        let (mut c, _) = Client::connect(&sink).await;
        c.say("HELO client.test\r\n").await;
        assert_eq!(code(&c.say("MAIL FROM:<a@x.test>\r\n").await), "250");
        assert_eq!(c.say("RCPT TO:<nobody@x.test>\r\n").await, "550 5.1.1 <nobody@x.test>: no such user here\r\n");
        assert_eq!(code(&c.say("DATA\r\n").await), "503", "no recipient was accepted");
        assert_eq!(code(&c.say("RCPT TO:<b@x.test>\r\n").await), "250");
        assert_eq!(code(&c.say("DATA\r\n").await), "354");
        assert_eq!(c.say("Subject: one\r\n\r\nbody\r\n.\r\n").await, "451 4.3.0 try again later\r\n");
        // Counted across connections.
        let (mut other, _) = Client::connect(&sink).await;
        other.say("EHLO other.test\r\n").await;
        assert_eq!(code(&other.send("a@x.test", "b@x.test", "Subject: two\r\n\r\nbody\r\n").await), "451");
        assert_eq!(sink.count(), 0, "refused messages are not kept");
        assert_eq!(code(&c.send("a@x.test", "b@x.test", "Subject: three\r\n\r\nbody\r\n").await), "250");
        let mails = sink.wait_for(1, WAIT).await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].subject().as_deref(), Some("three"));
        assert_eq!(mails[0].to, ["b@x.test"]);
    }

    #[tokio::test]
    async fn records_plain_and_login_credentials() {
        let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
        // PLAIN with an initial response: "\0user\0pw".
        let (mut c, _) = Client::connect(&sink).await;
        c.say("EHLO client.test\r\n").await;
        assert_eq!(code(&c.say("AUTH PLAIN AHVzZXIAcHc=\r\n").await), "235");
        assert_eq!(code(&c.say("AUTH PLAIN AHVzZXIAcHc=\r\n").await), "503", "only once");
        c.send("a@x.test", "b@x.test", "Subject: plain\r\n\r\nx\r\n").await;
        // PLAIN after a challenge, then LOGIN.
        let (mut c, _) = Client::connect(&sink).await;
        c.say("EHLO client.test\r\n").await;
        assert_eq!(c.say("AUTH PLAIN\r\n").await, "334 \r\n");
        assert_eq!(code(&c.say("AHNlY29uZABzM2NyM3Q=\r\n").await), "235");
        c.send("a@x.test", "b@x.test", "Subject: challenged\r\n\r\nx\r\n").await;
        let (mut c, _) = Client::connect(&sink).await;
        c.say("EHLO client.test\r\n").await;
        assert_eq!(code(&c.say("AUTH CRAM-MD5\r\n").await), "504");
        assert_eq!(c.say("AUTH LOGIN\r\n").await, "334 VXNlcm5hbWU6\r\n");
        assert_eq!(c.say("bG9naW4=\r\n").await, "334 UGFzc3dvcmQ6\r\n");
        assert_eq!(code(&c.say("cMOkc3M=\r\n").await), "235");
        c.send("a@x.test", "b@x.test", "Subject: login\r\n\r\nx\r\n").await;

        let auth: Vec<_> = sink.wait_for(3, WAIT).await.into_iter().map(|m| m.auth.unwrap()).collect();
        let expected = [("user", "pw"), ("second", "s3cr3t"), ("login", "päss")];
        assert_eq!(auth, expected.map(|(u, p)| (u.to_owned(), p.to_owned())));
    }

    #[tokio::test]
    async fn the_first_connections_hang_after_the_greeting() {
        let sink = SmtpSink::start(SinkOptions { hang_first: 1, ..SinkOptions::default() }).await.unwrap();
        let (mut hung, greeting) = Client::connect(&sink).await;
        assert!(greeting.starts_with("220 "));
        hung.write.write_all(b"EHLO client.test\r\n").await.unwrap();
        let mut byte = [0u8; 1];
        // Silence can only be shown by waiting for a while.
        let read = tokio::time::timeout(Duration::from_millis(300), hung.read.read(&mut byte)).await;
        assert!(read.is_err(), "a hanging connection answered: {read:?}");
        // The next connection is served.
        let (mut c, _) = Client::connect(&sink).await;
        assert!(c.say("EHLO client.test\r\n").await.starts_with("250-"));
    }

    #[tokio::test]
    async fn wait_for_sees_messages_from_concurrent_connections() {
        let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
        let addr = sink.addr();
        let senders: Vec<_> = (0..8)
            .map(|i| {
                tokio::spawn(async move {
                    let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
                    let mut c = Client { read: BufReader::new(read), write };
                    c.reply().await;
                    c.say("EHLO client.test\r\n").await;
                    for j in 0..3 {
                        let data = format!("Subject: {i}.{j}\r\n\r\nx\r\n");
                        assert_eq!(code(&c.send("a@x.test", "b@x.test", &data).await), "250");
                    }
                    c.say("QUIT\r\n").await;
                })
            })
            .collect();
        let mails = sink.wait_for(24, WAIT).await;
        for sender in senders {
            sender.await.unwrap();
        }
        assert_eq!(mails.len(), 24);
        let mut subjects: Vec<String> = mails.iter().filter_map(ReceivedMail::subject).collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), 24);
    }

    #[tokio::test]
    #[should_panic(expected = "got 0 of the 1 messages waited for")]
    async fn wait_for_panics_when_the_messages_do_not_come() {
        let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
        sink.wait_for(1, Duration::from_millis(50)).await;
    }

    fn mail(data: &str) -> ReceivedMail {
        ReceivedMail { from: String::new(), to: vec![], data: data.into(), auth: None }
    }

    #[test]
    fn finds_and_decodes_the_parts_of_a_multipart_message() {
        let m = mail(concat!(
            "Subject: =?utf-8?b?UGFubmUg4oCU?= =?utf-8?q?_caf=C3=A9?=\r\n",
            "X-Long: first\r\n\tsecond\r\n",
            "List-Unsubscribe: <https://status.example.com/u/abc>,\r\n <mailto:u@example.com>\r\n",
            "x-long: not this one\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: multipart/mixed;\r\n boundary=\"outer\"\r\n",
            "\r\n",
            "This is the preamble.\r\n",
            "--outer\r\n",
            "Content-Type: multipart/alternative; boundary=inner\r\n",
            "\r\n",
            "--inner\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "caf=C3=A9 au=\r\n",
            " lait, 1+1=3D2=  \r\n",
            "\r\n",
            "second line\r\n",
            "--inner\r\n",
            "Content-Type: text/html; charset=utf-8\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "PHA+Y2Fmw6k8L3A+\r\n",
            "--inner--\r\n",
            "--outer\r\n",
            "Content-Type: application/octet-stream\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "AAEC\r\n",
            "--outer--\r\n",
            "The epilogue.\r\n",
        ));
        assert_eq!(m.subject().as_deref(), Some("Panne — café"));
        assert_eq!(m.header("x-LONG").as_deref(), Some("first\tsecond"), "unfolded, first occurrence");
        assert_eq!(
            m.header("List-Unsubscribe").as_deref(),
            Some("<https://status.example.com/u/abc>, <mailto:u@example.com>")
        );
        assert_eq!(m.header("Content-Type").as_deref(), Some("multipart/mixed; boundary=\"outer\""));
        assert_eq!(m.header("Date"), None);
        assert_eq!(m.text_part().as_deref(), Some("café au lait, 1+1=2\nsecond line"));
        assert_eq!(m.html_part().as_deref(), Some("<p>café</p>"));
    }

    #[test]
    fn reads_a_plain_message_and_other_transfer_encodings() {
        let m = mail("Subject: hello  world\r\n\r\nline one\r\nline two\r\n");
        assert_eq!(m.subject().as_deref(), Some("hello  world"));
        assert_eq!(m.text_part().as_deref(), Some("line one\nline two\n"));
        assert_eq!(m.html_part(), None);
        let latin1 = mail(concat!(
            "Content-Type: text/plain; charset=ISO-8859-1\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            "caf=E9\r\n",
        ));
        assert_eq!(latin1.text_part().as_deref(), Some("café\n"));
        let eight_bit =
            mail("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<b>Ça</b>\r\n");
        assert_eq!(eight_bit.html_part().as_deref(), Some("<b>Ça</b>\n"));
    }

    #[test]
    fn decodes_encoded_words_as_rfc_2047_says() {
        // lettre's shape: one word per chunk, folded; a character may straddle two words.
        assert_eq!(decode_encoded_words("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?="), "éé");
        assert_eq!(decode_encoded_words("=?utf-8?b?4oC=?= =?utf-8?b?lA==?="), "—");
        assert_eq!(decode_encoded_words("[Acme] =?UTF-8?Q?Panne_=E2=80=94?= down"), "[Acme] Panne — down");
        assert_eq!(decode_encoded_words("a =?iso-8859-1?q?caf=E9?= b"), "a café b");
        assert_eq!(decode_encoded_words("=?utf-8*fr?Q?=C3=A0?="), "à");
        // Not encoded-words: left alone.
        assert_eq!(decode_encoded_words("1 =? 2 ?= 3"), "1 =? 2 ?= 3");
        assert_eq!(decode_encoded_words("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
        assert_eq!(decode_encoded_words("plain  text "), "plain  text ");
    }

    #[test]
    fn base64_and_quoted_printable_edges() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm9v\r\nYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("Zm9v!"), None);
        assert_eq!(quoted_printable(b"a=\r\nb=3D=ZZ=", false), b"ab==ZZ=");
        assert_eq!(quoted_printable(b"a_b", true), b"a b");
        assert_eq!(quoted_printable(b"a_b", false), b"a_b");
    }
}
