//! `upbeat import` and `upbeat report`: bringing another status page's history in, and the uptime
//! figures computed from whatever history the database holds.
//!
//! Sources are read whole (at most [`upbeat_import::MAX_SOURCE_BYTES`]) and parsed before anything
//! is written; every source is then written in one transaction, so a bad source imports nothing.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use upbeat_core::import::{ImportSet, ImportSummary};
use upbeat_core::uptime::{Report as Row, Span};
use upbeat_import::MAX_SOURCE_BYTES;
use upbeat_store::Store;

/// Redirects followed when fetching a source; more is a loop.
const MAX_REDIRECTS: usize = 10;

/// Reads a source: a file, `-` for stdin, or an http(s) URL.
pub async fn fetch(source: &str, timeout: Duration) -> anyhow::Result<Vec<u8>> {
    if source.starts_with("http://") || source.starts_with("https://") {
        return fetch_url(source, timeout).await;
    }
    let limit = MAX_SOURCE_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    if source == "-" {
        std::io::Read::read_to_end(&mut std::io::Read::take(std::io::stdin(), limit), &mut bytes)
            .context("cannot read stdin")?;
    } else {
        let file = std::fs::File::open(source).with_context(|| format!("cannot open {source}"))?;
        std::io::Read::read_to_end(&mut std::io::Read::take(file, limit), &mut bytes)
            .with_context(|| format!("cannot read {source}"))?;
    }
    Ok(bytes)
}

async fn fetch_url(url: &str, timeout: Duration) -> anyhow::Result<Vec<u8>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .user_agent(concat!("upbeat/", env!("CARGO_PKG_VERSION"), " (import)"))
        .build()
        .context("cannot build an HTTP client")?;
    let mut response = client.get(url).send().await.map_err(|e| fetch_error(url, &e, timeout))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    if response.content_length().is_some_and(|n| n > MAX_SOURCE_BYTES as u64) {
        bail!("{url} is larger than {} MiB; at most that can be imported at once", MAX_SOURCE_BYTES >> 20);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| fetch_error(url, &e, timeout))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_SOURCE_BYTES {
            break;
        }
    }
    Ok(bytes)
}

fn fetch_error(url: &str, e: &reqwest::Error, timeout: Duration) -> anyhow::Error {
    if e.is_timeout() {
        anyhow::anyhow!("{url} did not answer within {}s", timeout.as_secs_f64())
    } else if e.is_redirect() {
        anyhow::anyhow!("{url} redirects more than {MAX_REDIRECTS} times (a redirect loop?)")
    } else {
        let mut message = format!("cannot fetch {url}: {e}");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message.push_str(&format!(": {s}"));
            source = s.source();
        }
        anyhow::anyhow!(message)
    }
}

/// A line on stderr that rewrites itself, when stderr is a terminal.
struct Progress {
    on: bool,
}

impl Progress {
    fn show(&self, text: &str) {
        if self.on {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
        }
    }

    fn done(&self) {
        self.show("");
    }
}

