use super::*;

fn errors(src: &str) -> Vec<String> {
    Config::parse("upbeat.toml", src)
        .expect_err("config should be rejected")
        .0
        .iter()
        .map(ToString::to_string)
        .collect()
}

const MINIMAL: &str = r#"
[page]
title = "Example"
base_url = "https://status.example.com"

[[component]]
id = "api"
name = "API"
group = "Backend"

[[monitor]]
id = "api-health"
name = "api.example.com"
kind = "http"
url = "https://api.example.com/health"
interval = "30s"
timeout = "5s"
expected_status = [200, "300-304"]
body_contains = "ok"
headers = { "X-Check" = "upbeat" }
component = "api"

[[monitor]]
id = "db"
name = "Database"
kind = "tcp"
host = "127.0.0.1"
port = 5432
interval = "1s"
confirm = 3
recover = 2
public = false
"#;

#[test]
fn a_valid_file_becomes_a_typed_model_with_defaults() {
    let c = Config::parse("upbeat.toml", MINIMAL).unwrap();
    assert_eq!(c.page.base_url, "https://status.example.com/", "a bare origin gets its slash");
    assert_eq!(c.page.language, "en");
    assert_eq!(c.page.time_zone, chrono_tz::UTC);
    assert_eq!(c.page.feed_items, 250);
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.storage.retention, Duration::from_secs(30 * 86_400));
    let api = &c.monitors[0];
    assert_eq!(api.interval, Duration::from_secs(30));
    assert_eq!(api.timeout, Duration::from_secs(5));
    assert_eq!(api.policy, Policy { confirm: 2, recover: 1 });
    let MonitorKind::Http(http) = &api.kind else { panic!("http expected") };
    assert!(http.expected_status.contains(200) && http.expected_status.contains(302));
    assert!(!http.expected_status.contains(201));
    assert_eq!(http.body_contains, vec!["ok".to_string()]);
    assert_eq!(http.headers.len(), 1);
    assert!(http.follow_redirects);
    let db = &c.monitors[1];
    assert_eq!(db.kind, MonitorKind::Tcp(TcpSpec { host: "127.0.0.1".into(), port: 5432 }));
    assert_eq!(db.timeout, Duration::from_secs(1), "timeout defaults to the interval, at most 10s");
    assert_eq!(db.policy, Policy { confirm: 3, recover: 2 });
    assert!(!db.public);
}

#[test]
fn every_error_is_reported_with_line_and_field() {
    let src = "[page]\ntitle = \"x\"\ncolour = \"red\"\n\n[[monitor]]\nid = \"a\"\nname = \"A\"\nkind = \"http\"\nurl = \"ftp://x\"\ninterval = \"10 parsecs\"\nconfirm = \"two\"\nhost = \"oops\"\n";
    let e = errors(src);
    assert_eq!(
        e,
        vec![
            "upbeat.toml:3:1: page.colour: unknown field; expected one of: title, base_url, language, time_zone, feed_items, logo",
            "upbeat.toml:9:7: monitor[0].url: `ftp://x` must be an absolute http:// or https:// URL",
            "upbeat.toml:10:12: monitor[0].interval: `parsecs` is not a duration unit; use ms, s, m, h or d",
            "upbeat.toml:11:11: monitor[0].confirm: expected an integer, found string",
            "upbeat.toml:12:1: monitor[0].host: unknown field; expected one of: id, name, kind, interval, timeout, confirm, recover, component, public, paused, channels, depends_on, renotify, url, method, headers, expected_status, body_contains, body_not_contains, follow_redirects, conditions",
        ]
    );
}

#[test]
fn interval_below_one_second_and_timeout_above_interval_are_refused() {
    let e = errors(
        "[page]\ntitle = \"x\"\n[[monitor]]\nid = \"a\"\nname = \"A\"\nkind = \"tcp\"\nhost = \"h\"\nport = 1\ninterval = \"500ms\"\n[[monitor]]\nid = \"b\"\nname = \"B\"\nkind = \"tcp\"\nhost = \"h\"\nport = 1\ninterval = \"5s\"\ntimeout = \"6s\"\n",
    );
    assert!(e[0].contains("monitor[0].interval: must be at least 1s"), "{e:?}");
    assert!(e[1].contains("monitor[1].timeout: must not be longer than the interval"), "{e:?}");
}

#[test]
fn missing_and_unknown_references_are_named() {
    let e = errors(
        "[page]\ntitle = \"x\"\n[[monitor]]\nname = \"A\"\nkind = \"smtp\"\ncomponent = \"nope\"\n[[monitor]]\nid = \"b\"\nname = \"B\"\nkind = \"tcp\"\nhost = \"h\"\n",
    );
    let all = e.join("\n");
    assert!(all.contains("monitor[0].id: is required"), "{all}");
    assert!(all.contains("monitor[0].kind: unknown kind `smtp`"), "{all}");
    assert!(all.contains("monitor[0].component: no [[component]] has id `nope`"), "{all}");
    assert!(all.contains("monitor[1].port: is required for kind \"tcp\""), "{all}");
}

