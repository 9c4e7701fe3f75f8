//! What docs/DEPLOY.md tells an operator to install, checked: the systemd unit passes
//! `systemd-analyze verify` and runs the binary with its own command line (init, config check,
//! an admin token, serve, a backup while it runs, SIGTERM within `TimeoutStopSec`, a restore);
//! the nginx and Caddy examples pass their own checks; and nginx, configured by the example,
//! serves a real app's page and takes its pings over TLS, on loopback.
//!
//! The tools come from Debian (`scripts/install-test-deps` installs them). In CI (`CI=true`) a
//! missing tool fails the test; elsewhere the test says what it skipped and why.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{TestApp, eventually, free_port, http_client};

const BIN: &str = env!("CARGO_BIN_EXE_upbeat");
/// Where DEPLOY.md installs the binary, and so what the unit's `ExecStart` runs.
const INSTALLED: &str = "/usr/local/bin/upbeat";
const CONFIG: &str = "/etc/upbeat/upbeat.toml";
const DB: &str = "sqlite:///var/lib/upbeat/upbeat.db";
const HOST: &str = "status.example.com";
const UUID: &str = "0f3c9a2e-5b7d-4e1f-8a6c-2d4b6e8f0a1c";

fn contrib(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The tool's path. Missing, it fails the test in CI and skips it elsewhere, saying why.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    // Root's tools (nginx) are in sbin, which an ordinary user's PATH may lack.
    let found =
        path.split(':').chain(["/usr/sbin", "/sbin"]).map(|dir| Path::new(dir).join(name)).find(|p| p.is_file());
    if found.is_none() {
        let why = format!("`{name}` is not installed; scripts/install-test-deps installs it");
        assert!(std::env::var("CI").map_or(true, |ci| ci.is_empty() || ci == "false"), "{why}");
        eprintln!("skipped: {why}");
    }
    found
}

/// Replaces each `from` with its `to`, failing if the text does not have it (the example
/// changed and this test must follow).
fn substitute(text: &str, pairs: &[(&str, &str)]) -> String {
    let mut text = text.to_owned();
    for (from, to) in pairs {
        assert!(text.contains(from), "the example has `{from}`");
        text = text.replace(from, to);
    }
    text
}

/// The values of `key=` lines of a unit, in order; comments are not lines.
fn directive<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines().filter_map(|line| line.strip_prefix(key)?.strip_prefix('=')).collect()
}