/// Reads, parses and writes every source; prints a summary per source and a total.
pub async fn import(
    store: &dyn Store,
    sources: &[String],
    options: &upbeat_import::Options,
    dry_run: bool,
    timeout: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<ImportSummary> {
    let progress = Progress { on: std::io::stderr().is_terminal() };
    // Parse everything first: one bad source stops the import before anything is written.
    let mut sets: Vec<(&String, ImportSet)> = Vec::with_capacity(sources.len());
    for source in sources {
        progress.show(&format!("reading {source}"));
        let bytes = fetch(source, timeout).await?;
        progress.show(&format!("parsing {source} ({} kB)", bytes.len() / 1024));
        let set = upbeat_import::parse(&bytes, options).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        sets.push((source, set));
    }
    let mut total = ImportSummary::default();
    for (source, set) in &sets {
        let things = set.monitors.len()
            + set.outages.len()
            + set.incidents.iter().map(|i| 1 + i.updates.len()).sum::<usize>()
            + set.maintenances.iter().map(|m| 1 + m.updates.len()).sum::<usize>();
        let report = |done: usize| {
            let width = 30;
            let filled = (done * width).checked_div(things).unwrap_or(width).min(width);
            progress.show(&format!(
                "importing {source} [{}{}] {done}/{things}",
                "#".repeat(filled),
                " ".repeat(width - filled)
            ));
        };
        let summary = store.import(set, dry_run, &report, now).await.with_context(|| source.to_string())?;
        progress.done();
        for note in &set.notes {
            eprintln!("{source}: {note}");
        }
        println!(
            "{source} ({}): {} monitors, {} outages, {} incidents, {} updates, {} maintenance windows; {} duplicates skipped{}",
            set.format,
            summary.monitors,
            summary.outages,
            summary.incidents,
            summary.updates,
            summary.maintenances,
            summary.duplicates,
            if dry_run { " (dry run: nothing written)" } else { "" }
        );
        if summary.monitors > 0 {
            // The ids to declare as [[monitor]] to keep watching them, with their history.
            let ids: Vec<String> = set.monitors.iter().map(|m| format!("{} ({})", m.id, m.name)).collect();
            println!("  monitor ids: {}", ids.join(", "));
        }
        let components = component_ids(set);
        if !components.is_empty() {
            // Components live in the config: the page shows those declared as [[component]].
            println!("  component ids (declare them as [[component]] to show them): {}", components.join(", "));
        }
        total += summary;
    }
    Ok(total)
}

/// The components a source names, with their names where it gives them: its component list, then
/// any its incidents and maintenance mention that the list does not.
fn component_ids(set: &ImportSet) -> Vec<String> {
    let mut ids: Vec<String> = set.components.iter().map(|(id, name)| format!("{id} ({name})")).collect();
    let mut seen: std::collections::BTreeSet<&str> = set.components.iter().map(|(id, _)| id.as_str()).collect();
    let mentioned = set
        .incidents
        .iter()
        .flat_map(|i| i.components.keys())
        .chain(set.maintenances.iter().flat_map(|m| &m.components));
    for id in mentioned {
        if seen.insert(id.as_str()) {
            ids.push(id.clone());
        }
    }
    ids
}

/// Every monitor's figures over the window, by id.
pub async fn report_rows(store: &dyn Store, window: Span, now: DateTime<Utc>) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for m in store.monitor_records().await? {
        let Some(history) = store.history(&m.id, window, now).await? else { continue };
        rows.push(Row::new(m.id.as_str(), &m.name, &m.kind, &history.uptime(window)));
    }
    Ok(rows)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_owned(), |p| format!("{p:.3}"))
}

fn opt(s: Option<f64>) -> String {
    s.map_or_else(String::new, |s| format!("{s}"))
}

/// A duration for people: `1d 2h`, `3h 4m`, `5m 6s`, `7s`.
fn human(seconds: f64) -> String {
    let s = seconds.round() as i64;
    let (d, h, m, s) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

pub fn render(rows: &[Row], format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(rows)? + "\n",
        Format::Csv => {
            let mut out = String::from(
                "id,name,from,to,outages,downtime_seconds,longest_outage_seconds,uptime_seconds,no_data_seconds,maintenance_seconds,uptime_percent,mttr_seconds,mtbf_seconds\n",
            );
            for r in rows {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    csv_field(&r.id),
                    csv_field(&r.name),
                    r.from.to_rfc3339(),
                    r.to.to_rfc3339(),
                    r.outages,
                    r.downtime_seconds,
                    r.longest_outage_seconds,
                    r.uptime_seconds,
                    r.no_data_seconds,
                    r.maintenance_seconds,
                    opt(r.uptime_percent),
                    opt(r.mttr_seconds),
                    opt(r.mtbf_seconds),
                ));
            }
            out
        }
        Format::Table => {
            let header =
                ["MONITOR", "UPTIME %", "OUTAGES", "DOWNTIME", "LONGEST", "MTTR", "MTBF", "NO DATA", "MAINTENANCE"];
            let mut lines: Vec<[String; 9]> = vec![header.map(str::to_owned)];
            for r in rows {
                lines.push([
                    r.name.clone(),
                    percent(r.uptime_percent),
                    r.outages.to_string(),
                    human(r.downtime_seconds),
                    human(r.longest_outage_seconds),
                    r.mttr_seconds.map_or_else(|| "-".to_owned(), human),
                    r.mtbf_seconds.map_or_else(|| "-".to_owned(), human),
                    human(r.no_data_seconds),
                    human(r.maintenance_seconds),
                ]);
            }
            let widths: Vec<usize> =
                (0..header.len()).map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
            let mut out = String::new();
            if let Some(r) = rows.first() {
                out.push_str(&format!("{} to {}\n", r.from.to_rfc3339(), r.to.to_rfc3339()));
            }
            for l in &lines {
                let cells: Vec<String> = l
                    .iter()
                    .enumerate()
                    .map(
                        |(i, c)| {
                            if i == 0 { format!("{c:<w$}", w = widths[i]) } else { format!("{c:>w$}", w = widths[i]) }
                        },
                    )
                    .collect();
                out.push_str(cells.join("  ").trim_end());
                out.push('\n');
            }
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance_and_csv_quotes() {
        assert_eq!(human(7.0), "7s");
        assert_eq!(human(306.0), "5m 6s");
        assert_eq!(human(3.0 * 3600.0 + 240.0), "3h 4m");
        assert_eq!(human(90_000.0), "1d 1h");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
