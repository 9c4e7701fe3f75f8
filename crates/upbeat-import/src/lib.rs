//! Reads another status page's history into an [`ImportSet`].
//!
//! The format is recognised from the content, not the file name:
//! - an RSS feed whose items are `X went down` / `X recovered` pairs or link to `/incident/<id>`
//!   is a Better Stack feed ([`betterstack`]);
//! - any other RSS feed, or an Atom feed, is a Statuspage history feed ([`statuspage_feed`]);
//! - JSON is Statuspage's v2 API (`incidents.json`, `summary.json`,
//!   `scheduled-maintenances.json`; [`statuspage_json`]).
//!
//! Parsing does no I/O and writes nothing: a source either parses whole or is an error naming the
//! line or element, and the store then writes the whole set in one transaction.

pub mod betterstack;
pub mod dates;
mod statuspage;
pub mod statuspage_feed;
pub mod statuspage_json;
pub mod xml;

use upbeat_core::import::ImportSet;

/// Larger sources are refused before parsing: memory stays bounded.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024 * 1024;

/// A source that cannot be imported, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ImportError {
    /// 1-based line in the source, when it is XML.
    pub line: Option<usize>,
    /// The element (`item`, `entry`) or JSON path (`incidents[3].created_at`) at fault.
    pub element: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.line, &self.element) {
            (Some(line), Some(element)) => write!(f, "line {line}, <{element}>: {}", self.message),
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            (None, Some(path)) => write!(f, "{path}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

impl ImportError {
    pub fn new(message: impl Into<String>) -> ImportError {
        ImportError { line: None, element: None, message: message.into() }
    }

    /// An error in XML: the line and the element.
    pub fn at(line: usize, element: &str, message: impl Into<String>) -> ImportError {
        ImportError { line: Some(line), element: Some(element.to_owned()), message: message.into() }
    }

    /// An error in JSON: the path to the value.
    pub fn path(path: impl Into<String>, message: impl Into<String>) -> ImportError {
        ImportError { line: None, element: Some(path.into()), message: message.into() }
    }
}

/// How to read a source.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The old page's address (`https://status.example.com/`). Better Stack guids and incident
    /// links must start with it, so they come out the same when upbeat serves that address.
    /// Without it, the feed's own `<link>` is used.
    pub base_url: Option<String>,
}

/// Recognises the source's format and parses it.
pub fn parse(bytes: &[u8], options: &Options) -> Result<ImportSet, ImportError> {
    if bytes.len() > MAX_SOURCE_BYTES {
        return Err(ImportError::new(format!(
            "the source is {} MiB; at most {} MiB can be imported at once",
            bytes.len() >> 20,
            MAX_SOURCE_BYTES >> 20
        )));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        ImportError { line: Some(line), element: None, message: "the source is not UTF-8 text".into() }
    })?;
    match text.trim_start().as_bytes().first() {
        None => Err(ImportError::new("the source is empty")),
        Some(b'<') if looks_like_html(text) => Err(ImportError::at(
            1,
            "html",
            "this is an HTML page, not a feed; import the page's feed instead (/feed.rss, /history.rss or /history.atom)",
        )),
        Some(b'<') => {
            let root = xml::parse(text)?;
            match root.name.as_str() {
                "rss" if betterstack::recognises(&root) => betterstack::parse(&root, options),
                "rss" | "feed" => statuspage_feed::parse(&root, options),
                "html" => Err(ImportError::at(
                    root.line,
                    "html",
                    "this is an HTML page, not a feed; import the page's feed instead (/feed.rss, /history.rss or /history.atom)",
                )),
                other => Err(ImportError::at(
                    root.line,
                    other,
                    "not a feed: expected <rss> (Better Stack, Statuspage history) or <feed> (Atom)",
                )),
            }
        }
        Some(b'{') => {
            let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ImportError {
                line: Some(e.line()),
                element: None,
                message: format!("not valid JSON: {e}"),
            })?;
            statuspage_json::parse(&value, options)
        }
        _ => Err(ImportError::new("the source is neither XML (an RSS or Atom feed) nor JSON (Statuspage's API)")),
    }
}

/// An HTML page starts with its doctype or `<html>`, which a feed never does.
fn looks_like_html(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(15).collect::<String>().to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}
