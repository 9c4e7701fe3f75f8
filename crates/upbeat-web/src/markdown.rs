//! Markdown written by people, made safe to show.
//!
//! Incident updates and postmortems are written in Markdown by people, in the worst hour of their
//! week, sometimes pasted from a chat, a ticket or someone else's page. Every page and feed that
//! shows them must show HTML that cannot run script, whatever was pasted. CommonMark (with tables,
//! strikethrough and bare-URL links) is rendered by pulldown-cmark, which passes raw HTML through
//! untouched, so the whole result always goes through ammonia's allow-list before anyone sees it.
//! Places that cannot show HTML get [`to_text`] instead.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream};

/// Only these reach a reader; anything else (script, style, frames, forms, media, SVG, MathML)
/// is dropped by ammonia.
const TAGS: &[&str] = &[
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
];

/// Schemes a link may keep. Everything else, `javascript:`, `data:` and `vbscript:` included,
/// loses its `href`.
const SCHEMES: &[&str] = &["http", "https", "mailto"];

fn cleaner() -> &'static ammonia::Builder<'static> {
    // Building the allow-list sets is not free and every render needs the same one.
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .tags(TAGS.iter().copied().collect())
            // No generic attributes: that is what keeps `style`, `on*`, `id` and `class` out.
            .generic_attributes(HashSet::new())
            .tag_attributes([("a", ["href"].into_iter().collect()), ("ol", ["start"].into_iter().collect())].into())
            .url_schemes(SCHEMES.iter().copied().collect())
            .link_rel(Some("nofollow noopener"))
            // Links to the status page's own paths are useful and cannot carry a scheme.
            .url_relative(ammonia::UrlRelative::PassThrough);
        builder
    })
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Markdown to sanitized HTML: no script, no event handlers or `style`, no `javascript:`,
/// `vbscript:` or `data:` URLs, no images, media or frames; every link carries
/// `rel="nofollow noopener"`. Bare `http(s)://` URLs become links.
pub fn to_html(markdown: &str) -> String {
    // pulldown-cmark may split one run of text into several events (at `_`, `(`, ...), and a URL
    // has to be seen whole to be linked whole.
    let events = autolink(TextMergeStream::new(Parser::new_ext(markdown, options())));
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    cleaner().clean(&html).to_string()
}

/// Turns bare `http(s)://` URLs in text into links, except where a link would be wrong: inside
/// code, inside an existing link (Markdown or raw `<a>`), inside an image's alt text.
fn autolink<'a>(events: impl Iterator<Item = Event<'a>>) -> Vec<Event<'a>> {
    let mut out = Vec::new();
    // Depth of the places where text must stay text; raw HTML can unbalance it, hence signed.
    let mut inside: isize = 0;
    for event in events {
        match &event {
            Event::Start(Tag::Link { .. } | Tag::Image { .. } | Tag::CodeBlock(_)) => inside += 1,
            Event::End(TagEnd::Link | TagEnd::Image | TagEnd::CodeBlock) => inside -= 1,
            Event::Html(html) | Event::InlineHtml(html) => inside += raw_tag_balance(html),
            Event::Text(text) if inside <= 0 && text.contains("://") => {
                split_urls(text, &mut out);
                continue;
            }
            _ => {}
        }
        out.push(event);
    }
    out
}

/// How many raw `<a>`, `<code>` and `<pre>` elements `html` opens minus how many it closes.
fn raw_tag_balance(html: &str) -> isize {
    let lower = html.to_ascii_lowercase();
    let mut balance = 0;
    for (at, _) in lower.match_indices('<') {
        let rest = &lower[at + 1..];
        let (closing, rest) = match rest.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let name_len = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        if matches!(&rest[..name_len], "a" | "code" | "pre") {
            balance += if closing { -1 } else { 1 };
        }
    }
    balance
}

fn split_urls<'a>(text: &str, out: &mut Vec<Event<'a>>) {
    let mut emitted = 0;
    let mut from = 0;
    while let Some((start, end)) = next_url(text, from) {
        if start > emitted {
            out.push(Event::Text(text[emitted..start].to_owned().into()));
        }
        let url = &text[start..end];
        out.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: url.to_owned().into(),
            title: "".into(),
            id: "".into(),
        }));
        out.push(Event::Text(url.to_owned().into()));
        out.push(Event::End(TagEnd::Link));
        emitted = end;
        from = end;
    }
    if emitted < text.len() {
        out.push(Event::Text(text[emitted..].to_owned().into()));
    }
}

