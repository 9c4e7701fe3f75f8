//! `upbeat-bench outbox`: one incident update fanned out to N subscribers and drained into a
//! real SMTP sink and a real webhook receiver on loopback.
//!
//! N confirmed subscribers (a share of them webhooks, the rest email) are written straight into
//! a fresh database; the release `upbeat serve` starts on it; one incident is opened through the
//! API. Reported: how long until every delivery was enqueued (the fan-out), how long until every
//! message arrived, the delivery rate, and upbeat's CPU time and peak RSS. The sink and the
//! receiver run in this process, on the same two cores.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use sqlx::sqlite::SqliteConnectOptions;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use upbeat_testkit::smtp::{SinkOptions, SmtpSink};

use crate::procfs;

#[derive(clap::Args, Debug)]
pub struct OutboxArgs {
    /// Confirmed subscribers the incident update goes to.
    #[arg(long, default_value_t = 100_000)]
    subscribers: usize,
    /// Every k-th subscriber is a webhook; the others are email.
    #[arg(long, default_value_t = 2)]
    webhook_every: usize,
    /// The upbeat binary [default: `upbeat` next to this binary, i.e. target/release/upbeat].
    #[arg(long)]
    upbeat: Option<PathBuf>,
}

pub const HEADER: &str = "| subscribers | email / webhook | enqueued in | all delivered in | deliveries/s | upbeat CPU | upbeat peak RSS | sent / dead / pending |\n|---:|---:|---:|---:|---:|---:|---:|---:|";

pub fn main(args: OutboxArgs) -> anyhow::Result<()> {
    let upbeat = match &args.upbeat {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("upbeat"),
    };
    ensure!(
        upbeat.exists(),
        "no upbeat binary at {}: build it with `cargo build --release -p upbeat`",
        upbeat.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let row = runtime.block_on(run(&args, &upbeat))?;
    println!("{HEADER}\n{row}");
    Ok(())
}

async fn run(args: &OutboxArgs, upbeat: &Path) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let sink = SmtpSink::start(SinkOptions::default()).await?;
    let (hook_addr, hooks) = receiver().await?;
    let listen: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[page]\ntitle = \"bench\"\nbase_url = \"https://status.bench.test/\"\n\n[server]\nlisten = \"{listen}\"\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {}\nfrom = \"status@bench.test\"\ntls = \"none\"\n",
            sink.addr().port()
        ),
    )?;
    let db = dir.path().join("bench.db");
    let db_url = format!("sqlite://{}", db.display());
    let token = seed(&db_url, args, hook_addr).await?;
    let emails = (0..args.subscribers).filter(|i| i % args.webhook_every != 0).count();
    let webhooks = args.subscribers - emails;
    println!("seeded {} subscribers ({emails} email, {webhooks} webhook) into {}", args.subscribers, db.display());

    let log = std::fs::File::create(dir.path().join("upbeat.log"))?;
    let mut child = Command::new("timeout")
        .args(["-s", "KILL", "900"])
        .arg(upbeat)
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start upbeat")?;
    let started = Instant::now();
    while TcpStream::connect(listen).await.is_err() {
        ensure!(started.elapsed() < Duration::from_secs(60), "upbeat did not start listening on {listen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = procfs::children(child.id()).first().copied().unwrap_or(child.id());
    let cpu0 = procfs::cpu_ticks(pid)?;

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let t0 = Instant::now();
    let response = client
        .post(format!("http://{listen}/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "Database failover", "message": "Writes are **failing**; we are on it."}))
        .send()
        .await?;
    ensure!(response.status().as_u16() == 201, "opening the incident: {}", response.status());

    let pool = sqlx::SqlitePool::connect_with(SqliteConnectOptions::new().filename(&db).read_only(true)).await?;
    let mut enqueued = None;
    let delivered = loop {
        let arrived = sink.count() + hooks.load(Ordering::SeqCst);
        if enqueued.is_none() {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries").fetch_one(&pool).await?;
            if n as usize >= args.subscribers {
                enqueued = Some(t0.elapsed());
            }
        }
        if arrived >= args.subscribers {
            break t0.elapsed();
        }
        ensure!(
            t0.elapsed() < Duration::from_secs(600),
            "only {arrived} of {} arrived in 10 minutes",
            args.subscribers
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let enqueued = enqueued.unwrap_or(delivered);
    // The last rows are marked sent just after their messages arrive.
    let settle = Instant::now();
    let stats = loop {
        let (sent, dead, pending): (i64, i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(status = 'sent'), 0), COALESCE(SUM(status = 'dead'), 0), COALESCE(SUM(status = 'pending'), 0) FROM deliveries",
        )
        .fetch_one(&pool)
        .await?;
        if pending == 0 || settle.elapsed() > Duration::from_secs(10) {
            break (sent, dead, pending);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let cpu = (procfs::cpu_ticks(pid)? - cpu0) as f64 / procfs::clock_ticks() as f64;
    let peak = procfs::status_kib(pid, "VmHWM")? as f64 / 1024.0;
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = child.wait();
    let duplicates = sink.count() + hooks.load(Ordering::SeqCst) - args.subscribers;
    ensure!(duplicates == 0, "{duplicates} messages arrived twice");
    Ok(format!(
        "| {} | {emails} / {webhooks} | {:.2} s | {:.2} s | {:.0} | {cpu:.1} s | {peak:.1} MiB | {} / {} / {} |",
        args.subscribers,
        enqueued.as_secs_f64(),
        delivered.as_secs_f64(),
        args.subscribers as f64 / delivered.as_secs_f64(),
        stats.0,
        stats.1,
        stats.2,
    ))
}

/// Writes the subscribers in one statement and an API token; returns the token.
async fn seed(db_url: &str, args: &OutboxArgs, hook: SocketAddr) -> anyhow::Result<String> {
    let store = upbeat_store::open(db_url).await?;
    let token = upbeat::cli::new_token()?;
    let hash = upbeat_web::auth::token_hash(&token);
    let prefix = upbeat_web::auth::token_prefix(&token);
    let new = upbeat_store::NewToken { name: "bench", scope: upbeat_core::Scope::Write, hash: &hash, prefix };
    store.create_token(&new, chrono::Utc::now()).await?;
    drop(store);
    let pool = sqlx::SqlitePool::connect(db_url).await?;
    let hook = format!("http://{hook}/hook");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
         INSERT INTO subscribers (kind, address, address_key, components, created_at, confirmed_at)
         SELECT CASE WHEN i % ? = 0 THEN 'webhook' ELSE 'email' END,
                CASE WHEN i % ? = 0 THEN ? || '?n=' || i ELSE 'reader' || i || '@bench.test' END,
                CASE WHEN i % ? = 0 THEN ? || '?n=' || i ELSE 'reader' || i || '@bench.test' END,
                '[]', 0, 0
         FROM n",
    )
    .bind(args.subscribers as i64)
    .bind(args.webhook_every as i64)
    .bind(args.webhook_every as i64)
    .bind(&hook)
    .bind(args.webhook_every as i64)
    .bind(&hook)
    .execute(&pool)
    .await?;
    pool.close().await;
    Ok(token)
}

/// A webhook receiver: keep-alive HTTP/1.1, answers every request `200`, counts them.
async fn receiver() -> anyhow::Result<(SocketAddr, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match read.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; length];
                    if read.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    if write.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((addr, count))
}
