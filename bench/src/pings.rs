//! `upbeat-bench pings`: how many heartbeat pings one upbeat process takes per second, and how
//! long each waits for its answer (which comes only once the ping is committed).
//!
//! For each number of checks it writes a configuration with that many heartbeat monitors (fixed
//! uuids), starts the release `upbeat serve` on a fresh database, and runs a load generator in this
//! process: `--connections` keep-alive HTTP/1.1 connections, each sending `GET /ping/<uuid>` for
//! the next check in turn and waiting for `200 OK` before the next. Latency is measured per
//! request, from writing it to reading the whole answer.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::procfs;

#[derive(clap::Args, Debug)]
pub struct PingArgs {
    /// Numbers of distinct checks, one run each: `--checks 1,10000`.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 10_000])]
    checks: Vec<usize>,
    /// Concurrent keep-alive connections of the load generator.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of warm-up (not measured) before the measured window.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// The upbeat binary [default: `upbeat` next to this binary, i.e. target/release/upbeat].
    #[arg(long)]
    upbeat: Option<PathBuf>,
}

pub const HEADER: &str = "| checks | connections | pings/s | p50 | p99 | max | errors | upbeat CPU | upbeat peak RSS | pings stored |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

pub fn main(args: PingArgs) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let upbeat = match &args.upbeat {
        Some(path) => path.clone(),
        None => me.with_file_name("upbeat"),
    };
    ensure!(
        upbeat.exists(),
        "no upbeat binary at {}: build it with `cargo build --release -p upbeat`",
        upbeat.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!("{HEADER}");
    for &n in &args.checks {
        let row = runtime.block_on(run_one(&args, n, &upbeat))?;
        println!("{row}");
    }
    Ok(())
}

/// The uuid of check `i`: fixed, so runs are comparable.
fn uuid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

fn config_text(n: usize, listen: SocketAddr) -> String {
    let mut text = format!("[page]\ntitle = \"bench\"\n\n[server]\nlisten = \"{listen}\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "\n[[monitor]]\nid = \"h{i:05}\"\nname = \"h{i:05}\"\nkind = \"heartbeat\"\nuuid = \"{}\"\nperiod = \"1h\"\n",
            uuid(i)
        ));
    }
    text
}

async fn run_one(args: &PingArgs, n: usize, upbeat: &Path) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let listen: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?
    };
    let config = dir.path().join("bench.toml");
    std::fs::write(&config, config_text(n, listen))?;
    let db = dir.path().join("bench.db");
    let log = std::fs::File::create(dir.path().join("upbeat.log"))?;
    let mut child = Command::new("timeout")
        .args(["-s", "KILL", "600"])
        .arg(upbeat)
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start upbeat")?;
    let result = measure(args, n, listen, &child).await;
    let _ = Command::new("kill").args(["-TERM", &upbeat_pid(child.id()).to_string()]).status();
    let _ = child.wait();
    // Counted after upbeat has stopped: every answered ping must be there.
    Ok(format!("{} {} |", result?, count_pings(&db).await?))
}

/// `timeout` runs upbeat as its child: the pid whose CPU and memory count.
fn upbeat_pid(timeout_pid: u32) -> u32 {
    procfs::children(timeout_pid).first().copied().unwrap_or(timeout_pid)
}

async fn measure(args: &PingArgs, n: usize, listen: SocketAddr, child: &std::process::Child) -> anyhow::Result<String> {
    let started = Instant::now();
    loop {
        if TcpStream::connect(listen).await.is_ok() {
            break;
        }
        ensure!(started.elapsed() < Duration::from_secs(120), "upbeat did not start listening on {listen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = upbeat_pid(child.id());

    let next = Arc::new(AtomicUsize::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (next, measuring, stop) = (Arc::clone(&next), Arc::clone(&measuring), Arc::clone(&stop));
        workers.push(tokio::spawn(async move { pinger(listen, n, next, measuring, stop).await }));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let ticks = procfs::clock_ticks() as f64;
    let cpu0 = procfs::cpu_ticks(pid)?;
    let t0 = Instant::now();
    measuring.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    measuring.store(false, Ordering::SeqCst);
    let window = t0.elapsed().as_secs_f64();
    let cpu1 = procfs::cpu_ticks(pid)?;
    let rss = procfs::status_kib(pid, "VmHWM")?;
    stop.store(true, Ordering::SeqCst);
    let mut latencies = Vec::new();
    let mut errors = 0usize;
    for worker in workers {
        let (mut l, e) = worker.await?;
        latencies.append(&mut l);
        errors += e;
    }
    ensure!(!latencies.is_empty(), "no ping was answered");
    latencies.sort_unstable();
    let rank = |p: f64| latencies[((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1];
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    Ok(format!(
        "| {} | {} | {:.0} | {} | {} | {} | {} | {:.0} % | {:.1} MiB |",
        n,
        args.connections,
        latencies.len() as f64 / window,
        ms(rank(0.50)),
        ms(rank(0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
        errors,
        (cpu1 - cpu0) as f64 / ticks / window * 100.0,
        rss as f64 / 1024.0,
    ))
}

/// One keep-alive connection pinging checks in turn; the latencies measured and the errors.
async fn pinger(
    addr: SocketAddr,
    n: usize,
    next: Arc<AtomicUsize>,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut buf = vec![0u8; 4096];
    'connect: while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed) % n;
            let request = format!("GET /ping/{} HTTP/1.1\r\nHost: bench\r\n\r\n", uuid(i));
            let sent = Instant::now();
            if stream.write_all(request.as_bytes()).await.is_err() {
                errors += 1;
                continue 'connect;
            }
            match read_response(&mut stream, &mut buf).await {
                Ok(200) => {
                    if measuring.load(Ordering::Relaxed) {
                        latencies.push(sent.elapsed());
                    }
                }
                Ok(_) => errors += 1,
                Err(_) => {
                    errors += 1;
                    continue 'connect;
                }
            }
        }
    }
    (latencies, errors)
}

/// Reads one response with a `Content-Length` body; its status code.
async fn read_response(stream: &mut TcpStream, buf: &mut [u8]) -> anyhow::Result<u16> {
    let mut filled = 0;
    loop {
        let read = stream.read(&mut buf[filled..]).await?;
        if read == 0 {
            bail!("closed");
        }
        filled += read;
        let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") else {
            ensure!(filled < buf.len(), "response head too long");
            continue;
        };
        let head = std::str::from_utf8(&buf[..end])?;
        let status: u16 = head.get(9..12).context("no status")?.parse()?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut have = filled - end - 4;
        while have < length {
            let read = stream.read(&mut buf[..]).await?;
            if read == 0 {
                bail!("closed in the body");
            }
            have += read;
        }
        return Ok(status);
    }
}

async fn count_pings(db: &Path) -> anyhow::Result<i64> {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(db).read_only(true);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await?;
    Ok(sqlx::query_scalar("SELECT count(*) FROM pings").fetch_one(&mut conn).await?)
}