/// The byte range of the next bare URL in `text` at or after `from`, GitHub-style: it starts at a
/// word boundary, stops at whitespace or `<>"`, and leaves trailing punctuation and an unmatched
/// closing parenthesis to the sentence around it.
fn next_url(text: &str, from: usize) -> Option<(usize, usize)> {
    for (offset, _) in text[from..].char_indices() {
        let start = from + offset;
        let Some(scheme_len) = ["https://", "http://"].into_iter().find_map(|scheme| {
            text.get(start..start + scheme.len()).filter(|s| s.eq_ignore_ascii_case(scheme)).map(|_| scheme.len())
        }) else {
            continue;
        };
        // "xhttps://" is a word that happens to contain a URL-like tail, not a URL.
        if text[..start].chars().next_back().is_some_and(char::is_alphanumeric) {
            continue;
        }
        let tail = &text[start..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(tail.len());
        loop {
            let url = &tail[..end];
            let punctuation = url.ends_with(['.', ',', ':', ';', '!', '?', '*', '_', '~', '\'']);
            let unmatched_paren = url.ends_with(')') && url.matches(')').count() > url.matches('(').count();
            if !(punctuation || unmatched_paren) {
                break;
            }
            end -= 1;
        }
        // A scheme with no host after it is just words.
        if !tail[scheme_len..end].starts_with(|c: char| c.is_alphanumeric() || c == '[') {
            continue;
        }
        return Some((start, start + end));
    }
    None
}

/// Markdown to plain text, for places that cannot show HTML: markup stripped, paragraphs
/// separated by blank lines, list items on their own lines (numbered for ordered lists, nested
/// ones indented), table cells separated by ` | `, and link text followed by its URL in
/// parentheses. Raw HTML blocks are dropped: plain text has no way to show them.
pub fn to_text(markdown: &str) -> String {
    let mut out = String::new();
    // For each open link: its URL and where its text starts in `out`.
    let mut links: Vec<(String, usize)> = Vec::new();
    // For each open list: the next number, or `None` for a bulleted list.
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut cells_in_row = 0usize;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Link { dest_url, .. }) => links.push((dest_url.to_string(), out.len())),
            Event::End(TagEnd::Link) => {
                if let Some((url, text_start)) = links.pop() {
                    let text = out[text_start..].trim();
                    let repeats_itself = text == url || url.strip_prefix("mailto:") == Some(text);
                    // A URL the HTML would drop is not worth showing in text either.
                    if !repeats_itself && has_allowed_scheme(&url) {
                        out.push_str(&format!(" ({url})"));
                    }
                }
            }
            Event::Start(Tag::List(first)) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                lists.push(first);
            }
            Event::Start(Tag::Item) => {
                out.push_str(&"  ".repeat(lists.len().saturating_sub(1)));
                match lists.last_mut() {
                    Some(Some(number)) => {
                        out.push_str(&format!("{number}. "));
                        *number += 1;
                    }
                    _ => out.push_str("- "),
                }
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::Start(Tag::TableHead | Tag::TableRow) => cells_in_row = 0,
            Event::Start(Tag::TableCell) => {
                if cells_in_row > 0 {
                    out.push_str(" | ");
                }
                cells_in_row += 1;
            }
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => out.push('\n'),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::CodeBlock) => out.push_str("\n\n"),
            Event::End(TagEnd::BlockQuote(_) | TagEnd::Table) => out.push('\n'),
            _ => {}
        }
        while out.ends_with("\n\n\n") {
            out.pop();
        }
    }
    // Only newlines: a code block's first line may start with meaningful spaces.
    out.trim_start_matches('\n').trim_end().to_owned()
}

fn has_allowed_scheme(url: &str) -> bool {
    url.split_once(':').is_some_and(|(scheme, _)| SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)))
}

