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
            "upbeat.toml:3:1: page.colour: unknown field; expected one of: title, base_url, language, time_zone, feed_items",
            "upbeat.toml:9:7: monitor[0].url: `ftp://x` must be an absolute http:// or https:// URL",
            "upbeat.toml:10:12: monitor[0].interval: `parsecs` is not a duration unit; use ms, s, m, h or d",
            "upbeat.toml:11:11: monitor[0].confirm: expected an integer, found string",
            "upbeat.toml:12:1: monitor[0].host: unknown field; expected one of: id, name, kind, interval, timeout, confirm, recover, component, public, paused, url, method, headers, expected_status, body_contains, body_not_contains, follow_redirects",
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
