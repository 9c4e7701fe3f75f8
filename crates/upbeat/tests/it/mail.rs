//! The mailer against a real SMTP server on loopback (`upbeat_testkit::smtp`): what arrives is
//! what was sent, headers and encodings included, and each way a server can say no becomes the
//! right verdict.

use std::time::Duration;

use upbeat::outbox::mail::{Mail, Mailer};
use upbeat::outbox::retry::Verdict;
use upbeat_core::notify::Secret;
use upbeat_core::notify::email::{Mailbox, Smtp, SmtpTls};
use upbeat_testkit::smtp::{SinkOptions, SmtpSink};

const WAIT: Duration = Duration::from_secs(10);

fn smtp(port: u16) -> Smtp {
    Smtp {
        host: "127.0.0.1".into(),
        port,
        from: Mailbox { name: Some("Acme Status".into()), address: "status@acme.example".into() },
        tls: SmtpTls::None,
        username: None,
        password: None,
    }
}

/// No variable is set: the tests that need one pass their own lookup.
fn no_env(_: &str) -> Option<String> {
    None
}

fn mail(to: &[&str]) -> Mail {
    Mail {
        to: to.iter().map(|t| (*t).to_owned()).collect(),
        subject: "[Acme] Panne — café".into(),
        // A long line, a line that starts with a dot (stuffed on the wire) and non-ASCII text.
        text: format!("L'API est en panne depuis 12:00.\n.point de départ\n{}\nFin.", "x".repeat(120)),
        html: "<p>L'API est en <b>panne</b> — café</p>\n<p>.point</p>".into(),
        headers: vec![
            ("List-Unsubscribe".into(), "<https://status.acme.example/unsubscribe/t0k3n>".into()),
            ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
        ],
        message_id: "delivery-42".into(),
    }
}

#[tokio::test]
async fn a_message_arrives_as_multipart_text_and_html_with_its_headers() {
    let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
    let mailer = Mailer::new(&smtp(sink.addr().port()), &no_env).unwrap();
    let sent = mail(&["ops@acme.example", "On Call <oncall@acme.example>"]);
    assert_eq!(mailer.send(&sent).await, Verdict::Delivered);

    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1, "one message for all recipients");
    let got = &mails[0];
    assert_eq!(got.from, "status@acme.example");
    assert_eq!(got.to, ["ops@acme.example", "oncall@acme.example"]);
    assert_eq!(got.auth, None);
    assert_eq!(got.header("From").as_deref(), Some("\"Acme Status\" <status@acme.example>"));
    assert_eq!(got.header("To").as_deref(), Some("ops@acme.example, \"On Call\" <oncall@acme.example>"));
    assert_eq!(got.subject().as_deref(), Some("[Acme] Panne — café"));
    assert!(got.header("Subject").unwrap().is_ascii(), "encoded on the wire");
    assert_eq!(got.text_part().as_deref(), Some(sent.text.as_str()));
    assert_eq!(got.html_part().as_deref(), Some(sent.html.as_str()));
    assert!(got.header("Content-Type").unwrap().starts_with("multipart/alternative;"));
    let (text_at, html_at) = (got.data.find("text/plain").unwrap(), got.data.find("text/html").unwrap());
    assert!(text_at < html_at, "the plain part first, the preferred part last");
    assert_eq!(got.header("Message-ID").as_deref(), Some("<delivery-42@acme.example>"));
    assert_eq!(got.header("List-Unsubscribe").as_deref(), Some("<https://status.acme.example/unsubscribe/t0k3n>"));
    assert_eq!(got.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    assert!(got.header("Date").is_some());

    // The pool's connection carries the next message.
    assert_eq!(mailer.send(&mail(&["ops@acme.example"])).await, Verdict::Delivered);
    assert_eq!(sink.wait_for(2, WAIT).await.len(), 2);
}

