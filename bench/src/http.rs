//! `upbeat-bench http`: requests per second and latency of upbeat's public read path (`/`,
//! `/feed.rss`, `/api/v2/summary.json`) under `wrk`, next to `upbeat-bench static`, a server on
//! the same stack that answers a fixed 20-byte string: the ceiling on this machine.
//!
//! One run: start the loopback target (`upbeat-bench target`) for the HTTP monitors, write a
//! configuration with `--monitors` monitors over `--components` components, start the release
//! `upbeat serve` on a fresh database, wait for `/health`, create a write token with
//! `upbeat token create`, post one incident with two updates and one maintenance window through
//! `/api/v1`, wait until `/` shows them, then run `wrk --latency` against every path and against the
//! static server, and print one markdown table.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::child::{Helper, Upbeat, free_port, log_problems, tail};
use crate::procfs;
use crate::run::thousands;

/// How long upbeat may take from start to answering `/health`.
const STARTUP_LIMIT: Duration = Duration::from_secs(120);
/// How long the renderer may take to put the incident on the page.
const RENDER_LIMIT: Duration = Duration::from_secs(30);
/// How long upbeat may take to stop after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(30);
/// One request of the bench's own client (health, API, sizes).
const REQUEST_LIMIT: Duration = Duration::from_secs(10);

const INCIDENT_TITLE: &str = "Elevated error rates on the bench API";
const MAINTENANCE_TITLE: &str = "Bench database upgrade";

#[derive(clap::Args, Debug)]
pub struct HttpArgs {
    /// The upbeat binary [default: `upbeat` next to this binary, i.e. target/release/upbeat].
    #[arg(long)]
    upbeat: Option<PathBuf>,
    /// Length of each wrk run, in seconds.
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// wrk's open connections (`-c`), all keep-alive.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// wrk's threads (`-t`).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// HTTP monitors in the generated configuration, against the loopback target.
    #[arg(long, default_value_t = 20)]
    monitors: usize,
    /// Components the monitors are spread over (round-robin).
    #[arg(long, default_value_t = 4)]
    components: usize,
    /// Paths of upbeat to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = ["/".to_owned(), "/feed.rss".to_owned(), "/api/v2/summary.json".to_owned()])]
    paths: Vec<String>,
    /// Sent as `Accept-Encoding` with every request wrk makes (e.g. `br`, as browsers send it);
    /// none by default, so the identity bodies are measured.
    #[arg(long)]
    accept_encoding: Option<String>,
    /// Keep the run's directory (configuration, database, upbeat's log) instead of removing it.
    #[arg(long)]
    keep: bool,
}

