//! Email through `[smtp]`: one pooled connection set, a multipart message (plain text and HTML)
//! per delivery, and the server's answer read as a verdict: a 5xx (a rejected address) is
//! permanent, a 4xx, a refused connection or a timeout is worth another try.

use std::time::Duration;

use anyhow::Context;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use upbeat_core::notify::email::{Smtp, SmtpTls};

use super::retry::Verdict;

const TIMEOUT: Duration = Duration::from_secs(30);

/// One message to one or more addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers: `List-Unsubscribe`, `List-Unsubscribe-Post`.
    pub headers: Vec<(String, String)>,
    /// The left part of the `Message-ID`, the same on every attempt: a retried message that did
    /// arrive the first time is recognisable as the same message.
    pub message_id: String,
}

/// Sends mail through the configured server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The `Message-ID`'s domain: the sender's.
    domain: String,
}

impl Mailer {
    pub fn new(smtp: &Smtp, secret: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Mailer> {
        let builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .with_context(|| format!("cannot use STARTTLS with {}", smtp.host))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .with_context(|| format!("cannot use TLS with {}", smtp.host))?,
        };
        let mut builder = builder.port(smtp.port).timeout(Some(TIMEOUT));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            let password = password.resolve(secret).map_err(anyhow::Error::msg)?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let address = smtp.from.address.parse().with_context(|| format!("`{}` as a sender", smtp.from.address))?;
        let from = Mailbox::new(smtp.from.name.clone(), address);
        let domain = smtp.from.address.rsplit_once('@').map_or("upbeat.invalid", |(_, d)| d).to_owned();
        Ok(Mailer { transport: builder.build(), from, domain })
    }

    pub async fn send(&self, mail: &Mail) -> Verdict {
        let message = match self.message(mail) {
            Ok(message) => message,
            Err(e) => return Verdict::Permanent { error: format!("cannot build the message: {e:#}") },
        };
        match self.transport.send(message).await {
            Ok(_) => Verdict::Delivered,
            Err(e) if e.is_permanent() => Verdict::Permanent { error: format!("the mail server refused it: {e}") },
            Err(e) => Verdict::Transient { error: format!("the mail server did not take it: {e}"), retry_after: None },
        }
    }

    fn message(&self, mail: &Mail) -> anyhow::Result<Message> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}@{}>", mail.message_id, self.domain)));
        for to in &mail.to {
            builder = builder.to(to.parse().with_context(|| format!("`{to}` is not an address"))?);
        }
        for (name, value) in &mail.headers {
            let name =
                HeaderName::new_from_ascii(name.clone()).map_err(|_| anyhow::anyhow!("bad header name `{name}`"))?;
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        Ok(builder.multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))?)
    }
}