#[test]
fn duplicate_ids_and_bad_values_are_errors() {
    let e = errors(
        "[page]\ntitle = \"x\"\ntime_zone = \"Mars/Olympus\"\n[[monitor]]\nid = \"a\"\nname = \"A\"\nkind = \"tcp\"\nhost = \"h\"\nport = 70000\n[[monitor]]\nid = \"a\"\nname = \"A2\"\nkind = \"http\"\nurl = \"http://h/\"\nexpected_status = [\"299-200\"]\n",
    );
    let all = e.join("\n");
    assert!(all.contains("page.time_zone: `Mars/Olympus` is not an IANA time zone"), "{all}");
    assert!(all.contains("monitor[0].port: must be between 1 and 65535"), "{all}");
    assert!(all.contains("monitor[1].expected_status: `299-200` is an empty range"), "{all}");
    assert!(all.contains("11:6: monitor[1].id: duplicate monitor id `a`, first on line 5"), "{all}");
}

#[test]
fn syntax_errors_name_the_line() {
    let e = errors("[page]\ntitle = \"x\n");
    assert!(e[0].starts_with("upbeat.toml:2:"), "{e:?}");
    assert!(e[0].contains("(syntax)"), "{e:?}");
}

#[test]
fn a_missing_page_is_an_error() {
    let e = errors("[[component]]\nid = \"a\"\nname = \"A\"\n");
    assert!(e[0].contains("page: is required"), "{e:?}");
}

const TOLD: &str = r#"
[page]
title = "x"

[pings]
ping_key = "pk-0123456789abcdef"

[[monitor]]
id = "backup"
name = "Backup"
kind = "heartbeat"
cron = "30 2 * * *"
time_zone = "Europe/Berlin"
grace = "15m"
max_duration = "1h"

[[monitor]]
id = "reports"
name = "Reports"
kind = "heartbeat"
period = "1d"
uuid = "0D2A52A6-1F6C-4D6B-9C83-5F2B3A7D9E10"
slug = "daily-reports"

[[monitor]]
id = "e2e"
name = "E2E"
kind = "push"
token = "push-token-0123456789"
heartbeat = "10m"

[[monitor]]
id = "backlog"
name = "Backlog"
kind = "metric"
condition = "p95(value) >= 1000"
for = "2m"

[[monitor]]
id = "queue"
name = "Queue"
kind = "metric"
condition = "value > 10"
url = "http://127.0.0.1:9000/stats"
json_path = "queue.depth"
interval = "30s"

[[monitor]]
id = "resolver"
name = "Resolver"
kind = "dns"
query = "example.com."
record_type = "mx"
resolver = "127.0.0.1"
expect_rcode = "nxdomain"

[[monitor]]
id = "cert"
name = "Certificate"
kind = "tls"
host = "example.com"
expires_within = "14d"

[[monitor]]
id = "gw"
name = "Gateway"
kind = "icmp"
host = "127.0.0.1"
count = 3
"#;

#[test]
fn told_monitors_and_the_other_kinds_parse_with_their_defaults() {
    use crate::monitor::{Rcode, RecordType};
    let c = Config::parse("upbeat.toml", TOLD).unwrap();
    assert_eq!(c.pings.ping_key.as_deref(), Some("pk-0123456789abcdef"));
    let MonitorKind::Heartbeat(backup) = &c.monitors[0].kind else { panic!("heartbeat") };
    assert_eq!(backup.slug, "backup", "the slug defaults to the id");
    assert_eq!(backup.schedule_text, "30 2 * * * Europe/Berlin (grace 15m)");
    assert_eq!(backup.max_duration, Some(Duration::from_secs(3600)));
    assert_eq!(c.monitors[0].policy, Policy { confirm: 1, recover: 1 }, "a missed heartbeat is the outage");
    // The longest time between runs is the 25-hour day when Berlin's clocks go back, plus grace.
    assert_eq!(c.monitors[0].interval, Duration::from_secs(25 * 3600 + 900));
    let MonitorKind::Heartbeat(reports) = &c.monitors[1].kind else { panic!("heartbeat") };
    assert_eq!(reports.uuid.as_deref(), Some("0d2a52a6-1f6c-4d6b-9c83-5f2b3a7d9e10"), "uuids are kept lowercase");
    assert_eq!((reports.slug.as_str(), reports.schedule.grace), ("daily-reports", Duration::from_secs(3600)));
    let MonitorKind::Push(e2e) = &c.monitors[2].kind else { panic!("push") };
    assert_eq!(e2e.key, "e2e");
    assert_eq!(c.monitors[2].interval, Duration::from_secs(600));
    let MonitorKind::Metric(backlog) = &c.monitors[3].kind else { panic!("metric") };
    assert_eq!(backlog.condition.to_string(), "p95(value) >= 1000");
    assert_eq!(
        (backlog.window, backlog.hold_for, backlog.recover_for),
        (Duration::from_secs(300), Duration::from_secs(120), Duration::ZERO)
    );
    assert!(backlog.pull.is_none() && c.monitors[3].kind.is_passive());
    let MonitorKind::Metric(queue) = &c.monitors[4].kind else { panic!("metric") };
    assert_eq!(queue.pull.as_ref().map(|p| p.json_path.as_str()), Some("queue.depth"));
    assert!(!c.monitors[4].kind.is_passive() && c.monitors[4].kind.has_deadlines());
    let MonitorKind::Dns(dns) = &c.monitors[5].kind else { panic!("dns") };
    assert_eq!(
        (dns.query.as_str(), dns.record_type, dns.expect_rcode),
        ("example.com", RecordType::Mx, Some(Rcode::NxDomain))
    );
    assert_eq!(dns.resolver.map(|r| r.to_string()).as_deref(), Some("127.0.0.1:53"));
    let MonitorKind::Tls(tls) = &c.monitors[6].kind else { panic!("tls") };
    assert_eq!((tls.port, tls.expires_within), (443, Duration::from_secs(14 * 86_400)));
    let MonitorKind::Icmp(icmp) = &c.monitors[7].kind else { panic!("icmp") };
    assert_eq!(icmp.count, 3);
}