/// Classic XSS payloads, as Markdown or pasted HTML. Other crates' tests post them as incident
/// titles and bodies and check pages and feeds end to end with [`looks_active`].
pub const XSS_PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](<javascript:alert(1)>)",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<svg onload=alert(1)>",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<iframe src=\"https://example.invalid/\"></iframe>",
    "<body onload=alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "\"><script>alert(1)</script>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<a href=\"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)\">x</a>",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<a href=javascript:alert(1)>x</a>",
    "<a href=\"  javascript:alert(1)\">x</a>",
    "<a href=\"https://example.com/\" onclick=\"alert(1)\">x</a>",
    "![x](javascript:alert(1))",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><button>x</button></form>",
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<base href=\"javascript:/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=\"stylesheet\" href=\"https://example.invalid/x.css\">",
    "<style>@import 'https://example.invalid/x.css';</style>",
    "[a](vbscript:msgbox(1))",
    "<textarea><script>alert(1)</script></textarea>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "[x](https://example.com/ \"onmouseover=alert(1)\")",
    "https://example.com/\"><script>alert(1)</script>",
    "<img src=\"data:image/svg+xml,<svg onload=alert(1)>\">",
    "<p onclick=\"alert(1)\">click</p>",
    "<x onmouseover=alert(1)>hover</x>",
    "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
    "`<script>` in code is text",
    "<marquee onstart=alert(1)>",
];

/// Whether `html` could run script or load something active: what the XSS tests look for, in a
/// unit test's output or in a whole page or feed. Words such as "javascript:" in text are
/// harmless; inside a tag they are a URL.
pub fn looks_active(html: &str) -> Option<String> {
    let lower = html.to_lowercase();
    let mut rest = lower.as_str();
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            // A comment is inert, but a browser ends it at the first `-->`, so skip exactly that.
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let (tag, attributes, len) = parse_tag(rest);
        if [
            "script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "style", "img",
            "image", "form", "input", "button", "meta", "link", "base", "textarea", "marquee", "details", "video",
            "audio", "source", "noscript",
        ]
        .contains(&tag.as_str())
        {
            return Some(format!("<{tag}> tag"));
        }
        let raw = &rest[..len];
        for (name, value) in &attributes {
            if name.starts_with("on") && name.len() > 2 {
                return Some(format!("{name} in {raw}"));
            }
            if name == "style" {
                return Some(format!("style= in {raw}"));
            }
            // Browsers ignore tabs and newlines inside a URL and decode entities in attributes.
            let value: String =
                upbeat_core::html::decode_entities(value).chars().filter(|c| !c.is_ascii_whitespace()).collect();
            for needle in ["javascript:", "vbscript:", "data:"] {
                if value.contains(needle) {
                    return Some(format!("{needle} in {raw}"));
                }
            }
        }
        for needle in ["javascript:", "vbscript:", "data:", "style="] {
            if raw.contains(needle) {
                return Some(format!("{needle} in {raw}"));
            }
        }
        rest = &rest[len.max(1)..];
    }
    None
}

