//! The processes a benchmark starts: `upbeat-bench` helpers (the target, the static server) and
//! the release `upbeat serve` under coreutils' `timeout`, and reading upbeat's log afterwards.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::procfs;

/// A child `upbeat-bench <subcommand>` that prints `listening ADDR` lines, then `ready`; it exits
/// when this is dropped (its stdin closes) or when its lifetime is over.
pub struct Helper {
    pub child: Child,
    stdin: Option<ChildStdin>,
    pub addrs: Vec<SocketAddr>,
}

impl Helper {
    /// `args` follow `<subcommand> --exit-on-stdin-eof --lifetime <seconds>`.
    pub fn start(me: &Path, subcommand: &str, args: &[String], lifetime: Duration) -> anyhow::Result<Helper> {
        let mut child = Command::new(me)
            .args([subcommand, "--exit-on-stdin-eof", "--lifetime", &lifetime.as_secs().to_string()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start `upbeat-bench {subcommand}`"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("no stdout from the child")?;
        let mut helper = Helper { child, stdin, addrs: Vec::new() };
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if line == "ready" {
                return Ok(helper);
            }
            if let Some(addr) = line.strip_prefix("listening ") {
                helper.addrs.push(addr.parse()?);
            }
        }
        bail!("`upbeat-bench {subcommand}` exited before it was ready")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `upbeat serve` under coreutils' `timeout`, so that it stops by itself even if the bench is
/// killed; `pid` is upbeat's own process, which is what is measured and signalled.
pub struct Upbeat {
    pub child: Child,
    pub pid: u32,
    stopped: bool,
}

impl Upbeat {
    pub fn start(upbeat: &Path, config: &Path, db_url: &str, log: &Path, lifetime: Duration) -> anyhow::Result<Upbeat> {
        let log_file = std::fs::File::create(log)?;
        let child = Command::new("timeout")
            .args(["--signal=TERM", "--kill-after=15", &format!("{}s", lifetime.as_secs())])
            .arg(upbeat)
            .args(["serve", "--config"])
            .arg(config)
            .args(["--db", db_url])
            .env_remove("UPBEAT_LISTEN")
            .env_remove("UPBEAT_CONFIG")
            .env_remove("UPBEAT_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("cannot start `timeout upbeat serve` (is coreutils' timeout installed?)")?;
        let mut server = Upbeat { child, pid: 0, stopped: false };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let [pid] = procfs::children(server.child.id())[..] {
                server.pid = pid;
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("upbeat exited at once ({status}):\n{}", tail(log));
            }
            ensure!(Instant::now() < deadline, "cannot find upbeat's process under `timeout`");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then wait for upbeat to write what is in flight and exit; SIGKILL if it has not
    /// within `limit`. `progress` is called every 5 s meanwhile with the time since the signal.
    /// Returns how it ended and whether that was `exit 0`.
    pub async fn stop(
        &mut self,
        limit: Duration,
        mut progress: impl AsyncFnMut(Duration),
    ) -> anyhow::Result<(String, bool)> {
        let sent = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status()?;
        ensure!(sent.success(), "kill -TERM {} failed", self.pid);
        let signalled = Instant::now();
        let mut next_report = Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.stopped = true;
                let after = signalled.elapsed().as_secs_f64();
                return Ok(match status.code() {
                    Some(0) => (format!("exit 0 in {after:.1} s"), true),
                    Some(code) => (format!("exit {code} after {after:.1} s"), false),
                    None => (format!("{status} after {after:.1} s"), false),
                });
            }
            if signalled.elapsed() >= limit {
                eprintln!("   upbeat has not exited {} s after SIGTERM; sending SIGKILL", limit.as_secs());
                let _ = Command::new("kill").args(["-KILL", &self.pid.to_string()]).status();
                let _ = self.child.wait();
                self.stopped = true;
                return Ok((format!("no exit in {} s: killed", limit.as_secs()), false));
            }
            if signalled.elapsed() >= next_report {
                next_report += Duration::from_secs(5);
                progress(signalled.elapsed()).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Upbeat {
    fn drop(&mut self) {
        if !self.stopped {
            if self.pid != 0 {
                let _ = Command::new("kill").args(["-KILL", &self.pid.to_string()]).status();
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// This benchmark's own binary and the `upbeat` to measure: `--upbeat`, or the one beside it.
pub fn binaries(upbeat: Option<&Path>) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let me = std::env::current_exe().context("cannot find this binary")?;
    let upbeat = upbeat.map_or_else(|| me.with_file_name("upbeat"), Path::to_path_buf);
    ensure!(
        upbeat.is_file(),
        "no upbeat binary at {}; build it with `cargo build --release -p upbeat`",
        upbeat.display()
    );
    if !upbeat.components().any(|c| c.as_os_str() == "release") {
        eprintln!("warning: {} does not look like a release build", upbeat.display());
    }
    Ok((me, upbeat))
}

/// A loopback address nothing listens on right now.
pub fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?)
}

/// Counts `ERROR` and `WARN` lines in upbeat's log and prints the first few distinct errors.
pub fn log_problems(log: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let (mut errors, mut warnings) = (0, 0);
    let mut shown: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.contains(" ERROR ") {
            errors += 1;
            // The message without the timestamp and the fields after it.
            let message = line.split_once(" ERROR ").map_or(line, |(_, m)| m);
            let message = message.split(" monitor_id=").next().unwrap_or(message);
            if shown.len() < 5 && !shown.contains(&message) {
                shown.push(message);
                eprintln!("   log: ERROR {message}");
            }
        } else if line.contains(" WARN ") {
            warnings += 1;
        }
    }
    if errors + warnings > 0 {
        eprintln!("   log: {errors} ERROR and {warnings} WARN lines");
    }
    (errors, warnings)
}

/// The last 20 lines of a log.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