#[test]
fn bad_schedules_conditions_and_tokens_name_the_line_and_column() {
    let monitor = |body: &str| format!("[page]\ntitle = \"x\"\n[[monitor]]\nid = \"a\"\nname = \"A\"\n{body}");
    let e = errors(&monitor("kind = \"heartbeat\"\ncron = \"0 25 * * *\"\n"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("upbeat.toml:7:11: monitor[0].cron: "), "the column of `25` in the file: {e:?}");
    assert!(e[0].contains("out of range") && e[0].contains("(column 3 of the expression)"), "{e:?}");
    let e = errors(&monitor("kind = \"metric\"\ncondition = \"avg(value) => 3\"\n"));
    assert!(e[0].starts_with("upbeat.toml:7:25: monitor[0].condition: "), "{e:?}");
    assert!(e[0].contains("(column 12 of the condition)"), "{e:?}");
    let e = errors(&monitor("kind = \"heartbeat\"\nperiod = \"1h\"\ncron = \"* * * * *\"\n"));
    assert!(e[0].contains("monitor[0].cron: set either `period` or `cron`, not both"), "{e:?}");
    let e = errors(&monitor("kind = \"heartbeat\"\n"));
    assert!(e[0].contains("monitor[0].period: is required for kind \"heartbeat\""), "{e:?}");
    let e = errors(&monitor(
        "kind = \"heartbeat\"\nperiod = \"1h\"\nuuid = \"nope\"\nmin_duration = \"2h\"\nmax_duration = \"1h\"\n",
    ));
    assert!(e.iter().any(|l| l.contains("monitor[0].uuid: `nope` is not a uuid")), "{e:?}");
    assert!(e.iter().any(|l| l.contains("monitor[0].min_duration: must be shorter than `max_duration`")), "{e:?}");
    let e = errors(&monitor("kind = \"push\"\ntoken = \"short\"\n"));
    assert!(e[0].contains("monitor[0].token: must be at least 16 printable characters"), "{e:?}");
    let e = errors(&monitor("kind = \"metric\"\ncondition = \"value > 1\"\nurl = \"http://h/\"\n"));
    assert!(e[0].contains("monitor[0].json_path: is required with `url`"), "{e:?}");
    let e = errors(&monitor("kind = \"dns\"\nquery = \"bad name!\"\nrecord_type = \"AXFR\"\n"));
    assert!(e.iter().any(|l| l.contains("`bad name!` is not a domain name")), "{e:?}");
    assert!(e.iter().any(|l| l.contains("`AXFR` is not a record type")), "{e:?}");
    let e = errors("[page]\ntitle = \"x\"\n[pings]\nping_key = \"short\"\n");
    assert!(e[0].contains("pings.ping_key: must be 16 to 64"), "{e:?}");
}

#[test]
fn http_conditions_parse_and_widen_the_accepted_statuses() {
    let src = "[page]\ntitle = \"x\"\n[[monitor]]\nid = \"a\"\nname = \"A\"\nkind = \"http\"\nurl = \"http://h/\"\nconditions = [\"[STATUS] == 503\", \"[BODY].queue.depth < 1000\"]\n";
    let c = Config::parse("upbeat.toml", src).unwrap();
    let MonitorKind::Http(http) = &c.monitors[0].kind else { panic!("http") };
    assert_eq!(http.conditions.len(), 2);
    assert!(http.expected_status.contains(503), "with conditions, [STATUS] decides");
    let e = errors(&src.replace("[STATUS] == 503", "[STATU] == 503"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("upbeat.toml:8:16: monitor[0].conditions[0]: unknown placeholder `[STATU]`"), "{e:?}");
    assert!(e[0].ends_with("(column 1 of the condition)"), "{e:?}");
}

const NOTIFY: &str = r#"
[page]
title = "x"

[smtp]
host = "smtp.example.com"
from = "Status <status@example.com>"
username = "upbeat"
password = "env:SMTP_PASSWORD"

[[channel]]
id = "hook"
kind = "webhook"
url = "http://127.0.0.1:9000/hook"
secret = "hook-secret-value"
headers = { "Authorization" = "Bearer header-secret-value" }
events = ["outage_opened", "outage_closed"]
rate_limit = "30/m"

[[channel]]
id = "slack"
kind = "slack"
url = "https://hooks.slack.com/services/T/B/slack-secret-value"

[[channel]]
id = "phone"
kind = "ntfy"
topic = "alerts"

[[channel]]
id = "pager"
kind = "pagerduty"
routing_key = "pager-secret-value"

[[channel]]
id = "genie"
kind = "opsgenie"
api_key = "env:GENIE_KEY"

[[channel]]
id = "tg"
kind = "telegram"
bot_token = "1:tg-secret-value"
chat_id = "@ops_room"

[[channel]]
id = "mail"
kind = "email"
to = "ops@example.com"

[[monitor]]
id = "db"
name = "Database"
kind = "tcp"
host = "127.0.0.1"
port = 5432

[[monitor]]
id = "api"
name = "API"
kind = "tcp"
host = "127.0.0.1"
port = 80
channels = ["hook", "mail"]
depends_on = "db"
renotify = "30m"

[[monitor]]
id = "web"
name = "Web"
kind = "tcp"
host = "127.0.0.1"
port = 443
depends_on = "api"
"#;

#[test]
fn channels_smtp_and_the_monitors_alert_fields_parse_with_their_defaults() {
    use crate::notify::{AlertEvent, ChannelKind, RateLimit, email::SmtpTls};
    let c = Config::parse("upbeat.toml", NOTIFY).unwrap_or_else(|e| panic!("{e}"));
    let smtp = c.smtp.as_ref().unwrap();
    assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls), ("smtp.example.com", 587, SmtpTls::StartTls));
    assert_eq!((smtp.from.name.as_deref(), smtp.from.address.as_str()), (Some("Status"), "status@example.com"));
    assert_eq!(smtp.password.as_ref().and_then(|p| p.env_name()), Some("SMTP_PASSWORD"));

    let kinds: Vec<&str> = c.channels.iter().map(|ch| ch.kind.name()).collect();
    assert_eq!(kinds, ["webhook", "slack", "ntfy", "pagerduty", "opsgenie", "telegram", "email"]);
    let hook = c.channel("hook").unwrap();
    assert_eq!(hook.events, Some(vec![AlertEvent::OutageOpened, AlertEvent::OutageClosed]));
    assert_eq!(hook.rate_limit, Some(RateLimit { count: 30, per: Duration::from_secs(60) }));
    let ChannelKind::Webhook(spec) = &hook.kind else { panic!("webhook") };
    assert_eq!(spec.headers[0].0, "Authorization");
    assert_eq!(spec.headers[0].1.resolve(&|_| None).as_deref(), Ok("Bearer header-secret-value"));
    let ChannelKind::Ntfy(ntfy) = &c.channel("phone").unwrap().kind else { panic!("ntfy") };
    assert_eq!((ntfy.url.to_string().trim_end_matches('/'), ntfy.topic.as_str()), ("https://ntfy.sh", "alerts"));
    assert_eq!((ntfy.token.is_none(), ntfy.priority), (true, None));
    let ChannelKind::PagerDuty(pd) = &c.channel("pager").unwrap().kind else { panic!("pagerduty") };
    assert_eq!(pd.url.to_string(), "https://events.pagerduty.com/v2/enqueue");
    let ChannelKind::Opsgenie(og) = &c.channel("genie").unwrap().kind else { panic!("opsgenie") };
    assert_eq!(
        (og.url.to_string().as_str(), og.api_key.env_name()),
        ("https://api.opsgenie.com/v2/alerts", Some("GENIE_KEY"))
    );
    let ChannelKind::Telegram(tg) = &c.channel("tg").unwrap().kind else { panic!("telegram") };
    assert_eq!(
        (tg.chat_id.as_str(), tg.url.to_string().trim_end_matches('/')),
        ("@ops_room", "https://api.telegram.org")
    );
    let ChannelKind::Email(mail) = &c.channel("mail").unwrap().kind else { panic!("email") };
    assert_eq!(mail.to, ["ops@example.com"], "one address may be written as a string");
    assert!(c.channels.iter().filter(|ch| ch.id != "hook").all(|ch| ch.events.is_none() && ch.rate_limit.is_none()));

    let (db, api, web) = (c.monitor("db").unwrap(), c.monitor("api").unwrap(), c.monitor("web").unwrap());
    assert_eq!((&db.channels, &db.depends_on, db.renotify), (&None, &None, None));
    assert_eq!(api.channels, Some(vec!["hook".to_owned(), "mail".to_owned()]));
    assert_eq!(
        (api.depends_on.as_ref().map(|d| d.as_str()), api.renotify),
        (Some("db"), Some(Duration::from_secs(1800)))
    );
    let ids = |chs: Vec<&crate::notify::Channel>| chs.iter().map(|ch| ch.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(c.channels_for(api)), ["hook", "mail"]);
    assert_eq!(c.channels_for(db).len(), 7, "a monitor without `channels` alerts every channel");
    let chain: Vec<&str> = c.dependencies(&web.id).iter().map(|id| id.as_str()).collect();
    assert_eq!(chain, ["api", "db"], "nearest first");
    assert!(c.dependencies(&db.id).is_empty());
}

