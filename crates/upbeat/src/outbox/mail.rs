//! Email through `[smtp]`: a pool of connections to one server, a multipart message (plain text
//! and HTML) per delivery, and the server's answer read as a [`Verdict`]. A 5xx (a rejected
//! address) is permanent; a 4xx, a refused connection, a TLS failure or a timeout is worth
//! another try. `Mailer` knows nothing of alerts or subscribers: callers render, it sends.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use upbeat_core::notify::email::{Smtp, SmtpTls};

use super::retry::Verdict;

/// How long one send may take, from taking a connection to the server's answer to the data.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One message to one or more addresses (all of them in `To`, one SMTP transaction).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers, e.g. `List-Unsubscribe` and `List-Unsubscribe-Post`.
    pub headers: Vec<(String, String)>,
    /// Becomes the `Message-ID` `<{message_id}@{sender's domain}>`, the same on every attempt,
    /// so a retried message that did arrive the first time is recognisably the same message.
    pub message_id: String,
}

/// Sends mail through the configured server.
pub struct Mailer {
    /// Kept to build a fresh transport (and pool) after a timeout; see [`Mailer::send`].
    builder: AsyncSmtpTransportBuilder,
    transport: Mutex<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// The domain of every `Message-ID`: the sender's.
    domain: String,
    timeout: Duration,
}

impl Mailer {
    /// Checks the sender, resolves the password (`env:NAME` through `secret`) and prepares the
    /// pool; nothing connects until the first send.
    pub fn new(smtp: &Smtp, secret: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Mailer> {
        Mailer::with_timeout(smtp, secret, TIMEOUT)
    }

    fn with_timeout(smtp: &Smtp, secret: &dyn Fn(&str) -> Option<String>, timeout: Duration) -> anyhow::Result<Mailer> {
        type Transport = AsyncSmtpTransport<Tokio1Executor>;
        let builder = match smtp.tls {
            SmtpTls::None => Transport::builder_dangerous(&smtp.host),
            SmtpTls::StartTls => Transport::starttls_relay(&smtp.host)
                .with_context(|| format!("cannot set up STARTTLS for `{}`", smtp.host))?,
            SmtpTls::Tls => {
                Transport::relay(&smtp.host).with_context(|| format!("cannot set up TLS for `{}`", smtp.host))?
            }
        };
        // lettre's own timeout only covers connecting; `send` bounds the whole exchange.
        let mut builder = builder.port(smtp.port).timeout(Some(timeout));
        // The configuration has both or neither.
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            let password = password.resolve(secret).map_err(anyhow::Error::msg).context("smtp.password")?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let address = smtp.from.address.parse().with_context(|| format!("`{}` as the sender", smtp.from.address))?;
        let from = Mailbox::new(smtp.from.name.clone(), address);
        let domain = from.email.domain().to_owned();
        let transport = Mutex::new(builder.clone().build());
        Ok(Mailer { builder, transport, from, domain, timeout })
    }

    /// Sends one message and says what its outcome means for the delivery.
    pub async fn send(&self, mail: &Mail) -> Verdict {
        let message = match self.message(mail) {
            Ok(message) => message,
            Err(e) => return Verdict::Permanent { error: format!("cannot build the message: {e:#}") },
        };
        let transport = self.transport.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match tokio::time::timeout(self.timeout, transport.send(message)).await {
            Ok(Ok(_)) => Verdict::Delivered,
            Ok(Err(e)) if e.is_permanent() => Verdict::Permanent { error: format!("the mail server refused it: {e}") },
            Ok(Err(e)) => {
                Verdict::Transient { error: format!("the mail server did not take it: {e}"), retry_after: None }
            }
            Err(_) => {
                // lettre puts a connection whose exchange was abandoned back into its pool, where
                // a late answer would be read as the answer to the next command: a fresh pool
                // makes sure that connection is never used again (the old one closes it).
                *self.transport.lock().unwrap_or_else(PoisonError::into_inner) = self.builder.clone().build();
                Verdict::Transient {
                    error: format!("the mail server did not answer within {} s", self.timeout.as_secs_f32()),
                    retry_after: None,
                }
            }
        }
    }

    fn message(&self, mail: &Mail) -> anyhow::Result<Message> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(mail.subject.as_str())
            .message_id(Some(format!("<{}@{}>", id_left(&mail.message_id), self.domain)));
        for to in &mail.to {
            let to: Mailbox = to.parse().with_context(|| format!("`{to}` is not an email address"))?;
            builder = builder.to(to);
        }
        for (name, value) in &mail.headers {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| anyhow::anyhow!("`{name}` is not a header name"))?;
            // `HeaderValue::new` encodes and folds the value: a line break in it cannot inject
            // a header of its own.
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        Ok(builder.multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))?)
    }
}

/// The left part of a `Message-ID` must be a dot-atom (RFC 5322 §3.6.4): anything else in the
/// id becomes `-`, the same way every time.
fn id_left(id: &str) -> String {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let mapped: String = id.chars().map(|c| if atext(c) || c == '.' { c } else { '-' }).collect();
    let trimmed = mapped.trim_matches('.');
    let mut left = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if !(c == '.' && left.ends_with('.')) {
            left.push(c);
        }
    }
    if left.is_empty() { "upbeat".to_owned() } else { left }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upbeat_core::notify::email::Mailbox as Sender;
    use upbeat_testkit::smtp::{SinkOptions, SmtpSink};

    fn smtp(port: u16) -> Smtp {
        Smtp {
            host: "127.0.0.1".into(),
            port,
            from: Sender { name: None, address: "upbeat@example.com".into() },
            tls: SmtpTls::None,
            username: None,
            password: None,
        }
    }

    fn mail() -> Mail {
        Mail {
            to: vec!["ops@example.com".into()],
            subject: "down".into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
            headers: vec![],
            message_id: "d1".into(),
        }
    }

    #[tokio::test]
    async fn a_server_that_stops_answering_is_a_transient_failure_and_the_next_send_goes_through() {
        let sink = SmtpSink::start(SinkOptions { hang_first: 1, ..SinkOptions::default() }).await.unwrap();
        let mailer = Mailer::with_timeout(&smtp(sink.addr().port()), &|_| None, Duration::from_millis(500)).unwrap();
        match mailer.send(&mail()).await {
            Verdict::Transient { error, retry_after: None } => assert!(error.contains("did not answer"), "{error}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(mailer.send(&mail()).await, Verdict::Delivered);
        assert_eq!(sink.wait_for(1, Duration::from_secs(10)).await.len(), 1);
    }

    #[test]
    fn message_ids_are_dot_atoms() {
        assert_eq!(id_left("delivery.42.alerts"), "delivery.42.alerts");
        assert_eq!(id_left("a b<c>@d"), "a-b-c--d");
        assert_eq!(id_left(".a..b."), "a.b");
        assert_eq!(id_left(""), "upbeat");
    }
}