#[tokio::test]
async fn a_server_asking_to_retry_is_transient_and_the_retry_keeps_the_message_id() {
    let sink = SmtpSink::start(SinkOptions { tempfail_first: 1, ..SinkOptions::default() }).await.unwrap();
    let mailer = Mailer::new(&smtp(sink.addr().port()), &no_env).unwrap();
    let sent = mail(&["ops@acme.example"]);
    match mailer.send(&sent).await {
        Verdict::Transient { error, retry_after: None } => assert!(error.contains("451"), "{error}"),
        other => panic!("expected a transient failure, got {other:?}"),
    }
    assert_eq!(sink.count(), 0);
    assert_eq!(mailer.send(&sent).await, Verdict::Delivered);
    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].header("Message-ID").as_deref(), Some("<delivery-42@acme.example>"));
}

#[tokio::test]
async fn a_rejected_recipient_is_permanent() {
    let sink =
        SmtpSink::start(SinkOptions { reject_rcpt: vec!["nobody@".into()], ..SinkOptions::default() }).await.unwrap();
    let mailer = Mailer::new(&smtp(sink.addr().port()), &no_env).unwrap();
    match mailer.send(&mail(&["nobody@acme.example"])).await {
        Verdict::Permanent { error } => {
            assert!(error.contains("550") && error.contains("no such user"), "the server's words: {error}")
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    // One transaction for all: a refused recipient stops it for the others too.
    let verdict = mailer.send(&mail(&["ops@acme.example", "nobody@acme.example"])).await;
    assert!(matches!(verdict, Verdict::Permanent { .. }), "{verdict:?}");
    // The same mailer still delivers afterwards.
    assert_eq!(mailer.send(&mail(&["ops@acme.example"])).await, Verdict::Delivered);
    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["ops@acme.example"]);
}

#[tokio::test]
async fn an_address_that_cannot_be_parsed_is_permanent_and_nothing_is_sent() {
    let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
    let mailer = Mailer::new(&smtp(sink.addr().port()), &no_env).unwrap();
    for to in [&["not an address"][..], &[]] {
        match mailer.send(&mail(to)).await {
            Verdict::Permanent { error } => assert!(error.contains("cannot build the message"), "{error}"),
            other => panic!("expected a permanent failure for {to:?}, got {other:?}"),
        }
    }
    let mut bad_header = mail(&["ops@acme.example"]);
    bad_header.headers.push(("Not A Header".into(), "x".into()));
    assert!(matches!(mailer.send(&bad_header).await, Verdict::Permanent { .. }));
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = Mailer::new(&smtp(port), &no_env).unwrap();
    match mailer.send(&mail(&["ops@acme.example"])).await {
        Verdict::Transient { error, retry_after: None } => assert!(!error.is_empty()),
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

#[tokio::test]
async fn credentials_with_a_password_from_the_environment_reach_the_server() {
    // `std::env::set_var` is `unsafe` in edition 2024 (and `unsafe` is forbidden here), so the
    // lookup the outbox makes with `std::env::var` is played by a closure with one variable.
    const VAR: &str = "UPBEAT_IT_MAIL_PASSWORD_5C1E";
    let env = |name: &str| (name == VAR).then(|| "s3cr3t päss".to_owned());
    let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
    let mut config = smtp(sink.addr().port());
    config.username = Some("mailer@acme.example".into());
    config.password = Some(Secret::parse(&format!("env:{VAR}")).unwrap());
    let mailer = Mailer::new(&config, &env).unwrap();
    assert_eq!(mailer.send(&mail(&["ops@acme.example"])).await, Verdict::Delivered);
    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails[0].auth, Some(("mailer@acme.example".to_owned(), "s3cr3t päss".to_owned())));

    // An unset variable is an error when the mailer is set up, naming the variable.
    let error = Mailer::new(&config, &no_env).err().expect("a missing password is an error");
    assert!(format!("{error:#}").contains(VAR), "{error:#}");
}