#[test]
fn smtp_tls_sets_the_default_port() {
    let src = "[page]\ntitle = \"x\"\n[smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\ntls = \"tls\"\n";
    let smtp = Config::parse("upbeat.toml", src).unwrap().smtp.unwrap();
    assert_eq!((smtp.port, smtp.tls), (465, crate::notify::email::SmtpTls::Tls));
    let smtp =
        Config::parse("upbeat.toml", &src.replace("\"tls\"\n", "\"none\"\nport = 2525\n")).unwrap().smtp.unwrap();
    assert_eq!((smtp.port, smtp.tls), (2525, crate::notify::email::SmtpTls::None));
}

#[test]
fn secrets_never_show_in_the_configuration_s_debug_output() {
    let c = Config::parse("upbeat.toml", NOTIFY).unwrap();
    let debug = format!("{c:?}");
    for secret in
        ["hook-secret-value", "header-secret-value", "slack-secret-value", "pager-secret-value", "tg-secret-value"]
    {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("Secret(env:SMTP_PASSWORD)") && debug.contains("Secret(<redacted>)"));
}

/// `NOTIFY` with `old` replaced by `new`, which must be there.
fn notify_with(old: &str, new: &str) -> Vec<String> {
    assert!(NOTIFY.contains(old), "{old}");
    errors(&NOTIFY.replacen(old, new, 1))
}