pub fn main(args: HttpArgs) -> anyhow::Result<()> {
    ensure!(args.duration >= 1, "--duration must be at least 1 s");
    ensure!(args.threads >= 1, "--threads must be at least 1");
    ensure!(args.connections >= args.threads, "--connections must be at least --threads (wrk's rule)");
    ensure!(args.monitors >= 1 && args.components >= 1, "--monitors and --components must be positive");
    ensure!(args.paths.iter().all(|p| p.starts_with('/')), "every --paths entry must start with /");
    let (me, upbeat) = crate::child::binaries(args.upbeat.as_deref())?;
    ensure_wrk()?;

    let dir = std::env::temp_dir().join(format!("upbeat-bench-http-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    eprintln!("== upbeat-bench http: files in {}", dir.display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(run(&args, &me, &upbeat, &dir));
    match &result {
        Ok(clean) if *clean && !args.keep => std::fs::remove_dir_all(&dir)?,
        _ => eprintln!("   kept {}", dir.display()),
    }
    result.map(|_| ())
}

/// The whole run; whether upbeat stopped cleanly with no `ERROR` in its log.
async fn run(args: &HttpArgs, me: &Path, upbeat: &Path, dir: &Path) -> anyhow::Result<bool> {
    let runs = args.paths.len() as u64 + 1;
    let lifetime = STARTUP_LIMIT + RENDER_LIMIT + Duration::from_secs(runs * (args.duration + 15)) + STOP_LIMIT;

    let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).to_string();
    let target =
        Helper::start(me, "target", &["--addrs".to_owned(), any_port.clone()], lifetime + Duration::from_secs(60))?;
    let target_addr = *target.addrs.first().context("the target listens nowhere")?;
    let listen = free_port()?;
    let config = dir.join("bench.toml");
    std::fs::write(&config, config_text(args, listen, target_addr))?;
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let log = dir.join("upbeat.log");
    let mut server = Upbeat::start(upbeat, &config, &db, &log, lifetime)?;
    eprintln!("   upbeat pid {} on {listen}; {} monitors against {target_addr}", server.pid, args.monitors);

    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait()? {
            bail!("upbeat exited at startup ({status}); see {}:\n{}", log.display(), tail(&log));
        }
        if fetch(listen, "GET", "/health", &[], None).await.is_ok_and(|r| r.status == 200) {
            break;
        }
        ensure!(started.elapsed() < STARTUP_LIMIT, "upbeat did not answer /health within {STARTUP_LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("   /health answered 200 after {:.1} s", started.elapsed().as_secs_f64());

    let token = create_token(upbeat, &db)?;
    seed(listen, &token).await?;
    let seeded = Instant::now();
    loop {
        let page = fetch(listen, "GET", "/", &[], None).await?;
        let text = String::from_utf8_lossy(&page.body);
        if page.status == 200 && text.contains(INCIDENT_TITLE) && text.contains(MAINTENANCE_TITLE) {
            break;
        }
        ensure!(
            seeded.elapsed() < RENDER_LIMIT,
            "/ did not show the incident and the maintenance within {RENDER_LIMIT:?} (status {})",
            page.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("   / shows the incident and the maintenance after {:.2} s", seeded.elapsed().as_secs_f64());

    let mut rows = Vec::new();
    for path in &args.paths {
        eprintln!("-- upbeat {path}");
        rows.push(measure(args, &format!("`{path}`"), listen, path, server.pid, true).await);
    }

    let ceiling = {
        let static_server = Helper::start(me, "static", &["--listen".to_owned(), any_port], lifetime)?;
        let addr = *static_server.addrs.first().context("the static server listens nowhere")?;
        eprintln!("-- upbeat-bench static on {addr} (pid {})", static_server.child.id());
        measure(args, "`/` of `upbeat-bench static` (ceiling)", addr, "/", static_server.child.id(), false).await
    };

    let (stop, stopped_cleanly) = server.stop(STOP_LIMIT, async |_| {}).await?;
    eprintln!("   upbeat: {stop}");
    drop(target);
    let (errors, _) = log_problems(&log);

    println!(
        "{} connections, {} wrk threads, {} s per path; {} monitors over {} components, one open incident \
         (three updates), one scheduled maintenance\n",
        args.connections, args.threads, args.duration, args.monitors, args.components
    );
    println!("{HEADER}");
    let best = ceiling.wrk.as_ref().ok().map(|w| w.requests_per_s);
    for row in &rows {
        println!("{}", row.line(best));
    }
    println!("{}", ceiling.line(best));
    Ok(stopped_cleanly && errors == 0)
}

pub const HEADER: &str = "| path | requests/s | p50 | p99 | bytes per response | br | gzip | errors | vs ceiling |\n|---|---:|---:|---:|---:|---:|---:|---|---:|";

/// One path's figures, or why there are none.
struct Row {
    label: String,
    /// The status line of a plain GET when it was not `200`.
    refused: Option<String>,
    bytes: Option<usize>,
    br: Option<usize>,
    gzip: Option<usize>,
    wrk: anyhow::Result<Wrk>,
}

impl Row {
    fn line(&self, ceiling: Option<f64>) -> String {
        let size = |n: Option<usize>| n.map_or_else(|| "—".to_owned(), thousands);
        let (bytes, br, gzip) = (size(self.bytes), size(self.br), size(self.gzip));
        if let Some(status) = &self.refused {
            return format!(
                "| {} | answered {status}: not run | — | — | {bytes} | {br} | {gzip} | — | — |",
                self.label
            );
        }
        match &self.wrk {
            Ok(w) => {
                let share = ceiling
                    .filter(|c| *c > 0.0)
                    .map_or_else(|| "—".to_owned(), |c| format!("{:.0} %", w.requests_per_s / c * 100.0));
                format!(
                    "| {} | {} | {} | {} | {bytes} | {br} | {gzip} | {} | {share} |",
                    self.label,
                    thousands(w.requests_per_s.round() as usize),
                    ms(w.p50_ms),
                    ms(w.p99_ms),
                    w.errors()
                )
            }
            Err(e) => {
                format!("| {} | wrk failed: {} | — | — | {bytes} | {br} | {gzip} | — | — |", self.label, one_line(e))
            }
        }
    }
}

/// Sizes of `path` (plain, `br`, `gzip`), then wrk against it if it answers `200`, with the
/// server's CPU over the wrk run on stderr.
async fn measure(args: &HttpArgs, label: &str, addr: SocketAddr, path: &str, pid: u32, check: bool) -> Row {
    let mut row = Row {
        label: label.to_owned(),
        refused: None,
        bytes: None,
        br: None,
        gzip: None,
        wrk: Err(anyhow::anyhow!("not run")),
    };
    match fetch(addr, "GET", path, &[], None).await {
        Ok(r) if r.status == 200 => {
            row.bytes = Some(r.body.len());
            if check && !String::from_utf8_lossy(&r.body).contains(INCIDENT_TITLE) {
                eprintln!("   note: {path} does not mention the incident");
            }
        }
        Ok(r) => {
            eprintln!("   {path} answered {}; not running wrk against it", r.status_line);
            row.refused = Some(r.status_line);
            return row;
        }
        Err(e) => {
            row.refused = Some(format!("no answer ({})", one_line(&e)));
            return row;
        }
    }
    for (encoding, slot) in [("br", &mut row.br), ("gzip", &mut row.gzip)] {
        match fetch(addr, "GET", path, &[("Accept-Encoding", encoding)], None).await {
            Ok(r)
                if r.status == 200
                    && r.header("content-encoding").is_some_and(|e| e.eq_ignore_ascii_case(encoding)) =>
            {
                *slot = Some(r.body.len());
            }
            Ok(_) => {}
            Err(e) => eprintln!("   {path} with Accept-Encoding: {encoding}: {}", one_line(&e)),
        }
    }
    let ticks = procfs::clock_ticks() as f64;
    let cpu0 = procfs::cpu_ticks(pid).ok();
    let clock = Instant::now();
    row.wrk = run_wrk(args, &format!("http://{addr}{path}"));
    let window = clock.elapsed().as_secs_f64();
    if let (Some(a), Ok(b)) = (cpu0, procfs::cpu_ticks(pid)) {
        eprintln!("   server CPU over the run: {:.2} cores", b.saturating_sub(a) as f64 / ticks / window);
    }
    row
}

/// What wrk printed, parsed.
#[derive(Debug, PartialEq)]
struct Wrk {
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    /// connect, read, write, timeout
    socket_errors: [u64; 4],
}

impl Wrk {
    fn errors(&self) -> String {
        let mut parts = Vec::new();
        if self.non_2xx > 0 {
            parts.push(format!("{} non-2xx/3xx", self.non_2xx));
        }
        for (name, n) in ["connect", "read", "write", "timeout"].iter().zip(self.socket_errors) {
            if n > 0 {
                parts.push(format!("{n} {name}"));
            }
        }
        if parts.is_empty() { "0".to_owned() } else { parts.join(", ") }
    }
}

/// Runs wrk to its end; nothing else runs in this process meanwhile, so blocking is fine.
fn run_wrk(args: &HttpArgs, url: &str) -> anyhow::Result<Wrk> {
    eprintln!("   wrk -t{} -c{} -d{}s --latency {url}", args.threads, args.connections, args.duration);
    let mut wrk = Command::new("wrk");
    if let Some(encoding) = &args.accept_encoding {
        wrk.arg("-H").arg(format!("Accept-Encoding: {encoding}"));
    }
    let output = wrk
        .arg(format!("-t{}", args.threads))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-d{}s", args.duration))
        .arg("--latency")
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines().chain(String::from_utf8_lossy(&output.stderr).lines()) {
        eprintln!("   | {line}");
    }
    ensure!(output.status.success(), "wrk exited with {}", output.status);
    parse_wrk(&stdout)
}

fn parse_wrk(text: &str) -> anyhow::Result<Wrk> {
    let mut requests_per_s = None;
    let (mut p50_ms, mut p99_ms) = (None, None);
    let mut non_2xx = 0;
    let mut socket_errors = [0; 4];
    let mut in_distribution = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("Latency Distribution") {
            in_distribution = true;
        } else if let Some(rest) = line.strip_prefix("Requests/sec:") {
            requests_per_s = Some(rest.trim().parse::<f64>().context("Requests/sec")?);
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx = rest.trim().parse().context("Non-2xx or 3xx responses")?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // `connect 0, read 0, write 0, timeout 0`
            for (slot, part) in socket_errors.iter_mut().zip(rest.split(',')) {
                *slot = part.split_whitespace().nth(1).context("Socket errors")?.parse()?;
            }
        } else if in_distribution {
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["50%", value] => p50_ms = Some(wrk_ms(value)?),
                ["99%", value] => p99_ms = Some(wrk_ms(value)?),
                [p, _] if p.ends_with('%') => {}
                _ => in_distribution = false,
            }
        }
    }
    Ok(Wrk {
        requests_per_s: requests_per_s.context("no Requests/sec in wrk's output")?,
        p50_ms: p50_ms.context("no 50% line in wrk's latency distribution")?,
        p99_ms: p99_ms.context("no 99% line in wrk's latency distribution")?,
        non_2xx,
        socket_errors,
    })
}

/// One of wrk's durations (`512.00us`, `1.23ms`, `2.00s`, `1.00m`, `1.00h`) in milliseconds.
fn wrk_ms(value: &str) -> anyhow::Result<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic()).with_context(|| format!("no unit in {value:?}"))?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().with_context(|| format!("not a number: {value:?}"))?;
    let scale = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => bail!("unknown unit in {value:?}"),
    };
    Ok(number * scale)
}

