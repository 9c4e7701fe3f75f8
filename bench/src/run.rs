//! The benchmark proper: for each N, start the target, write a config with N HTTP monitors, run
//! the release `upbeat serve` for a warm-up and a measured window, stop it with SIGTERM, and read
//! the figures from /proc, `/metrics` and the database it wrote.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use serde_json::json;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::child::{Helper, Upbeat, free_port, log_problems, tail};
use crate::procfs;

/// How long upbeat may take from start to answering `/metrics`.
const STARTUP_LIMIT: Duration = Duration::from_secs(120);
/// How long upbeat may take to stop after SIGTERM (checks in flight end within their timeout).
const STOP_LIMIT: Duration = Duration::from_secs(60);

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Numbers of monitors, one run each: `--monitors 1000 --monitors 10000` or `--monitors 1000,10000`.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000])]
    monitors: Vec<usize>,
    /// Every monitor's interval, in seconds.
    #[arg(long, default_value_t = 10)]
    interval: u64,
    /// Every monitor's timeout, in seconds.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
    /// Seconds between upbeat answering `/metrics` and the start of the measured window; longer
    /// than the interval, so every monitor has started.
    #[arg(long, default_value_t = 12)]
    warmup: u64,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// `[scheduler] concurrency` in the generated configuration.
    #[arg(long, default_value_t = 1024)]
    concurrency: usize,
    /// The target listens on 127.0.0.1 up to 127.0.0.K ...
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=250))]
    target_ips: u8,
    /// ... on this many ports each; monitors are spread over all of them round-robin.
    #[arg(long, default_value_t = 4)]
    ports_per_ip: usize,
    /// The upbeat binary [default: `upbeat` next to this binary, i.e. target/release/upbeat].
    #[arg(long)]
    upbeat: Option<PathBuf>,
    /// Keep each run's directory (configuration, database, upbeat's log) instead of removing it.
    #[arg(long)]
    keep: bool,
    /// Also write every run's figures, as JSON, to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// One run's figures.
struct Figures {
    monitors: usize,
    interval_s: u64,
    window_ms: i64,
    samples: usize,
    failures: usize,
    monitors_seen: usize,
    per_monitor_min: usize,
    per_monitor_max: usize,
    lateness_p50_ms: i64,
    lateness_p99_ms: i64,
    lateness_max_ms: i64,
    upbeat_cpu_cores: f64,
    target_cpu_cores: f64,
    machine_busy_cores: f64,
    peak_rss_kib: u64,
    batches: f64,
    batch_records: f64,
    skipped: f64,
    batches_total: f64,
    skipped_total: f64,
    time_wait_at_end: usize,
    failure_kinds: Vec<(String, String, i64)>,
    /// How upbeat ended after SIGTERM, e.g. `exit 0 in 0.1 s`.
    stop: String,
    stopped_cleanly: bool,
    /// `ERROR` and `WARN` lines in upbeat's log over the whole run.
    log_errors: usize,
    log_warnings: usize,
}

impl Figures {
    fn checks_per_s(&self) -> f64 {
        self.samples as f64 / (self.window_ms as f64 / 1000.0)
    }

    fn expected_per_s(&self) -> f64 {
        self.monitors as f64 / self.interval_s as f64
    }

    fn mean_batch(&self) -> f64 {
        if self.batches > 0.0 { self.batch_records / self.batches } else { 0.0 }
    }

    fn row(&self) -> String {
        format!(
            "| {} | {} s | {:.1} | {:.1} | {} | {} ms | {} ms | {} ms | {:.1} % ({:.2} cores) | {:.1} MiB | {} | {:.1} | {} | {:.1} % | {} |",
            thousands(self.monitors),
            self.interval_s,
            self.expected_per_s(),
            self.checks_per_s(),
            self.failures,
            self.lateness_p50_ms,
            self.lateness_p99_ms,
            self.lateness_max_ms,
            self.upbeat_cpu_cores * 100.0,
            self.upbeat_cpu_cores,
            self.peak_rss_kib as f64 / 1024.0,
            self.batches,
            self.mean_batch(),
            self.skipped,
            self.target_cpu_cores * 100.0,
            self.stop,
        )
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "monitors": self.monitors,
            "interval_s": self.interval_s,
            "window_ms": self.window_ms,
            "checks_per_s_expected": self.expected_per_s(),
            "checks_per_s": self.checks_per_s(),
            "samples": self.samples,
            "failures": self.failures,
            "monitors_seen": self.monitors_seen,
            "samples_per_monitor_min": self.per_monitor_min,
            "samples_per_monitor_max": self.per_monitor_max,
            "lateness_ms": {"p50": self.lateness_p50_ms, "p99": self.lateness_p99_ms, "max": self.lateness_max_ms},
            "upbeat_cpu_cores": self.upbeat_cpu_cores,
            "target_cpu_cores": self.target_cpu_cores,
            "machine_busy_cores": self.machine_busy_cores,
            "upbeat_peak_rss_kib": self.peak_rss_kib,
            "write_batches": self.batches,
            "write_batch_records": self.batch_records,
            "mean_batch_size": self.mean_batch(),
            "checks_skipped": self.skipped,
            "write_batches_since_start": self.batches_total,
            "checks_skipped_since_start": self.skipped_total,
            "tcp_time_wait_at_end": self.time_wait_at_end,
            "stop": self.stop,
            "stopped_cleanly": self.stopped_cleanly,
            "log_errors": self.log_errors,
            "log_warnings": self.log_warnings,
            "failure_kinds": self.failure_kinds.iter()
                .map(|(kind, message, n)| json!({"kind": kind, "message": message, "count": n}))
                .collect::<Vec<_>>(),
        })
    }
}