#[test]
fn channel_references_name_the_line_and_the_unknown_id() {
    let e = notify_with("channels = [\"hook\", \"mail\"]", "channels = [\"hook\", \"pager-duty\"]");
    assert_eq!(e, ["upbeat.toml:64:21: monitor[1].channels[1]: no [[channel]] has id `pager-duty`"]);
    let e = notify_with("id = \"slack\"", "id = \"hook\"");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("channel[1].id: duplicate channel id `hook`"), "{e:?}");
}

#[test]
fn an_email_channel_needs_smtp_and_valid_addresses() {
    let without_smtp = NOTIFY.replace(
        "[smtp]\nhost = \"smtp.example.com\"\nfrom = \"Status <status@example.com>\"\nusername = \"upbeat\"\npassword = \"env:SMTP_PASSWORD\"\n",
        "",
    );
    let e = errors(&without_smtp);
    assert_eq!(
        e,
        [
            "upbeat.toml:43:8: channel[6].kind: channel `mail` sends email, but there is no [smtp] table to send it through"
        ]
    );
    let e = notify_with("to = \"ops@example.com\"", "to = [\"ops@example.com\", \"ops at example.com\"]");
    assert_eq!(
        e,
        ["upbeat.toml:49:6: channel[6].to: `ops at example.com` is not an email address like \"ops@example.com\""]
    );
    let e = notify_with("from = \"Status <status@example.com>\"", "from = \"Status <status@example.com\"");
    assert!(e[0].contains("smtp.from: `Status <status@example.com` is not an address"), "{e:?}");
    let e = notify_with("password = \"env:SMTP_PASSWORD\"\n", "");
    assert!(e[0].contains("smtp.password: is required with `username`"), "{e:?}");
    let e = notify_with("host = \"smtp.example.com\"\n", "tls = \"ssl\"\n");
    assert!(e.iter().any(|l| l.contains("smtp.host: is required")), "{e:?}");
    assert!(e.iter().any(|l| l.contains("smtp.tls: `ssl` is not one of: none, starttls, tls")), "{e:?}");
    let e = errors("[page]\ntitle = \"x\"\n[smtp]\nhost = \"h\"\n");
    assert!(e[0].contains("smtp.from: is required"), "{e:?}");
}

