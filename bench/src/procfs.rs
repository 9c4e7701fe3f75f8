//! What the bench reads from /proc: CPU time, peak RSS, a process's children, TCP states.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The text of `/proc/PID/stat` after the command name, split on spaces: index 0 is field 3
/// (state) of proc(5), so field N is at index N - 3.
fn stat_fields(pid: u32) -> anyhow::Result<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("no process {pid}"))?;
    let (_, rest) = stat.rsplit_once(')').context("unexpected /proc/PID/stat")?;
    Ok(rest.split_whitespace().map(str::to_owned).collect())
}

/// User plus system CPU time of `pid`, in clock ticks (fields 14 and 15).
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let fields = stat_fields(pid)?;
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    Ok(utime + stime)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this is likely to meet).
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// A `kB` line of `/proc/PID/status`, such as `VmHWM` (peak resident set size).
pub fn status_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("no process {pid}"))?;
    for line in status.lines() {
        if let Some(value) = line.strip_prefix(key).and_then(|rest| rest.strip_prefix(':')) {
            return Ok(value.trim().trim_end_matches("kB").trim().parse()?);
        }
    }
    bail!("no {key} in /proc/{pid}/status")
}

/// The processes whose parent is `ppid`.
pub fn children(ppid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| stat_fields(pid).ok().and_then(|f| f.get(1)?.parse::<u32>().ok()) == Some(ppid))
        .collect()
}

/// IPv4 TCP sockets by state, from `/proc/net/tcp`: (established, time-wait, all).
pub fn tcp_states() -> (usize, usize, usize) {
    let Ok(table) = std::fs::read_to_string(Path::new("/proc/net/tcp")) else { return (0, 0, 0) };
    let (mut established, mut time_wait, mut all) = (0, 0, 0);
    for line in table.lines().skip(1) {
        all += 1;
        match line.split_whitespace().nth(3) {
            Some("01") => established += 1,
            Some("06") => time_wait += 1,
            _ => {}
        }
    }
    (established, time_wait, all)
}

/// Busy and total CPU time of the whole machine, in clock ticks, from the `cpu` line of
/// `/proc/stat` (idle and iowait count as not busy).
pub fn system_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().find(|l| l.starts_with("cpu ")).context("no cpu line in /proc/stat")?;
    let values: Vec<u64> = line.split_whitespace().skip(1).take(8).map(str::parse).collect::<Result<_, _>>()?;
    let total: u64 = values.iter().sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}
