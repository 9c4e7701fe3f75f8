//! The binary as an operator runs it: config check, token create, list and revoke, serve and
//! SIGTERM, and a start refused on a database from a newer upbeat.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use upbeat_core::Config;
use upbeat_core::monitor::MonitorKind;

use crate::helpers::{Target, eventually, http_client};

const BIN: &str = env!("CARGO_BIN_EXE_upbeat");

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/upbeat.toml")
}

#[test]
fn the_example_config_is_valid_and_shows_every_kind_and_table() {
    let source = std::fs::read_to_string(example()).unwrap();
    let config = Config::parse("examples/upbeat.toml", &source).unwrap_or_else(|e| panic!("{e}"));
    for kind in ["http", "tcp", "dns", "tls", "icmp", "heartbeat", "push", "metric"] {
        assert!(config.monitors.iter().any(|m| m.kind.name() == kind), "the example shows a {kind} monitor");
    }
    assert!(config.monitors.iter().any(|m| matches!(&m.kind, MonitorKind::Http(h) if !h.conditions.is_empty())));
    assert!(config.monitors.iter().any(|m| m.paused) && config.monitors.iter().any(|m| !m.public));
    for table in ["[page]", "[server]", "[scheduler]", "[storage]", "[pings]", "[[component]]", "[[monitor]]"] {
        assert!(source.contains(table), "the example shows {table}");
    }
    for field in [
        "title",
        "base_url",
        "language",
        "time_zone",
        "feed_items",
        "logo",
        "listen",
        "concurrency",
        "retention",
        "group",
        "description",
        "interval",
        "timeout",
        "method",
        "headers",
        "expected_status",
        "body_contains",
        "follow_redirects",
        "confirm",
        "recover",
        "component",
        "public",
        "paused",
        "host",
        "port",
        "conditions",
        "query",
        "record_type",
        "resolver",
        "expect",
        "server_name",
        "expires_within",
        "count",
        "ping_key",
        "cron",
        "grace",
        "uuid",
        "slug",
        "max_duration",
        "min_duration",
        "period",
        "key",
        "token",
        "heartbeat",
        "condition",
        "window",
        "for",
        "recover_for",
    ] {
        assert!(source.contains(&format!("\n{field} = ")), "the example shows `{field}`");
    }

    let out = Command::new(BIN).args(["config", "check", "--config"]).arg(example()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_invalid_config_exits_2_with_one_line_per_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[page]\ntitle = \"x\"\nbase_url = \"nope\"\n\n[[monitor]]\nid = \"a\"\nname = \"A\"\nkind = \"tcp\"\nhost = \"h\"\nport = 0\ninterval = \"5 s\"\ntypo = 1\n").unwrap();
    for args in [vec!["config", "check"], vec!["serve"]] {
        let out = Command::new(BIN).args(&args).arg("--config").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("bad.toml:")).collect();
        assert_eq!(lines.len(), 3, "{stderr}");
        assert!(lines[0].contains("bad.toml:3:12: page.base_url:"), "{stderr}");
        assert!(lines[1].contains("bad.toml:10:8: monitor[0].port: must be between 1 and 65535"), "{stderr}");
        assert!(lines[2].contains("bad.toml:12:1: monitor[0].typo: unknown field"), "{stderr}");
    }
    let missing = Command::new(BIN).args(["config", "check", "--config", "/nonexistent/upbeat.toml"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/upbeat.toml"));
}

#[test]
fn init_writes_a_valid_starter_once_and_serve_without_a_config_points_at_it() {
    let dir = tempfile::tempdir().unwrap();
    // In a directory without a configuration, serve says how to make one.
    let out = Command::new(BIN).arg("serve").current_dir(dir.path()).env_remove("UPBEAT_CONFIG").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read upbeat.toml") && stderr.contains("upbeat init"), "{stderr}");

    let target = dir.path().join("site");
    let init = |extra: &[&str]| {
        Command::new(BIN)
            .args(["init", "--dir"])
            .arg(&target)
            .args(["--title", "Acme status", "--base-url", "https://status.acme.test/"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = init(&["--url", "https://acme.test/health"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let written = target.join("upbeat.toml");
    assert!(stdout.contains(&format!("wrote {}", written.display())), "{stdout}");
    assert!(stdout.contains(&format!("upbeat serve --config {}", written.display())), "{stdout}");

    let text = std::fs::read_to_string(&written).unwrap();
    let config = Config::parse("upbeat.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (config.page.title.as_str(), config.page.base_url.as_str()),
        ("Acme status", "https://status.acme.test/")
    );
    let MonitorKind::Http(http) = &config.monitors[0].kind else { panic!("an HTTP monitor") };
    assert_eq!(http.url.to_string(), "https://acme.test/health");
    assert!(config.channels.is_empty());
    let check = Command::new(BIN).args(["config", "check", "--config"]).arg(&written).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    // A second init changes nothing; a bad URL writes nothing.
    let again = init(&["--url", "https://other.test/"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&written).unwrap(), text);
    std::fs::remove_file(&written).unwrap();
    let bad = init(&["--url", "ftp://acme.test/"]);
    assert_eq!(bad.status.code(), Some(1), "{}", String::from_utf8_lossy(&bad.stderr));
    assert!(!written.exists());
}

#[test]
fn token_create_prints_the_token_alone_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let out =
        Command::new(BIN).args(["token", "create", "--name", "ci", "--scope", "write", "--db", &db]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let token = stdout.trim();
    assert!(token.starts_with("upb_") && token.len() == 68, "{token}");
    let file = std::fs::read(dir.path().join("t.db")).unwrap();
    let wal = std::fs::read(dir.path().join("t.db-wal")).unwrap_or_default();
    let needle = token.as_bytes();
    assert!(
        !file.windows(needle.len()).chain(wal.windows(needle.len())).any(|w| w == needle),
        "the token itself is not stored"
    );

    let bad =
        Command::new(BIN).args(["token", "create", "--name", "x", "--scope", "root", "--db", &db]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a scope"));
}

#[tokio::test]
async fn serve_stops_on_sigterm_with_exit_0_and_keeps_its_samples() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("upbeat.toml");
    std::fs::write(
        &config,
        format!(
            "[page]\ntitle = \"t\"\n[[monitor]]\nid = \"web\"\nname = \"web\"\nkind = \"http\"\nurl = \"{}\"\ninterval = \"1s\"\n",
            target.url("/")
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db", &db, "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = http_client();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    eventually("two checks to have run", Duration::from_secs(15), || async {
        let text = client.get(&metrics).send().await.ok()?.text().await.ok()?;
        let up: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("upbeat_checks_total{result=\"up\",error=\"\"} "))?
            .parse()
            .ok()?;
        (up >= 2).then_some(())
    })
    .await;
    let status = Command::new("kill").args(["-TERM", &child.id().unwrap().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("exits after SIGTERM").unwrap();
    assert_eq!(exit.code(), Some(0));

    let store = upbeat_store::open(&db).await.unwrap();
    let id = upbeat_core::MonitorId::parse("web").unwrap();
    assert!(store.recent_samples(&id, 10).await.unwrap().len() >= 2, "the samples were written before exit");
}

/// `config check` run as `nobody` (via util-linux's `setpriv`; CI runs as root) says whether ICMP
/// monitors can work for that user, with what to do about it, instead of failing at 3 a.m.
#[test]
fn config_check_says_when_icmp_is_not_permitted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("upbeat");
    std::fs::copy(BIN, &bin).unwrap();
    let config = dir.path().join("upbeat.toml");
    std::fs::write(
        &config,
        "[page]\ntitle = \"t\"\n\n[[monitor]]\nid = \"gw\"\nname = \"gw\"\nkind = \"icmp\"\nhost = \"127.0.0.1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .expect("setpriv (util-linux) runs the check as nobody");
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let bounds: Vec<u64> = range.split_whitespace().map(|n| n.parse().unwrap()).collect();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if (bounds[0]..=bounds[1]).contains(&65534) {
        assert!(out.status.success(), "nobody may ping here: {stderr}");
    } else {
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("upbeat.toml:7:1: monitor[0].kind: ICMP sockets are not permitted for this user"),
            "{stderr}"
        );
        assert!(stderr.contains("ping_group_range") && stderr.contains("CAP_NET_RAW"), "{stderr}");
    }
}

fn upbeat(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

#[test]
fn token_list_shows_prefixes_and_revoke_takes_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let create = |name: &str, scope: &str| {
        let out = upbeat(&["token", "create", "--name", name, "--scope", scope, "--db", &db]);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let ci_write = create("ci", "write");
    let ci_read = create("ci", "read");
    let deploy = create("deploy", "admin");

    let table = String::from_utf8(upbeat(&["token", "list", "--db", &db]).stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("ID  NAME") && lines[0].contains("PREFIX") && lines[0].contains("LAST USED"));
    for (line, token) in lines[1..].iter().zip([&ci_write, &ci_read, &deploy]) {
        assert!(line.contains(&token[..12]) && line.ends_with("never"), "{line}");
        assert!(!table.contains(token.as_str()), "the token itself is never printed");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&upbeat(&["token", "list", "--format", "json", "--db", &db]).stdout).unwrap();
    assert_eq!(json["tokens"][2]["name"], "deploy");
    assert_eq!(json["tokens"][2]["scope"], "admin");
    assert_eq!(json["tokens"][2]["prefix"], &deploy[..12]);

    // A name two tokens share, or one nobody has, revokes nothing and says so on one line.
    for (label, says) in [("ci", "2 tokens match `ci`"), ("nobody", "no token is named or prefixed `nobody`")] {
        let out = upbeat(&["token", "revoke", label, "--db", &db]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
    let listed = |db: &str| String::from_utf8(upbeat(&["token", "list", "--db", db]).stdout).unwrap();
    assert_eq!(listed(&db).lines().count(), 4, "nothing was revoked");

    // The prefix picks one; then the name is unambiguous.
    let out = upbeat(&["token", "revoke", &ci_read[..12], "--db", &db]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout).unwrap().contains(&ci_read[..12]));
    let out = upbeat(&["token", "revoke", "ci", "--db", &db]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let left = listed(&db);
    assert_eq!(left.lines().count(), 2, "{left}");
    assert!(left.contains(&deploy[..12]) && !left.contains(&ci_write[..12]) && !left.contains(&ci_read[..12]));
}

/// Start-up migrates a database an older upbeat left; one a newer upbeat left (a schema version
/// this binary does not have) is refused at start with one line naming both versions, and left
/// untouched.
#[tokio::test]
async fn serve_refuses_a_database_from_a_newer_upbeat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upbeat.db");
    let db = format!("sqlite://{}", path.display());
    let config = dir.path().join("upbeat.toml");
    std::fs::write(&config, "[page]\ntitle = \"t\"\n").unwrap();
    drop(upbeat_store::open(&db).await.unwrap());
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let known: i64 = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(&pool).await.unwrap();
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_a_newer_upbeat', 0)")
        .bind(known + 1)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db", &db, "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("schema version {}", known + 1)), "{stderr}");
    assert!(stderr.contains(&format!("knows up to {known}")), "{stderr}");
    let token = upbeat(&["token", "create", "--name", "x", "--db", &db]);
    assert_eq!(token.status.code(), Some(1), "every command refuses it");
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens").fetch_one(&pool).await.unwrap();
    assert_eq!(tokens, 0, "nothing was written");
}

#[test]
fn config_check_reports_a_bad_id_and_a_repeated_one_once_each_beside_other_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.toml");
    std::fs::write(
        &path,
        "[page]\ntitle = \"x\"\n\n\
         [[monitor]]\nid = \"Bad ID!\"\nname = \"Backup\"\nkind = \"heartbeat\"\ncron = \"30 2 * * *\"\ngracee = \"1h\"\n\n\
         [[monitor]]\nid = \"db\"\nname = \"DB\"\nkind = \"tcp\"\nhost = \"h\"\nport = 0\n\n\
         [[monitor]]\nid = \"db\"\nname = \"DB again\"\nkind = \"tcp\"\nhost = \"h\"\nport = 5432\n",
    )
    .unwrap();
    let file = path.display().to_string();
    let expected = [
        format!(
            "{file}:5:6: monitor[0].id: `Bad ID!` is not a valid id: use 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit"
        ),
        format!(
            "{file}:9:1: monitor[0].gracee: unknown field; expected one of: id, name, kind, interval, timeout, confirm, recover, component, public, paused, channels, depends_on, renotify, period, cron, time_zone, grace, uuid, slug, max_duration, min_duration"
        ),
        format!("{file}:16:8: monitor[1].port: must be between 1 and 65535"),
        format!("{file}:19:6: monitor[2].id: duplicate monitor id `db`, first on line 12"),
    ];
    let out = Command::new(BIN).args(["config", "check", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected, "{stderr}");
    // `serve` refuses the same file with the same lines, among whatever else it logs.
    let out = Command::new(BIN).args(["serve", "--config"]).arg(&path).env_remove("RUST_LOG").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().filter(|l| l.starts_with(&file)).collect::<Vec<_>>(), expected, "{stderr}");
}