#[test]
fn depends_on_must_name_another_monitor_and_never_loop() {
    let e = notify_with(
        "[[monitor]]\nid = \"db\"\nname = \"Database\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = 5432\n",
        "[[monitor]]\nid = \"db\"\nname = \"Database\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = 5432\ndepends_on = \"web\"\n",
    );
    assert_eq!(e, ["upbeat.toml:57:14: monitor[0].depends_on: depends_on makes a cycle: `db` → `web` → `api` → `db`"]);
    let e = notify_with("depends_on = \"api\"", "depends_on = \"web\"");
    assert_eq!(e, ["upbeat.toml:74:14: monitor[2].depends_on: a monitor cannot depend on itself"]);
    let e = notify_with("depends_on = \"api\"", "depends_on = \"cache\"");
    assert_eq!(e, ["upbeat.toml:74:14: monitor[2].depends_on: no [[monitor]] has id `cache`"]);
    let e = notify_with("depends_on = \"api\"", "depends_on = \"Not An Id\"");
    assert!(e[0].starts_with("upbeat.toml:74:14: monitor[2].depends_on: `Not An Id` is not a valid id"), "{e:?}");
    let e = notify_with("renotify = \"30m\"", "renotify = \"30s\"");
    assert_eq!(e, ["upbeat.toml:66:12: monitor[1].renotify: must be at least 1m"]);
}

#[test]
fn bad_channel_settings_name_the_field() {
    let e = notify_with("rate_limit = \"30/m\"", "rate_limit = \"30 per minute\"");
    assert_eq!(
        e,
        [
            "upbeat.toml:18:14: channel[0].rate_limit: `30 per minute` is not a rate; write it like \"30/m\", \"1/s\" or \"100/h\""
        ]
    );
    let e =
        notify_with("events = [\"outage_opened\", \"outage_closed\"]", "events = [\"outage_opened\", \"went_down\"]");
    assert!(e[0].starts_with("upbeat.toml:17:28: channel[0].events[1]: unknown event `went_down`; expected one of: outage_opened, outage_closed, heartbeat_late"), "{e:?}");
    let e = notify_with("events = [\"outage_opened\", \"outage_closed\"]", "events = []");
    assert!(e[0].contains("channel[0].events: names no event"), "{e:?}");
    let e = notify_with("kind = \"webhook\"", "kind = \"carrier-pigeon\"");
    assert!(e[0].contains("channel[0].kind: unknown kind `carrier-pigeon`; expected one of: webhook, slack, discord, teams, ntfy, pagerduty, opsgenie, telegram, email"), "{e:?}");
    let e = notify_with("url = \"http://127.0.0.1:9000/hook\"", "url = \"ftp://127.0.0.1/hook\"");
    assert!(
        e[0].contains("channel[0].url: `ftp://127.0.0.1/hook` must be an absolute http:// or https:// URL"),
        "{e:?}"
    );
    let e = notify_with("headers = { \"Authorization\"", "headers = { \"X-Upbeat-Signature\"");
    assert!(e[0].contains("channel[0].headers.X-Upbeat-Signature: is set by upbeat itself"), "{e:?}");
    let e = notify_with("secret = \"hook-secret-value\"", "secret = \"env:\"");
    assert!(e[0].contains("channel[0].secret: `env:` must name an environment variable"), "{e:?}");
    let e = notify_with(
        "url = \"https://hooks.slack.com/services/T/B/slack-secret-value\"",
        "url = \"hooks.slack.com/T/B/slack-secret-value\"",
    );
    assert_eq!(
        e,
        ["upbeat.toml:23:7: channel[1].url: must be an absolute http:// or https:// URL"],
        "a credential is not quoted back"
    );
    let e = notify_with("topic = \"alerts\"", "topic = \"alerts/../x\"\npriority = 9\ncolour = \"red\"");
    assert!(e[0].contains("channel[2].topic: `alerts/../x` is not a topic"), "{e:?}");
    assert!(e[1].contains("channel[2].priority: must be between 1 and 5"), "{e:?}");
    assert!(e[2].contains("channel[2].colour: unknown field; expected one of: id, kind, events, rate_limit, url, topic, token, priority"), "{e:?}");
    let e = notify_with("chat_id = \"@ops_room\"", "chat_id = true");
    assert!(e[0].contains("channel[5].chat_id: expected a string, found boolean"), "{e:?}");
    let e = notify_with("bot_token = \"1:tg-secret-value\"", "bot_token = \"1/../tg\"");
    assert!(e[0].contains("channel[5].bot_token: is not a bot token"), "{e:?}");
}

#[test]
fn each_kind_names_what_it_requires() {
    let e = errors(
        "[page]\ntitle = \"x\"\n\
         [[channel]]\nid = \"a\"\nkind = \"webhook\"\n\
         [[channel]]\nid = \"b\"\nkind = \"slack\"\n\
         [[channel]]\nid = \"c\"\nkind = \"ntfy\"\n\
         [[channel]]\nid = \"d\"\nkind = \"pagerduty\"\n\
         [[channel]]\nid = \"e\"\nkind = \"opsgenie\"\n\
         [[channel]]\nid = \"f\"\nkind = \"telegram\"\n\
         [[channel]]\nkind = \"teams\"\nurl = \"http://127.0.0.1/\"\n\
         [[channel]]\nid = \"h\"\n",
    );
    let all = e.join("\n");
    for expected in [
        "channel[0].url: is required for kind \"webhook\"",
        "channel[1].url: is required for kind \"slack\": the webhook URL, or \"env:NAME\"",
        "channel[2].topic: is required for kind \"ntfy\"",
        "channel[3].routing_key: is required for kind \"pagerduty\"",
        "channel[4].api_key: is required for kind \"opsgenie\"",
        "channel[5].bot_token: is required for kind \"telegram\"",
        "channel[5].chat_id: is required for kind \"telegram\"",
        "channel[6].id: is required",
        "channel[7].kind: is required: one of webhook, slack",
    ] {
        assert!(all.contains(expected), "{expected}\n{all}");
    }
    assert_eq!(e.len(), 9, "{all}");
}

