//! `upbeat-bench import`: how long `upbeat import` takes and how much memory it needs, for the
//! reference feed and for a generated Better Stack feed of N items, each into a fresh database,
//! and again into the same database (everything a duplicate).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::procfs;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Items in the generated feed.
    #[arg(long, default_value_t = 100_000)]
    items: usize,
    /// The reference feed.
    #[arg(long, default_value = "crates/upbeat/tests/fixtures/buttondown-status.rss")]
    fixture: PathBuf,
    /// The upbeat binary [default: `upbeat` next to this binary, i.e. target/release/upbeat].
    #[arg(long)]
    upbeat: Option<PathBuf>,
    /// Only write the generated feed to this file, to look at or import by hand.
    #[arg(long)]
    write_feed: Option<PathBuf>,
}

const BASE: &str = "https://status.example.com/";

/// A Better Stack feed: 95 % monitor events (outage pairs over 20 monitors), 5 % incident
/// updates (four per incident), newest first, one minute apart.
pub fn generate(items: usize) -> String {
    let mut out = String::with_capacity(items * 480);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n  <channel>\n");
    let _ = writeln!(out, "    <title>Generated</title>\n    <link>{BASE}</link>");
    let start = 1_700_000_000i64;
    let updates = items / 20;
    let outages = (items - updates) / 2;
    let mut n = 0usize;
    let item = |out: &mut String, title: &str, link: &str, at: i64, guid: &str, zone: &str, body: &str| {
        let date = chrono::DateTime::from_timestamp(at, 0).expect("a valid time");
        let _ = write!(
            out,
            "    <item>\n      <title>{title}</title>\n      <link>{link}</link>\n      <pubDate>{} {zone}</pubDate>\n      <guid isPermaLink=\"false\">{guid}</guid>\n      <description>{body}</description>\n    </item>\n",
            date.format("%a, %d %b %Y %H:%M:%S")
        );
    };
    for i in 0..outages.max(updates) {
        if i < outages {
            let monitor = format!("service-{}.example.com", i % 20);
            let hash = format!("{:064x}", i as u128 * 0x9E37_79B9_7F4A_7C15 + 1);
            let at = start + (i as i64) * 600;
            let guid = format!("{BASE}#{hash}");
            let up = format!("{monitor} recovered");
            let down = format!("{monitor} went down");
            item(&mut out, &down, BASE, at, &guid, "+0000", &down);
            item(&mut out, &up, BASE, at + 120, &guid, "+0000", &up);
            n += 2;
        }
        if i < updates {
            let incident = 100_000 + i / 4;
            let link = format!("{BASE}incident/{incident}");
            let guid = format!("{link}#{:064x}", i as u128 * 0xC2B2_AE3D_27D4_EB4F + 7);
            let body = "We are looking into delays in sending; queued mail is safe and will go out.";
            item(&mut out, &format!("Incident {incident}"), &link, start + (i as i64) * 900, &guid, "-0000", body);
            n += 1;
        }
    }
    debug_assert!(n <= items);
    out.push_str("  </channel>\n</rss>\n");
    out
}

struct Measured {
    wall: Duration,
    peak_rss_kib: u64,
    stdout: String,
}

/// Runs `upbeat import` and samples its peak RSS (`VmHWM`) every 2 ms until it exits.
fn run_import(upbeat: &Path, db: &str, source: &Path) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let mut child = Command::new(upbeat)
        .args(["import", "--db", db])
        .arg(source)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", upbeat.display()))?;
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Ok(kib) = procfs::status_kib(pid, "VmHWM") {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = started.elapsed();
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        std::io::Read::read_to_string(&mut out, &mut stdout)?;
    }
    if !status.success() {
        bail!("upbeat import failed: {status}");
    }
    Ok(Measured { wall, peak_rss_kib: peak, stdout })
}

pub fn main(args: ImportArgs) -> anyhow::Result<()> {
    let upbeat = match args.upbeat {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("upbeat"),
    };
    if let Some(path) = &args.write_feed {
        return Ok(std::fs::write(path, generate(args.items))?);
    }
    let dir = tempfile::tempdir()?;
    let generated = dir.path().join(format!("generated-{}.rss", args.items));
    std::fs::write(&generated, generate(args.items))?;
    println!(
        "| source | items | size | run | wall time | items/s | peak RSS | what it wrote |\n|---|---:|---:|---|---:|---:|---:|---|"
    );
    for (name, source) in [("reference feed", args.fixture.as_path()), ("generated", generated.as_path())] {
        let text = std::fs::read_to_string(source).with_context(|| format!("cannot read {}", source.display()))?;
        let items = text.matches("<item>").count();
        let db = format!("sqlite://{}", dir.path().join(format!("{}.db", name.replace(' ', "-"))).display());
        for run in ["empty database", "again (all duplicates)"] {
            let m = run_import(&upbeat, &db, source)?;
            let summary = m.stdout.split_once("): ").map_or(m.stdout.trim(), |(_, s)| s.trim());
            println!(
                "| {name} | {items} | {:.1} MiB | {run} | {:.2} s | {:.0} | {:.1} MiB | {summary} |",
                text.len() as f64 / 1048576.0,
                m.wall.as_secs_f64(),
                items as f64 / m.wall.as_secs_f64(),
                m.peak_rss_kib as f64 / 1024.0,
            );
        }
    }
    Ok(())
}