fn output(command: &mut Command) -> (bool, String) {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A child process ended when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_units_pass_systemd_analyze_verify_and_upbeat_is_hardened() {
    let unit = contrib("upbeat.service");
    assert_eq!(directive(&unit, "ExecStart"), [format!("{INSTALLED} serve --config {CONFIG} --db {DB}")]);
    assert_eq!(directive(&unit, "CapabilityBoundingSet"), [""], "no capabilities unless ICMP needs them");
    let Some(analyze) = tool("systemd-analyze") else { return };
    // verify checks that ExecStart exists: point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let units = ["upbeat.service", "upbeat-backup.service", "upbeat-backup.timer"];
    for name in units {
        std::fs::write(dir.path().join(name), contrib(name).replace(INSTALLED, BIN)).unwrap();
    }
    let (ok, said) = output(Command::new(&analyze).arg("verify").args(units.map(|name| dir.path().join(name))));
    let about_ours: Vec<&str> = said.lines().filter(|l| l.contains("upbeat")).collect();
    assert!(ok && about_ours.is_empty(), "systemd-analyze verify:\n{said}");

    // The exposure score systemd computes from the sandboxing directives (0 is best, 10 worst).
    let path = dir.path().join("upbeat.service");
    let (_, said) = output(Command::new(&analyze).args(["security", "--offline=true", "--no-pager"]).arg(&path));
    let score: f64 = said
        .lines()
        .find_map(|l| l.split("Overall exposure level for upbeat.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("systemd-analyze security:\n{said}"));
    assert!(score <= 2.0, "exposure {score} > 2.0:\n{said}");
}

/// DEPLOY.md's steps with the unit's own command line, in a temporary root: what an operator
/// sees at each step.
#[tokio::test]
async fn the_units_command_line_serves_backs_up_stops_in_time_and_restores() {
    let unit = contrib("upbeat.service");
    let root = tempfile::tempdir().unwrap();
    let etc = root.path().join("etc/upbeat");
    let state = root.path().join("var/lib/upbeat");
    std::fs::create_dir_all(&state).unwrap();
    let config = etc.join("upbeat.toml");
    let db = format!("sqlite://{}", state.join("upbeat.db").display());
    let upbeat = |args: &[&str]| {
        let out = Command::new(BIN).args(args).stdin(Stdio::null()).env_remove("UPBEAT_DATABASE_URL").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "upbeat {args:?}: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    };
    let etc_arg = etc.display().to_string();
    let said =
        upbeat(&["init", "--dir", &etc_arg, "--title", "Acme status", "--base-url", "https://status.example.com/"]);
    assert!(said.contains("docs/DEPLOY.md"), "{said}");
    let config_arg = config.display().to_string();
    assert!(upbeat(&["config", "check", "--config", &config_arg]).contains(": ok ("));
    let admin = upbeat(&["token", "create", "--name", "admin", "--scope", "admin", "--db", &db]).trim().to_owned();
    assert!(upbeat(&["token", "list", "--db", &db]).lines().nth(1).is_some_and(|l| l.contains("admin")));

    // ExecStart as written, with this test's binary and paths; the port through UPBEAT_LISTEN
    // because the unit leaves it to the configuration (127.0.0.1:8080).
    let exec = directive(&unit, "ExecStart")[0].replace(INSTALLED, BIN).replace(CONFIG, &config_arg).replace(DB, &db);
    let words: Vec<&str> = exec.split_whitespace().collect();
    let start = |port: u16| {
        let mut serve = tokio::process::Command::new(words[0]);
        serve.args(&words[1..]).env("UPBEAT_LISTEN", format!("127.0.0.1:{port}")).stdin(Stdio::null());
        for assignment in directive(&unit, "Environment") {
            let (name, value) = assignment.split_once('=').unwrap();
            serve.env(name, value);
        }
        serve.stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true).spawn().unwrap()
    };
    let client = http_client();
    let healthy = |base: String| {
        let client = client.clone();
        async move {
            eventually("/health to answer ok", Duration::from_secs(15), || async {
                let response = client.get(format!("{base}/health")).send().await.ok()?;
                (response.status() == 200 && response.text().await.ok()? == r#"{"status":"ok"}"#).then_some(())
            })
            .await
        }
    };
    let port = free_port();
    let server = start(port);
    let base = format!("http://127.0.0.1:{port}");
    healthy(base.clone()).await;
    let tokens = client.get(format!("{base}/api/v1/tokens")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(tokens.status(), 200, "the admin token works");
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("upbeat_")), "{metrics}");

    // upbeat-backup.service's commands while it runs: a dated copy, owner-only; old ones pruned.
    let backups = root.path().join("var/backups/upbeat");
    std::fs::create_dir_all(&backups).unwrap();
    let old = backups.join("upbeat-2026-01-01T031500Z.db");
    std::fs::write(&old, "").unwrap();
    let month_ago = std::time::SystemTime::now() - Duration::from_secs(30 * 86_400);
    std::fs::File::options().write(true).open(&old).unwrap().set_modified(month_ago).unwrap();
    let backup_unit = contrib("upbeat-backup.service").replace("%%", "%");
    let local = |text: &str| {
        text.replace(INSTALLED, BIN).replace(DB, &db).replace("/var/backups/upbeat", &backups.display().to_string())
    };
    let script = directive(&backup_unit, "ExecStart")[0].split_once("-c '").unwrap().1.strip_suffix('\'').unwrap();
    let (ok, said) = output(Command::new("sh").arg("-c").arg(local(script)));
    assert!(ok && said.starts_with(&format!("wrote {}/upbeat-", backups.display())), "{said}");
    let prune = local(directive(&backup_unit, "ExecStartPost")[0]);
    let words: Vec<&str> = prune.split_whitespace().collect();
    let (ok, said) = output(Command::new(words[0]).args(&words[1..]));
    assert!(ok, "{said}");
    let copies: Vec<PathBuf> = std::fs::read_dir(&backups).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(copies.len(), 1, "the month-old copy is pruned, today's kept: {copies:?}");
    let copy = copies[0].clone();
    assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);
    let copy_arg = copy.display().to_string();
    let again = Command::new(BIN).args(["backup", "--to", &copy_arg, "--db", &db]).output().unwrap();
    assert_eq!(again.status.code(), Some(1), "an existing file is never overwritten");
    // Made after the backup, so gone once it is restored.
    let later = upbeat(&["token", "create", "--name", "later", "--db", &db]).trim().to_owned();

    // systemctl stop: SIGTERM, and an exit 0 within TimeoutStopSec.
    let stop_within = upbeat_core::duration::parse(directive(&unit, "TimeoutStopSec")[0]).unwrap();
    let stop = |mut server: tokio::process::Child| async move {
        let asked = Instant::now();
        let status = Command::new("kill").args(["-TERM", &server.id().unwrap().to_string()]).status().unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(stop_within, server.wait()).await.expect("stops within TimeoutStopSec");
        assert_eq!(exit.unwrap().code(), Some(0), "stopped in {:?}", asked.elapsed());
    };
    stop(server).await;

    // Restore: the copy in place of the database, the old file's -wal and -shm removed, start.
    std::fs::rename(&copy, state.join("upbeat.db")).unwrap();
    for stale in ["upbeat.db-wal", "upbeat.db-shm"] {
        let _ = std::fs::remove_file(state.join(stale));
    }
    let port = free_port();
    let server = start(port);
    let base = format!("http://127.0.0.1:{port}");
    healthy(base.clone()).await;
    for (token, expected) in [(&admin, 200), (&later, 401)] {
        let answer = client.get(format!("{base}/api/v1/tokens")).bearer_auth(token).send().await.unwrap();
        assert_eq!(answer.status(), expected, "the restored database has the tokens made before the backup only");
    }
    stop(server).await;
}

/// The page's configuration behind a proxy: `base_url` is the public https address.
fn proxied_config() -> String {
    format!(
        "[page]\ntitle = \"Proxied status\"\nbase_url = \"https://{HOST}/\"\n\n\
         [[monitor]]\nid = \"nightly\"\nname = \"Nightly job\"\nkind = \"heartbeat\"\nuuid = \"{UUID}\"\nperiod = \"1d\"\n"
    )
}

/// nginx's main configuration around the example's server blocks, as Debian's nginx.conf
/// includes a site, with everything it writes in `dir`.
fn nginx_main(dir: &Path, site: &Path) -> String {
    let d = dir.display();
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log stderr warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {};\n}}\n",
        site.display()
    )
}

