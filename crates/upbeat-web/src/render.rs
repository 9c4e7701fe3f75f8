//! Rendering what the public reads: the status page and the three feeds.
//!
//! Pure functions from data to text; [`crate::cache`] decides when to call them. HTML and XML come
//! from auto-escaping templates, so a monitor named `a & <b> "c"` comes out intact.

use std::sync::OnceLock;

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::{Environment, context};
use serde::Serialize;
use upbeat_core::config::Page;
use upbeat_core::duration::human;
use upbeat_core::feed::{FeedItem, ItemSource};
use upbeat_core::{Config, Outage, Status};

use crate::MonitorView;

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_formatter(markup_formatter);
        // The file extension picks the escaping: .html and .xml are escaped as markup.
        for (name, source) in [
            ("page.html", include_str!("../templates/page.html")),
            ("rss.xml", include_str!("../templates/rss.xml")),
            ("atom.xml", include_str!("../templates/atom.xml")),
        ] {
            if let Err(e) = env.add_template(name, source) {
                // The templates are compiled into the binary; a test renders each one.
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env
    })
}

/// Escapes the five markup characters and nothing else: minijinja's HTML escaping also turns `/`
/// into `&#x2f;`, which is valid but makes every URL in a feed unreadable.
fn markup_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if matches!(state.auto_escape(), minijinja::AutoEscape::None) || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    let mut escaped = String::new();
    for c in value.to_string().chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    std::fmt::Write::write_str(out, &escaped)
        .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "could not write template output"))
}

fn render(name: &str, ctx: minijinja::Value) -> String {
    templates().get_template(name).and_then(|t| t.render(ctx)).unwrap_or_else(|e| {
        tracing::error!(template = name, error = %e, "template failed to render");
        String::new()
    })
}

/// RFC 2822 as status pages write it: `Mon, 30 Jun 2025 12:12:51 +0000`.
pub fn rfc2822(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// `base_url` joined with a file name at its root.
pub fn feed_url(base_url: &str, file: &str) -> String {
    if base_url.ends_with('/') { format!("{base_url}{file}") } else { format!("{base_url}/{file}") }
}

#[derive(Serialize)]
struct ItemContext<'a> {
    title: &'a str,
    link: &'a str,
    guid: &'a str,
    id: &'a str,
    description: &'a str,
    pub_date: String,
    rfc3339: String,
}

fn item_contexts(items: &[FeedItem]) -> Vec<ItemContext<'_>> {
    items
        .iter()
        .map(|i| ItemContext {
            title: &i.title,
            link: &i.link,
            guid: &i.guid,
            id: &i.id,
            description: &i.description,
            // Status pages date people's updates `-0000` and their checkers' events `+0000`.
            pub_date: match i.source {
                ItemSource::Monitor => rfc2822(i.published),
                ItemSource::Incident => i.published.format("%a, %d %b %Y %H:%M:%S -0000").to_string(),
            },
            rfc3339: i.published.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
        .collect()
}

pub fn rss(page: &Page, items: &[FeedItem]) -> String {
    let mut out = render(
        "rss.xml",
        context! { title => page.title.clone(), base_url => page.base_url.clone(), language => page.language.clone(), items => minijinja::Value::from(minijinja::value::Serde(item_contexts(items))) },
    );
    out.push('\n');
    out
}

pub fn atom(page: &Page, items: &[FeedItem], now: DateTime<Utc>) -> String {
    let updated = items.first().map_or(now, |i| i.published).to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut out = render(
        "atom.xml",
        context! {
            title => page.title.clone(), base_url => page.base_url.clone(), language => page.language.clone(),
            self_url => feed_url(&page.base_url, "feed.atom"), updated, items => minijinja::Value::from(minijinja::value::Serde(item_contexts(items))),
        },
    );
    out.push('\n');
    out
}

/// JSON Feed 1.1.
pub fn json_feed(page: &Page, items: &[FeedItem]) -> String {
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|i| {
            serde_json::json!({
                "id": i.id,
                "url": i.link,
                "title": i.title,
                "content_text": i.description,
                "date_published": i.published.to_rfc3339_opts(SecondsFormat::Secs, true),
                "_upbeat": { "guid": i.guid },
            })
        })
        .collect();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": format!("Incidents | {}", page.title),
        "description": format!("Incidents reported on status page for {}", page.title),
        "home_page_url": page.base_url,
        "feed_url": feed_url(&page.base_url, "feed.json"),
        "language": page.language,
        "items": items,
    });
    serde_json::to_string_pretty(&feed).unwrap_or_default()
}