/// Splits the tag at the start of `html` (which starts with `<`) into its name, its attributes
/// and its length in bytes, honouring quotes so that a `>` inside a value does not end the tag.
fn parse_tag(html: &str) -> (String, Vec<(String, String)>, usize) {
    let bytes = html.as_bytes();
    let mut i = 1;
    if bytes.get(i) == Some(&b'/') {
        i += 1;
    }
    let name_start = i;
    while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
        i += 1;
    }
    let name = html[name_start..i].to_owned();
    let mut attributes = Vec::new();
    let stop = |b: u8| b.is_ascii_whitespace() || matches!(b, b'/' | b'>' | b'=');
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (name, attributes, bytes.len());
        }
        if bytes[i] == b'>' {
            return (name, attributes, i + 1);
        }
        let attr_start = i;
        // `=` can start a (malformed) attribute name; always consume one byte so the loop moves.
        i += 1;
        while i < bytes.len() && !stop(bytes[i]) {
            i += 1;
        }
        let attr = html[attr_start..i].to_owned();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let value_start;
            match bytes.get(i) {
                Some(&quote @ (b'"' | b'\'')) => {
                    value_start = i + 1;
                    i = html[value_start..].find(quote as char).map_or(bytes.len(), |end| value_start + end);
                    value = html[value_start..i].to_owned();
                    i = (i + 1).min(bytes.len());
                }
                _ => {
                    value_start = i;
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                        i += 1;
                    }
                    value = html[value_start..i].to_owned();
                }
            }
        }
        attributes.push((attr, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK_REL: &str = "rel=\"nofollow noopener\"";

    #[test]
    fn headings() {
        let html = to_html("# One\n\n## Two\n\n###### Six\n\nSetext\n======\n");
        for needle in ["<h1>One</h1>", "<h2>Two</h2>", "<h6>Six</h6>", "<h1>Setext</h1>"] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
    }

    #[test]
    fn lists() {
        let html = to_html("- one\n- two\n  - nested\n\n3. three\n4. four\n");
        for needle in ["<ul>", "<li>one</li>", "<li>nested</li>", "<ol start=\"3\">", "<li>four</li>"] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
    }

    #[test]
    fn code_blocks_are_escaped() {
        let html = to_html("```html\n<b onclick=\"x()\">&amp;</b>\n```\n\n    <script>indented</script>\n");
        assert!(html.contains("<pre><code>&lt;b onclick=\"x()\"&gt;&amp;amp;&lt;/b&gt;\n</code></pre>"), "{html}");
        assert!(html.contains("&lt;script&gt;indented&lt;/script&gt;"), "{html}");
        // The language class is dropped with every other class.
        assert!(!html.contains("class="), "{html}");
        assert_eq!(to_html("`<i>x</i>`"), "<p><code>&lt;i&gt;x&lt;/i&gt;</code></p>\n");
    }

    #[test]
    fn tables() {
        let html = to_html("| Region | Status |\n|:---|---:|\n| eu | **down** |\n");
        for needle in
            ["<table>", "<thead>", "<th>Region</th>", "<tbody>", "<td>eu</td>", "<td><strong>down</strong></td>"]
        {
            assert!(html.contains(needle), "{needle} in {html}");
        }
        // Alignment comes as a style attribute, which goes with every other style.
        assert!(!html.contains("style"), "{html}");
    }

    #[test]
    fn strikethrough() {
        assert_eq!(to_html("~~retracted~~ now"), "<p><del>retracted</del> now</p>\n");
    }

    #[test]
    fn bare_urls_become_links_with_rel() {
        let html = to_html("See https://example.com/a_b?x=1&y=2. Or (https://example.com/c) or HTTPS://Example.com/d!");
        for needle in [
            "<a href=\"https://example.com/a_b?x=1&amp;y=2\" rel=\"nofollow noopener\">https://example.com/a_b?x=1&amp;y=2</a>.",
            "(<a href=\"https://example.com/c\" rel=\"nofollow noopener\">https://example.com/c</a>)",
            "<a href=\"HTTPS://Example.com/d\" rel=\"nofollow noopener\">HTTPS://Example.com/d</a>!",
        ] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
        let wiki = to_html("https://en.wikipedia.org/wiki/Foo_(bar)");
        assert!(wiki.contains("href=\"https://en.wikipedia.org/wiki/Foo_(bar)\""), "{wiki}");
        let angle = to_html("<https://example.com/auto>");
        assert!(angle.contains(&format!("href=\"https://example.com/auto\" {LINK_REL}")), "{angle}");
    }

    #[test]
    fn bare_urls_stay_text_where_a_link_would_be_wrong() {
        for markdown in [
            "`https://example.com/code`",
            "```\nhttps://example.com/block\n```",
            "    https://example.com/indented",
            "xhttps://example.com/glued",
            "https:// nothing",
            "ftp://example.com/other-scheme",
            "![https://example.com/alt](https://example.com/i.png)",
        ] {
            let html = to_html(markdown);
            assert!(!html.contains("<a"), "{markdown:?} became {html:?}");
        }
        // Inside an existing link the URL is that link's text, not a second link.
        for markdown in [
            "[https://example.com/a](https://example.com/b)",
            "<a href=\"https://example.com/b\">https://example.com/a</a>",
        ] {
            let html = to_html(markdown);
            assert_eq!(html.matches("<a ").count(), 1, "{markdown:?} became {html:?}");
            assert!(html.contains(">https://example.com/a</a>"), "{html}");
        }
    }

    #[test]
    fn explicit_links_get_rel() {
        let html = to_html("[docs](https://example.com/a \"Title\") and [mail](mailto:ops@example.com)");
        assert!(html.contains(&format!("<a href=\"https://example.com/a\" {LINK_REL}>docs</a>")), "{html}");
        assert!(html.contains(&format!("<a href=\"mailto:ops@example.com\" {LINK_REL}>mail</a>")), "{html}");
        let raw = to_html("<a href=\"https://example.com/r\" rel=\"opener\" target=\"_blank\">raw</a>");
        assert!(raw.contains(&format!("<a href=\"https://example.com/r\" {LINK_REL}>raw</a>")), "{raw}");
        let relative = to_html("[incident](/incident/3)");
        assert!(relative.contains(&format!("<a href=\"/incident/3\" {LINK_REL}>incident</a>")), "{relative}");
    }

    #[test]
    fn raw_html_is_cleaned_not_passed_through() {
        assert_eq!(to_html("<b>bold</b> <span class=\"x\" id=\"y\">plain</span>"), "<p>bold plain</p>\n");
        assert_eq!(to_html("<strong title=\"t\">ok</strong>"), "<p><strong>ok</strong></p>\n");
    }

    #[test]
    fn no_xss_payload_survives() {
        assert!(XSS_PAYLOADS.len() >= 30);
        let forbidden = [
            "<script",
            "javascript:",
            "vbscript:",
            "data:",
            "<iframe",
            "<object",
            "<embed",
            "<svg",
            "<math",
            "<style",
            "<img",
            "<form",
            "<input",
            "<meta",
            "<link",
            "<base",
            "style=",
        ];
        for payload in XSS_PAYLOADS {
            let html = to_html(payload);
            let lower = html.to_lowercase();
            for needle in forbidden {
                assert!(!lower.contains(needle), "{needle:?}: payload {payload:?} became {html:?}");
            }
            assert_eq!(looks_active(&html), None, "payload {payload:?} became {html:?}");
            // The same text as one paragraph of a longer update, and inside a list and a quote.
            for wrapped in [format!("Update:\n\n{payload}\n\nMore."), format!("- {payload}"), format!("> {payload}")] {
                let html = to_html(&wrapped);
                assert_eq!(looks_active(&html), None, "payload {wrapped:?} became {html:?}");
            }
        }
    }

    #[test]
    fn the_detector_detects() {
        for active in [
            "<p onclick=x>",
            "<p/onclick=x>",
            "<p\nONCLICK = \"x\">",
            "<a href=\"javascript:x\">",
            "<a href=\"java\tscript:x\">",
            "<a href=\"&#106;avascript:x\">",
            "<a href=\"javascript&colon;x\">",
            "<a title=\"a>b\" onmouseover=x>",
            "<a href='data:text/html,x'>",
            "<p style=\"color:red\">",
            "<img src=x>",
            "<SCRIPT>",
            "<!-- x --><svg>",
        ] {
            assert!(looks_active(active).is_some(), "{active:?}");
        }
        for inert in [
            "<p>on the one hand, onload = fine; javascript: is a word here</p>",
            "<a href=\"https://example.com/?on=1\" rel=\"nofollow noopener\">x</a>",
            "<var data-var='date'>23</var>",
            "<!-- <script> -->",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        ] {
            assert_eq!(looks_active(inert), None, "{inert:?}");
        }
    }

    #[test]
    fn text_keeps_paragraphs_and_urls() {
        let text = to_text("We're **investigating**.\n\nSee [the docs](https://example.com/).");
        assert_eq!(text, "We're investigating.\n\nSee the docs (https://example.com/).");
    }

    #[test]
    fn text_of_links_shows_each_url_once_and_no_script_url() {
        let text = to_text(
            "<https://example.com/a> [https://example.com/b](https://example.com/b) \
             [ops@example.com](mailto:ops@example.com) [x](javascript:alert(1)) https://example.com/c",
        );
        assert_eq!(text, "https://example.com/a https://example.com/b ops@example.com x https://example.com/c");
    }

    #[test]
    fn text_of_blocks() {
        let markdown = "# Title\n\nIntro `code` ~~old~~ <b>new</b>\nsecond line\n\n\
                        1. one\n2. two\n   - nested\n3. three\n\n\
                        - a\n- b\n\n\
                        | a | b |\n|---|---|\n| 1 | 2 |\n\n\
                        > quoted\n\n\
                        ```\n  indented code\n```\n\n\
                        <div>\nraw html block\n</div>\n\nEnd.";
        let expected = "Title\n\nIntro code old new\nsecond line\n\n\
                        1. one\n2. two\n  - nested\n3. three\n\n\
                        - a\n- b\n\n\
                        a | b\n1 | 2\n\n\
                        quoted\n\n  indented code\n\nEnd.";
        assert_eq!(to_text(markdown), expected);
    }
}