pub const HEADER: &str = "| monitors | interval | checks/s expected | checks/s measured | failures | lateness p50 | lateness p99 | lateness max | upbeat CPU | upbeat peak RSS | write batches | mean batch | skipped | target CPU | after SIGTERM |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";

pub fn main(args: RunArgs) -> anyhow::Result<()> {
    ensure!(args.interval >= 1, "--interval must be at least 1 s");
    ensure!((1..=args.interval).contains(&args.timeout), "--timeout must be between 1 s and the interval");
    ensure!(args.duration >= 1, "--duration must be at least 1 s");
    ensure!(args.ports_per_ip >= 1, "--ports-per-ip must be at least 1");
    ensure!(!args.monitors.is_empty() && !args.monitors.contains(&0), "--monitors must be positive");
    if args.warmup <= args.interval {
        eprintln!(
            "warning: a warm-up of {} s is not longer than the interval; some monitors may not have started",
            args.warmup
        );
    }
    let (me, upbeat) = crate::child::binaries(args.upbeat.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    println!("{HEADER}");
    let mut all = Vec::new();
    for &n in &args.monitors {
        let figures = runtime.block_on(run_one(&args, n, &me, &upbeat))?;
        println!("{}", figures.row());
        all.push(figures.to_json());
        if let Some(path) = &args.json {
            std::fs::write(path, serde_json::to_string_pretty(&all)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

async fn run_one(args: &RunArgs, n: usize, me: &Path, upbeat: &Path) -> anyhow::Result<Figures> {
    let dir = std::env::temp_dir().join(format!("upbeat-bench-{}-{n}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    eprintln!(
        "== {n} monitors, interval {} s, warm-up {} s, window {} s; files in {}",
        args.interval,
        args.warmup,
        args.duration,
        dir.display()
    );
    let result = measure(args, n, me, upbeat, &dir).await;
    if args.keep || !result.as_ref().is_ok_and(|f| f.stopped_cleanly && f.log_errors == 0) {
        eprintln!("   kept {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir)?;
    }
    result
}

async fn measure(args: &RunArgs, n: usize, me: &Path, upbeat: &Path, dir: &Path) -> anyhow::Result<Figures> {
    let lifetime = STARTUP_LIMIT + Duration::from_secs(args.warmup + args.duration) + STOP_LIMIT;
    let addrs: Vec<String> = (1..=args.target_ips)
        .flat_map(|host| (0..args.ports_per_ip).map(move |_| SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0))))
        .map(|a| a.to_string())
        .collect();
    let target = Helper::start(me, "target", &["--addrs".into(), addrs.join(",")], lifetime + Duration::from_secs(60))?;
    eprintln!("   target pid {} on {} addresses", target.pid(), target.addrs.len());

    let listen = free_port()?;
    let config = dir.join("bench.toml");
    std::fs::write(&config, config_text(n, args, listen, &target.addrs))?;
    let db_path = dir.join("bench.db");
    let log = dir.join("upbeat.log");
    let mut server = Upbeat::start(upbeat, &config, &format!("sqlite://{}", db_path.display()), &log, lifetime)?;
    eprintln!("   upbeat pid {} on {listen}", server.pid);

    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait()? {
            bail!("upbeat exited at startup ({status}); see {}:\n{}", log.display(), tail(&log));
        }
        if scrape(listen).await.is_ok() {
            break;
        }
        ensure!(started.elapsed() < STARTUP_LIMIT, "upbeat did not answer /metrics within {STARTUP_LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("   upbeat answered after {:.1} s; warming up for {} s", started.elapsed().as_secs_f64(), args.warmup);
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;

    let ticks = procfs::clock_ticks() as f64;
    let before = scrape(listen).await?;
    let (cpu0, target_cpu0) = (procfs::cpu_ticks(server.pid)?, procfs::cpu_ticks(target.pid())?);
    let machine0 = procfs::system_ticks()?;
    let (t0, clock0) = (unix_ms()?, Instant::now());
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let (cpu1, target_cpu1) = (procfs::cpu_ticks(server.pid)?, procfs::cpu_ticks(target.pid())?);
    let machine1 = procfs::system_ticks()?;
    let (t1, window) = (unix_ms()?, clock0.elapsed());
    let peak_rss_kib = procfs::status_kib(server.pid, "VmHWM")?;
    let after = scrape(listen).await?;
    let (established, time_wait, sockets) = procfs::tcp_states();
    eprintln!(
        "   window over; IPv4 TCP sockets: {sockets} ({established} established, {time_wait} TIME_WAIT); stopping upbeat"
    );

    // While it stops, `/metrics` is still served: its progress is printed every 5 s.
    let (stop, stopped_cleanly) = server
        .stop(STOP_LIMIT, async |since| {
            let progress = match scrape(listen).await {
                Ok(m) => [
                    "upbeat_checks_total{result=\"up\",error=\"\"}",
                    "upbeat_sample_queue_depth",
                    "upbeat_write_batch_size_count",
                ]
                .iter()
                .map(|name| format!("{name} {}", metric(&m, name).map_or("?".to_owned(), |v| v.to_string())))
                .collect::<Vec<_>>()
                .join(", "),
                Err(e) => format!("/metrics: {e:#}"),
            };
            eprintln!("   still stopping after {} s: {progress}", since.as_secs());
        })
        .await?;
    eprintln!("   upbeat: {stop}");
    drop(target);
    let (log_errors, log_warnings) = log_problems(&log);

    let window_s = window.as_secs_f64();
    let cores = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / ticks / window_s;
    let delta = |name: &str| -> anyhow::Result<f64> { Ok(metric(&after, name)? - metric(&before, name)?) };
    let mut figures = Figures {
        monitors: n,
        interval_s: args.interval,
        window_ms: t1 - t0,
        samples: 0,
        failures: 0,
        monitors_seen: 0,
        per_monitor_min: 0,
        per_monitor_max: 0,
        lateness_p50_ms: 0,
        lateness_p99_ms: 0,
        lateness_max_ms: 0,
        upbeat_cpu_cores: cores(cpu0, cpu1),
        target_cpu_cores: cores(target_cpu0, target_cpu1),
        // Everything the machine did, upbeat and the target included: more than their sum means
        // something else competed for the cores during the window.
        machine_busy_cores: cores(machine0.0, machine1.0),
        peak_rss_kib,
        batches: delta("upbeat_write_batch_size_count")?,
        batch_records: delta("upbeat_write_batch_size_sum")?,
        skipped: delta("upbeat_checks_skipped_total")?,
        batches_total: metric(&after, "upbeat_write_batch_size_count")?,
        skipped_total: metric(&after, "upbeat_checks_skipped_total")?,
        time_wait_at_end: time_wait,
        failure_kinds: Vec::new(),
        stop,
        stopped_cleanly,
        log_errors,
        log_warnings,
    };
    read_samples(&db_path, t0, t1, Duration::from_secs(args.interval), &mut figures).await?;
    eprintln!(
        "   CPU over the window: upbeat {:.2} cores, target {:.2} cores, whole machine {:.2} of {} cores busy",
        figures.upbeat_cpu_cores,
        figures.target_cpu_cores,
        figures.machine_busy_cores,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    eprintln!(
        "   {} samples from {} monitors ({}..{} each), {} failed; {} write batches, {} skipped since start",
        figures.samples,
        figures.monitors_seen,
        figures.per_monitor_min,
        figures.per_monitor_max,
        figures.failures,
        figures.batches_total,
        figures.skipped_total
    );
    for (kind, message, count) in &figures.failure_kinds {
        eprintln!("   failure: {count} x {kind}: {message}");
    }
    Ok(figures)
}

/// Reads the samples stamped inside `[t0, t1)` (Unix ms) from the database upbeat wrote.
async fn read_samples(db: &Path, t0: i64, t1: i64, interval: Duration, f: &mut Figures) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::new().filename(db);
    let mut conn =
        SqliteConnection::connect_with(&options).await.with_context(|| format!("cannot open {}", db.display()))?;
    let rows: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT monitor_id, at, up FROM samples WHERE at >= ?1 AND at < ?2")
            .bind(t0)
            .bind(t1)
            .fetch_all(&mut conn)
            .await?;
    f.failure_kinds = sqlx::query_as(
        "SELECT COALESCE(error_kind, ''), COALESCE(error_message, ''), COUNT(*) FROM samples \
         WHERE at >= ?1 AND at < ?2 AND up = 0 GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10",
    )
    .bind(t0)
    .bind(t1)
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;

    let interval_ms = interval.as_millis() as i64;
    let mut phases: HashMap<&str, i64> = HashMap::new();
    let mut per_monitor: HashMap<&str, usize> = HashMap::new();
    let mut lateness = Vec::with_capacity(rows.len());
    for (id, at, up) in &rows {
        let phase = *phases.entry(id).or_insert_with(|| upbeat::scheduler::phase(id, interval) as i64);
        // A check is stamped when it is dispatched: this is how long after its slot that was.
        lateness.push((at - phase).rem_euclid(interval_ms));
        *per_monitor.entry(id).or_default() += 1;
        if *up == 0 {
            f.failures += 1;
        }
    }
    lateness.sort_unstable();
    f.samples = rows.len();
    f.monitors_seen = per_monitor.len();
    f.per_monitor_min = per_monitor.values().copied().min().unwrap_or(0);
    f.per_monitor_max = per_monitor.values().copied().max().unwrap_or(0);
    f.lateness_p50_ms = nearest_rank(&lateness, 50.0);
    f.lateness_p99_ms = nearest_rank(&lateness, 99.0);
    f.lateness_max_ms = lateness.last().copied().unwrap_or(0);
    Ok(())
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `p` % of the
/// values at or below it.
fn nearest_rank(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn config_text(n: usize, args: &RunArgs, listen: SocketAddr, targets: &[SocketAddr]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Written by upbeat-bench: {n} HTTP monitors against a loopback target.\n\n\
         [page]\ntitle = \"upbeat-bench\"\nbase_url = \"http://{listen}/\"\n\n\
         [server]\nlisten = \"{listen}\"\n\n\
         [scheduler]\nconcurrency = {}\n",
        args.concurrency
    );
    for i in 0..n {
        let target = targets[i % targets.len()];
        let _ = writeln!(
            out,
            "[[monitor]]\nid = \"m{i:05}\"\nname = \"bench {i}\"\nkind = \"http\"\nurl = \"http://{target}/\"\n\
             interval = \"{}s\"\ntimeout = \"{}s\"\n",
            args.interval, args.timeout
        );
    }
    out
}

/// `GET /metrics` from upbeat, over a plain connection: the body.
async fn scrape(addr: SocketAddr) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(String::from_utf8(response)?)
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange).await.context("/metrics timed out")??;
    let (head, body) = response.split_once("\r\n\r\n").context("no response head from /metrics")?;
    ensure!(head.starts_with("HTTP/1.1 200"), "/metrics answered {}", head.lines().next().unwrap_or(""));
    Ok(body.to_owned())
}

/// The value of a metric in a Prometheus text exposition, by its exact name (labels included).
fn metric(exposition: &str, name: &str) -> anyhow::Result<f64> {
    exposition
        .lines()
        .filter_map(|line| line.split_once(' '))
        .find(|(key, _)| *key == name)
        .with_context(|| format!("no {name} in /metrics"))?
        .1
        .trim()
        .parse()
        .with_context(|| format!("{name} is not a number"))
}

fn unix_ms() -> anyhow::Result<i64> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64)
}

/// `12,345`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(nearest_rank(&values, 50.0), 50);
        assert_eq!(nearest_rank(&values, 99.0), 99);
        assert_eq!(nearest_rank(&values, 100.0), 100);
        assert_eq!(nearest_rank(&[7], 99.0), 7);
        assert_eq!(nearest_rank(&[], 50.0), 0);
    }

    #[test]
    fn metrics_are_found_by_exact_name() {
        let text = "# HELP x\nupbeat_write_batch_size_sum 12.5\nupbeat_write_batch_size_count 3\n";
        assert_eq!(metric(text, "upbeat_write_batch_size_count").unwrap(), 3.0);
        assert_eq!(metric(text, "upbeat_write_batch_size_sum").unwrap(), 12.5);
        assert!(metric(text, "upbeat_write_batch_size").is_err());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(999), "999");
    }
}