#[tokio::test]
async fn nginx_with_the_example_serves_the_page_and_takes_pings_over_tls() {
    let (Some(nginx), Some(openssl)) = (tool("nginx"), tool("openssl")) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (ok, said) = output(
        Command::new(openssl)
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj"])
            .arg(format!("/CN={HOST}"))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    assert!(ok, "openssl: {said}");

    let app_dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&proxied_config(), &app_dir).await;
    let (http_port, https_port) = (free_port(), free_port());
    let upstream = format!("server {};", app.addr);
    let (http, https) = (format!("listen 127.0.0.1:{http_port};"), format!("listen 127.0.0.1:{https_port} ssl;"));
    let (cert_line, key_line) =
        (format!("ssl_certificate {};", cert.display()), format!("ssl_certificate_key {};", key.display()));
    let webroot = dir.path().join("www");
    std::fs::create_dir_all(webroot.join(".well-known/acme-challenge")).unwrap();
    std::fs::write(webroot.join(".well-known/acme-challenge/t0ken"), "t0ken.thumbprint").unwrap();
    let webroot_line = format!("root {};", webroot.display());
    let site = substitute(
        &contrib("nginx.conf"),
        &[
            ("server 127.0.0.1:8080;", &upstream),
            ("listen 80;", &http),
            ("listen [::]:80;", ""),
            ("listen 443 ssl;", &https),
            ("listen [::]:443 ssl;", ""),
            ("ssl_certificate /etc/letsencrypt/live/status.example.com/fullchain.pem;", &cert_line),
            ("ssl_certificate_key /etc/letsencrypt/live/status.example.com/privkey.pem;", &key_line),
            ("root /var/www/html;", &webroot_line),
        ],
    );
    let site_path = dir.path().join("upbeat.conf");
    std::fs::write(&site_path, site).unwrap();
    let main = dir.path().join("nginx.conf");
    std::fs::write(&main, nginx_main(dir.path(), &site_path)).unwrap();

    let (ok, said) = output(Command::new(&nginx).arg("-t").arg("-c").arg(&main).args(["-e", "stderr"]));
    assert!(ok && !said.contains("[warn]") && !said.contains("[emerg]"), "nginx -t:\n{said}");
    let _nginx = Killed(
        Command::new(&nginx)
            .arg("-c")
            .arg(&main)
            .args(["-e", "stderr"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .resolve(HOST, format!("127.0.0.1:{https_port}").parse().unwrap())
        .resolve(&format!("{HOST}:{http_port}"), format!("127.0.0.1:{http_port}").parse().unwrap())
        .tls_danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let public = format!("https://{HOST}:{https_port}");
    let page = eventually("the page through nginx", Duration::from_secs(15), || async {
        let response = client.get(format!("{public}/")).send().await.ok()?;
        (response.status() == 200).then_some(response.text().await.ok()?)
    })
    .await;
    assert!(page.contains("Proxied status"), "{page}");
    let health = client.get(format!("{public}/health")).send().await.unwrap();
    assert_eq!(health.text().await.unwrap(), r#"{"status":"ok"}"#);

    // Links come from base_url, not from the Host the request came with (which had a port).
    let feed = client.get(format!("{public}/feed.rss")).send().await.unwrap().text().await.unwrap();
    assert!(
        feed.contains(&format!("<link>https://{HOST}/</link>")) && !feed.contains(&format!("{HOST}:{https_port}")),
        "{feed}"
    );

    // Plain HTTP redirects to the configured name...
    let plain = client.get(format!("http://{HOST}:{http_port}/history?page=2")).send().await.unwrap();
    assert_eq!(plain.status(), 301);
    assert_eq!(plain.headers()["location"], format!("https://{HOST}/history?page=2").as_str());

    // except certbot's challenges, so renewals keep working.
    let challenge =
        client.get(format!("http://{HOST}:{http_port}/.well-known/acme-challenge/t0ken")).send().await.unwrap();
    assert_eq!((challenge.status().as_u16(), challenge.text().await.unwrap().as_str()), (200, "t0ken.thumbprint"));

    // A ping with a 300 kB log and a forged X-Forwarded-For: answered OK, the first 100 kB kept,
    // and the address recorded is the one nginx saw.
    let ping = client
        .post(format!("{public}/ping/{UUID}"))
        .header("x-forwarded-for", "203.0.113.7")
        .body("x".repeat(300_000))
        .send()
        .await
        .unwrap();
    assert_eq!((ping.status().as_u16(), ping.text().await.unwrap().as_str()), (200, "OK"));
    let (status, pings) = app.api("/api/v1/monitors/nightly/pings").await;
    assert_eq!(status, 200, "{pings}");
    let stored = &pings["pings"][0];
    assert_eq!(stored["remote_addr"], "127.0.0.1");
    assert_eq!(
        (stored["body"].as_str().unwrap().len(), &stored["body_truncated"]),
        (100_000, &serde_json::json!(true))
    );

    // The API through the proxy, with a token.
    let monitors = client.get(format!("{public}/api/v1/monitors")).bearer_auth(&app.read_token).send().await.unwrap();
    assert_eq!(monitors.status(), 200);
    app.stop().await;
}

#[test]
fn the_caddyfile_passes_caddy_validate() {
    let Some(caddy) = tool("caddy") else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Caddyfile");
    std::fs::write(&path, contrib("Caddyfile")).unwrap();
    // Caddy keeps its state under $HOME (XDG); validating writes nothing, but looks there.
    let (ok, said) = output(
        Command::new(caddy)
            .args(["validate", "--adapter", "caddyfile", "--config"])
            .arg(&path)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config")),
    );
    let complaints: Vec<&str> =
        said.lines().filter(|l| l.contains(r#""level":"warn""#) || l.contains(r#""level":"error""#)).collect();
    assert!(ok && said.contains("Valid configuration") && complaints.is_empty(), "caddy validate:\n{said}");
}