/// How a set of monitors reads, for a component or the whole page.
fn rollup(states: impl Iterator<Item = Status>) -> (&'static str, &'static str) {
    let (mut up, mut down, mut unknown, mut paused) = (0, 0, 0, 0);
    for s in states {
        match s {
            Status::Up => up += 1,
            Status::Down => down += 1,
            Status::Unknown => unknown += 1,
            Status::Paused => paused += 1,
        }
    }
    match (up, down, unknown) {
        (0, 0, 0) if paused > 0 => ("paused", "Paused"),
        (_, 0, 0) => ("operational", "Operational"),
        (0, 0, _) => ("unknown", "No data yet"),
        (_, 0, _) => ("operational", "Operational"),
        (0, _, 0) => ("major", "Major outage"),
        _ => ("partial", "Partial outage"),
    }
}

fn state_text(s: Status) -> &'static str {
    match s {
        Status::Up => "Up",
        Status::Down => "Down",
        Status::Unknown => "No data yet",
        Status::Paused => "Paused",
    }
}

/// Milliseconds, with a decimal where whole milliseconds would read "0 ms".
fn latency(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.1} ms") } else { format!("{ms:.0} ms") }
}

/// How far back the page lists closed outages.
pub const RECENT_DAYS: i64 = 7;

/// The status page. `monitors` are the live views; `outages` the recent ones of public monitors.
pub fn page(config: &Config, monitors: &[MonitorView], outages: &[Outage], now: DateTime<Utc>) -> String {
    let tz = config.page.time_zone;
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string();
    let public: Vec<&MonitorView> = monitors.iter().filter(|m| m.public).collect();
    let name_of = |id: &upbeat_core::MonitorId| {
        public.iter().find(|m| &m.id == id).map_or_else(|| id.to_string(), |m| m.name.clone())
    };
    let monitor_ctx = |m: &MonitorView| {
        context! {
            name => m.name.clone(),
            state => m.state.as_str(),
            state_text => state_text(m.state),
            latency => m.last_check.as_ref().filter(|s| s.up).map(|s| latency(s.latency)),
        }
    };

    // Groups in the order their first component is declared; monitors without a component last.
    let mut groups: Vec<(Option<String>, Vec<minijinja::Value>)> = Vec::new();
    for c in &config.components {
        let members: Vec<&&MonitorView> =
            public.iter().filter(|m| m.component.as_deref() == Some(c.id.as_str())).collect();
        if members.is_empty() {
            continue;
        }
        let (class, text) = rollup(members.iter().map(|m| m.state));
        let ctx = context! {
            name => c.name.clone(), description => c.description.clone(), class, text,
            monitors => members.iter().map(|m| monitor_ctx(m)).collect::<Vec<_>>(),
        };
        match groups.iter_mut().find(|(g, _)| *g == c.group) {
            Some((_, list)) => list.push(ctx),
            None => groups.push((c.group.clone(), vec![ctx])),
        }
    }
    let loose: Vec<&&MonitorView> = public.iter().filter(|m| m.component.is_none()).collect();
    if !loose.is_empty() {
        let components: Vec<minijinja::Value> = loose
            .iter()
            .map(|m| {
                let (class, text) = rollup(std::iter::once(m.state));
                context! { name => m.name.clone(), class, text, monitors => Vec::<minijinja::Value>::new() }
            })
            .collect();
        groups.push((if groups.is_empty() { None } else { Some("Other services".into()) }, components));
    }
    let groups: Vec<minijinja::Value> =
        groups.into_iter().map(|(name, components)| context! { name, components }).collect();

    let (class, text) = rollup(public.iter().map(|m| m.state));
    let overall_text = match class {
        "operational" => "All systems operational",
        "unknown" => "Waiting for the first checks",
        _ => text,
    };
    let ongoing: Vec<minijinja::Value> = outages
        .iter()
        .filter(|o| o.ended_at.is_none())
        .map(|o| context! { monitor => name_of(&o.monitor), started => local(o.started_at), duration => human(o.duration(now)) })
        .collect();
    let recent: Vec<minijinja::Value> = outages
        .iter()
        .filter_map(|o| {
            let ended = o.ended_at?;
            Some(context! {
                monitor => name_of(&o.monitor), started => local(o.started_at), ended => local(ended),
                duration => human(o.duration(now)),
            })
        })
        .collect();
    render(
        "page.html",
        context! {
            title => config.page.title.clone(), language => config.page.language.clone(), time_zone => tz.name(),
            generated => local(now), overall => context! { class, text => overall_text },
            groups, ongoing, recent, recent_days => RECENT_DAYS,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use upbeat_core::MonitorId;
    use upbeat_core::OutageId;
    use upbeat_core::feed::{FeedEvent, items};

    fn page_config(title: &str) -> Config {
        let src = format!("[page]\ntitle = {title:?}\nbase_url = \"https://status.example.com/\"\n");
        Config::parse("test.toml", &src).unwrap()
    }

    fn fixed_items() -> Vec<FeedItem> {
        let m = MonitorId::parse("web").unwrap();
        let at = |h, mi, s| Utc.with_ymd_and_hms(2025, 6, 30, h, mi, s).unwrap();
        let first = OutageId::derive(&m, at(12, 9, 50));
        let second = OutageId::derive(&m, at(14, 0, 0));
        let events = vec![
            FeedEvent::OutageOpened { monitor_name: "buttondown.com".into(), outage: first.clone(), at: at(12, 9, 50) },
            FeedEvent::OutageClosed { monitor_name: "buttondown.com".into(), outage: first, at: at(12, 12, 51) },
            FeedEvent::OutageOpened { monitor_name: "a & <b> \"c\"".into(), outage: second, at: at(14, 0, 0) },
        ];
        items("https://status.example.com/", &events, 250)
    }

    #[test]
    fn rss_snapshot() {
        insta::assert_snapshot!(rss(&page_config("Example").page, &fixed_items()));
    }

    #[test]
    fn atom_and_json_snapshots() {
        let page = page_config("Example").page;
        let now = Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap();
        insta::assert_snapshot!("atom", atom(&page, &fixed_items(), now));
        insta::assert_snapshot!("json_feed", json_feed(&page, &fixed_items()));
    }

    #[test]
    fn rfc2822_matches_status_pages() {
        assert_eq!(rfc2822(Utc.with_ymd_and_hms(2025, 6, 30, 12, 12, 51).unwrap()), "Mon, 30 Jun 2025 12:12:51 +0000");
    }

    #[test]
    fn page_escapes_names_and_shows_state() {
        let config = page_config("A & <B>");
        let monitor = MonitorView {
            id: MonitorId::parse("x").unwrap(),
            name: "a & <b> \"c\"".into(),
            kind: "http",
            target: "http://127.0.0.1/".into(),
            component: None,
            public: true,
            interval_seconds: 1.0,
            state: Status::Down,
            last_check: None,
            open_outage: None,
        };
        let html = page(&config, &[monitor], &[], Utc::now());
        assert!(html.contains("<h1>A &amp; &lt;B&gt;</h1>"), "{html}");
        assert!(html.contains("a &amp; &lt;b&gt; &quot;c&quot;"), "{html}");
        assert!(html.contains("Major outage"));
        assert!(!html.contains("<b>"));
    }
}