#[test]
fn a_private_component_hides_its_monitors_and_a_logo_is_found_beside_the_file() {
    let src = "[page]\ntitle = \"x\"\nlogo = \"img/logo.svg\"\n[[component]]\nid = \"vault\"\nname = \"Vault\"\npublic = false\n[[component]]\nid = \"web\"\nname = \"Web\"\n[[monitor]]\nid = \"a\"\nname = \"A\"\nkind = \"tcp\"\nhost = \"h\"\nport = 1\ncomponent = \"vault\"\n[[monitor]]\nid = \"b\"\nname = \"B\"\nkind = \"tcp\"\nhost = \"h\"\nport = 1\ncomponent = \"web\"\n";
    let c = Config::parse("/etc/upbeat/upbeat.toml", src).unwrap();
    assert!(!c.components[0].public && c.components[1].public);
    assert!(!c.monitors[0].public, "a monitor of a private component is private");
    assert!(c.monitors[1].public);
    assert_eq!(c.page.logo.as_deref(), Some("/etc/upbeat/img/logo.svg"));
    let absolute =
        Config::parse("/etc/upbeat/upbeat.toml", "[page]\ntitle = \"x\"\nlogo = \"/srv/logo.png\"\n").unwrap();
    assert_eq!(absolute.page.logo.as_deref(), Some("/srv/logo.png"));
    let e = errors("[page]\ntitle = \"x\"\nlogo = \"logo.bmp\"\n");
    assert_eq!(e, vec!["upbeat.toml:3:8: page.logo: must name a .svg, .png, .jpg, .webp, .gif or .ico file"]);
}

const BAD_ID: &str =
    "is not a valid id: use 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit";

#[test]
fn a_bad_id_is_one_error_and_the_kind_s_fields_are_still_checked() {
    let src = "[page]\ntitle = \"x\"\n\n\
               [[monitor]]\nid = \"Bad ID!\"\nname = \"Backup\"\nkind = \"heartbeat\"\ncron = \"30 2 * * *\"\ntime_zone = \"Europe/Berlin\"\ngrace = \"15m\"\ngracee = \"1h\"\n\
               [[monitor]]\nid = \"Push Me\"\nname = \"E2E\"\nkind = \"push\"\ntoken = \"push-token-0123456789\"\nheartbeat = \"10m\"\n";
    assert_eq!(
        errors(src),
        [
            format!("upbeat.toml:5:6: monitor[0].id: `Bad ID!` {BAD_ID}"),
            "upbeat.toml:11:1: monitor[0].gracee: unknown field; expected one of: id, name, kind, interval, timeout, confirm, recover, component, public, paused, channels, depends_on, renotify, period, cron, time_zone, grace, uuid, slug, max_duration, min_duration".to_owned(),
            format!("upbeat.toml:13:6: monitor[1].id: `Push Me` {BAD_ID}"),
        ]
    );
}

#[test]
fn duplicate_ids_are_reported_with_every_other_error_at_the_second_id() {
    let src = "[page]\ntitle = \"x\"\n\
               [[component]]\nid = \"api\"\nname = \"API\"\n\
               [[component]]\nid = \"api\"\n\
               [[channel]]\nid = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9000/hook\"\n\
               [[channel]]\nid = \"hook\"\nkind = \"slack\"\n\
               [[monitor]]\nid = \"db\"\nname = \"DB\"\nkind = \"tcp\"\nhost = \"h\"\nport = 0\n\
               [[monitor]]\nid = \"db\"\nname = \"DB again\"\nkind = \"tcp\"\nhost = \"h\"\nport = 5432\n";
    assert_eq!(
        errors(src),
        [
            "upbeat.toml:6:1: component[1].name: is required",
            "upbeat.toml:7:6: component[1].id: duplicate component id `api`, first on line 4",
            "upbeat.toml:12:1: channel[1].url: is required for kind \"slack\": the webhook URL, or \"env:NAME\" to read it from the environment",
            "upbeat.toml:13:6: channel[1].id: duplicate channel id `hook`, first on line 9",
            "upbeat.toml:20:8: monitor[0].port: must be between 1 and 65535",
            "upbeat.toml:22:6: monitor[1].id: duplicate monitor id `db`, first on line 16",
        ]
    );
}