/// Installs wrk from the distribution's packages when it is not on the PATH.
fn ensure_wrk() -> anyhow::Result<()> {
    if on_path("wrk") {
        return Ok(());
    }
    let install = || -> anyhow::Result<bool> {
        eprintln!("wrk is not installed; running `apt-get install -y wrk`");
        Ok(Command::new("apt-get")
            .args(["install", "-y", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(std::io::stderr())
            .status()
            .context("cannot run apt-get (install wrk yourself)")?
            .success())
    };
    if !install()? {
        eprintln!("apt-get install failed; running `apt-get update` and trying again");
        let _ = Command::new("apt-get").arg("update").stdin(Stdio::null()).stdout(std::io::stderr()).status();
        ensure!(install()?, "`apt-get install -y wrk` failed; install wrk yourself");
    }
    ensure!(on_path("wrk"), "wrk is still not on the PATH after `apt-get install -y wrk`");
    Ok(())
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

fn config_text(args: &HttpArgs, listen: SocketAddr, target: SocketAddr) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Written by upbeat-bench http: {} HTTP monitors over {} components against a loopback target.\n\n\
         [page]\ntitle = \"upbeat-bench\"\nbase_url = \"http://{listen}/\"\n\n\
         [server]\nlisten = \"{listen}\"\n",
        args.monitors, args.components
    );
    for c in 1..=args.components {
        let _ = writeln!(out, "[[component]]\nid = \"c{c}\"\nname = \"Component {c}\"\n");
    }
    for i in 0..args.monitors {
        let _ = writeln!(
            out,
            "[[monitor]]\nid = \"m{i:03}\"\nname = \"Monitor {i}\"\nkind = \"http\"\nurl = \"http://{target}/\"\n\
             interval = \"10s\"\ntimeout = \"5s\"\ncomponent = \"c{}\"\n",
            i % args.components + 1
        );
    }
    out
}

/// `upbeat token create --scope write` against the database upbeat serves.
fn create_token(upbeat: &Path, db: &str) -> anyhow::Result<String> {
    let output = Command::new(upbeat)
        .args(["token", "create", "--name", "upbeat-bench", "--scope", "write", "--db", db])
        .env_remove("UPBEAT_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .context("cannot run `upbeat token create`")?;
    ensure!(
        output.status.success(),
        "`upbeat token create` failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let token = String::from_utf8(output.stdout)?.trim().to_owned();
    ensure!(!token.is_empty(), "`upbeat token create` printed no token");
    Ok(token)
}

/// One incident (opened, then two updates) and one maintenance window a day ahead, through the
/// API, so the page and the feeds have something to show.
async fn seed(addr: SocketAddr, token: &str) -> anyhow::Result<()> {
    let incident = api(
        addr,
        token,
        "/api/v1/incidents",
        json!({
            "title": INCIDENT_TITLE,
            "status": "investigating",
            "impact": "minor",
            "message": "We are **investigating** elevated error rates on the API. Some requests fail with `503`.",
            "components": {"c1": "degraded_performance"},
        }),
    )
    .await?;
    let id = incident["id"].as_i64().context("no id in the created incident")?;
    let updates = [
        json!({
            "status": "identified",
            "message": "A bad deploy of the *router*; we are rolling it back.\n\n- API: partial outage\n- Web: unaffected",
            "components": {"c1": "partial_outage"},
        }),
        json!({
            "status": "monitoring",
            "message": "The rollback is done and error rates are back to normal. We are watching them.",
            "components": {"c1": "degraded_performance"},
        }),
    ];
    for update in updates {
        api(addr, token, &format!("/api/v1/incidents/{id}/updates"), update).await?;
    }
    let from = Utc::now() + chrono::Duration::days(1);
    let until = from + chrono::Duration::hours(2);
    api(
        addr,
        token,
        "/api/v1/maintenance",
        json!({
            "title": MAINTENANCE_TITLE,
            "message": "We will upgrade the **database**; the API may be slow for a few minutes.",
            "scheduled_for": from.to_rfc3339_opts(SecondsFormat::Secs, true),
            "scheduled_until": until.to_rfc3339_opts(SecondsFormat::Secs, true),
            "components": ["c2"],
        }),
    )
    .await?;
    eprintln!("   posted incident {id} (three updates) and one maintenance window");
    Ok(())
}

/// A `POST` to the API that must answer `201`; the JSON it answered.
async fn api(addr: SocketAddr, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let auth = format!("Bearer {token}");
    let body = body.to_string();
    let response =
        fetch(addr, "POST", path, &[("Authorization", &auth), ("Content-Type", "application/json")], Some(&body))
            .await?;
    ensure!(
        response.status == 201,
        "POST {path} answered {}: {}",
        response.status_line,
        String::from_utf8_lossy(&response.body)
    );
    Ok(serde_json::from_slice(&response.body)?)
}

/// One response, its body de-chunked but not decompressed.
struct Fetched {
    status: u16,
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 exchange on a new connection (`Connection: close`).
async fn fetch(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> anyhow::Result<Fetched> {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(request, "Content-Length: {}\r\n", body.len());
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(response)
    };
    let response =
        tokio::time::timeout(REQUEST_LIMIT, exchange).await.with_context(|| format!("{method} {path} timed out"))??;
    parse_response(&response).with_context(|| format!("{method} {path}"))
}

fn parse_response(response: &[u8]) -> anyhow::Result<Fetched> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").context("no complete response head")?;
    let head = std::str::from_utf8(&response[..end])?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line.get(9..12).context("no status code")?.parse()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    let mut fetched =
        Fetched { status, status_line: status_line.get(9..).unwrap_or_default().to_owned(), headers, body: Vec::new() };
    let rest = &response[end + 4..];
    fetched.body = if fetched.header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = fetched.header("content-length") {
        let length: usize = length.parse().context("bad Content-Length")?;
        ensure!(rest.len() >= length, "body shorter than its Content-Length");
        rest[..length].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(fetched)
}

fn dechunk(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").context("truncated chunk size")?;
        let line = std::str::from_utf8(&data[..line_end])?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or_default().trim(), 16)
            .with_context(|| format!("bad chunk size {line:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        ensure!(data.len() >= size + 2, "truncated chunk");
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn ms(value: f64) -> String {
    format!("{value:.2} ms")
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace(['\n', '|'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 5s test @ http://127.0.0.1:8080/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  456.78us  12.34ms   78.90%
    Req/Sec    25.00k     1.23k   28.00k    70.00%
  Latency Distribution
     50%  612.00us
     75%    1.50ms
     90%    2.00ms
     99%    1.02s
  250000 requests in 5.00s, 30.00MB read
  Non-2xx or 3xx responses: 12
  Socket errors: connect 0, read 3, write 0, timeout 1
Requests/sec:  49999.99
Transfer/sec:      6.00MB
";

    #[test]
    fn parses_wrk_output() -> anyhow::Result<()> {
        let w = parse_wrk(WRK)?;
        assert_eq!(w.requests_per_s, 49999.99);
        assert!((w.p50_ms - 0.612).abs() < 1e-9, "{}", w.p50_ms);
        assert!((w.p99_ms - 1020.0).abs() < 1e-9, "{}", w.p99_ms);
        assert_eq!(w.non_2xx, 12);
        assert_eq!(w.socket_errors, [0, 3, 0, 1]);
        assert_eq!(w.errors(), "12 non-2xx/3xx, 3 read, 1 timeout");
        assert!(parse_wrk("Requests/sec: 1\n").is_err());
        Ok(())
    }

    #[test]
    fn wrk_units() -> anyhow::Result<()> {
        assert_eq!(wrk_ms("250.00us")?, 0.25);
        assert_eq!(wrk_ms("3.00ms")?, 3.0);
        assert_eq!(wrk_ms("2.00s")?, 2000.0);
        assert_eq!(wrk_ms("1.00m")?, 60_000.0);
        assert!(wrk_ms("1.00").is_err());
        Ok(())
    }

    #[test]
    fn responses_are_dechunked_not_decompressed() -> anyhow::Result<()> {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: br\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n";
        let r = parse_response(chunked)?;
        assert_eq!(
            (r.status, r.body.as_slice(), r.header("content-encoding")),
            (200, &b"hello, world"[..], Some("br"))
        );
        let plain = b"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nabc";
        let r = parse_response(plain)?;
        assert_eq!((r.status, r.status_line.as_str(), r.body.len()), (404, "404 Not Found", 3));
        Ok(())
    }
}