#[test]
fn slugs_uuids_and_push_keys_are_unique_too_and_a_repeated_id_is_not_also_a_repeated_slug() {
    let uuid = "0d2a52a6-1f6c-4d6b-9c83-5f2b3a7d9e10";
    let src = format!(
        "[page]\ntitle = \"x\"\n\
         [[monitor]]\nid = \"backup\"\nname = \"B\"\nkind = \"heartbeat\"\nperiod = \"1d\"\nuuid = \"{uuid}\"\n\
         [[monitor]]\nid = \"nightly\"\nname = \"N\"\nkind = \"heartbeat\"\nperiod = \"1d\"\nslug = \"backup\"\nuuid = \"{}\"\n\
         [[monitor]]\nid = \"e2e\"\nname = \"E\"\nkind = \"push\"\ntoken = \"push-token-0123456789\"\n\
         [[monitor]]\nid = \"e2e-2\"\nname = \"E2\"\nkind = \"push\"\ntoken = \"push-token-0123456789\"\nkey = \"e2e\"\ngrace = \"1h\"\n\
         [[monitor]]\nid = \"backup\"\nname = \"B again\"\nkind = \"heartbeat\"\nperiod = \"1d\"\n",
        uuid.to_uppercase()
    );
    assert_eq!(
        errors(&src),
        [
            "upbeat.toml:14:8: monitor[1].slug: duplicate heartbeat slug `backup`, first on line 4 (a heartbeat's slug is its id unless `slug` is set)".to_owned(),
            format!("upbeat.toml:15:8: monitor[1].uuid: duplicate heartbeat uuid `{uuid}`, first on line 8"),
            "upbeat.toml:26:7: monitor[3].key: duplicate push key `e2e`, first on line 17 (a push monitor's key is its id unless `key` is set)".to_owned(),
            "upbeat.toml:27:1: monitor[3].grace: unknown field; expected one of: id, name, kind, interval, timeout, confirm, recover, component, public, paused, channels, depends_on, renotify, key, token, heartbeat".to_owned(),
            "upbeat.toml:29:6: monitor[4].id: duplicate monitor id `backup`, first on line 4".to_owned(),
        ]
    );
}

#[test]
fn a_wrong_kind_or_a_table_with_errors_makes_no_errors_elsewhere() {
    // A monitor or channel without a usable kind: one error for the kind, and only fields that no
    // kind takes are unknown.
    let e = errors(
        "[page]\ntitle = \"x\"\n\
         [[monitor]]\nid = \"a\"\nname = \"A\"\nkind = \"htp\"\nurl = \"http://h/\"\ncron = \"* * * * *\"\nurll = 1\n\
         [[monitor]]\nid = \"b\"\nname = \"B\"\nkind = 3\nhost = \"h\"\n\
         [[channel]]\nid = \"c\"\nkind = \"slak\"\nurl = \"http://h/\"\ntopic = \"t\"\n",
    );
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(e[0].starts_with("upbeat.toml:6:8: monitor[0].kind: unknown kind `htp`; expected \"http\""), "{e:#?}");
    assert!(e[1].starts_with("upbeat.toml:9:1: monitor[0].urll: unknown field; expected one of: id, name"), "{e:#?}");
    assert!(e[1].ends_with(", for, recover_for, json_path"), "{e:#?}");
    assert_eq!(e[2], "upbeat.toml:13:8: monitor[1].kind: expected a string, found integer");
    assert!(e[3].starts_with("upbeat.toml:17:8: channel[0].kind: unknown kind `slak`"), "{e:#?}");

    // A component, a monitor and an interval with errors of their own: naming the component or the
    // monitor is not an error, and the timeout is not measured against a default nobody wrote.
    let e = errors(
        "[page]\ntitle = \"x\"\n\
         [[component]]\nid = \"api\"\n\
         [[monitor]]\nid = \"db\"\nname = \"DB\"\nkind = \"tcp\"\nhost = \"h\"\nport = 0\ninterval = \"2 parsecs\"\ntimeout = \"90s\"\n\
         [[monitor]]\nid = \"web\"\nname = \"Web\"\nkind = \"tcp\"\nhost = \"h\"\nport = 80\ncomponent = \"api\"\ndepends_on = \"db\"\n",
    );
    assert_eq!(
        e,
        [
            "upbeat.toml:3:1: component[0].name: is required",
            "upbeat.toml:10:8: monitor[0].port: must be between 1 and 65535",
            "upbeat.toml:11:12: monitor[0].interval: `parsecs` is not a duration unit; use ms, s, m, h or d",
        ]
    );

    // A metric's `url` written wrong is its one error: `json_path` is not said to lack it.
    let e = errors(
        "[page]\ntitle = \"x\"\n[[monitor]]\nid = \"q\"\nname = \"Q\"\nkind = \"metric\"\ncondition = \"value > 1\"\nurl = \"ftp://h/\"\njson_path = \"a.b\"\n",
    );
    assert_eq!(e, ["upbeat.toml:8:7: monitor[0].url: `ftp://h/` must be an absolute http:// or https:// URL"]);
}
