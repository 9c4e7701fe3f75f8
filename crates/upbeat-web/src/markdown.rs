//! Markdown written by people, made safe to show.
//!
//! Incident updates are written in the worst hour of someone's week, sometimes pasted from a chat
//! or a ticket, and every page and feed that shows them must show HTML that cannot run script.
//! CommonMark (with tables, strikethrough and bare-URL links) is rendered by pulldown-cmark, and
//! the result, raw HTML included, always goes through ammonia's allow-list before anyone sees it.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let tags: HashSet<&str> = [
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
        ]
        .into_iter()
        .collect();
        let mut builder = ammonia::Builder::default();
        builder
            .tags(tags)
            .generic_attributes(HashSet::new())
            .tag_attributes([("a", ["href"].into_iter().collect()), ("ol", ["start"].into_iter().collect())].into())
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(Some("nofollow noopener"))
            .url_relative(ammonia::UrlRelative::PassThrough);
        builder
    })
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Turns bare `http(s)://` URLs in text into links; code and existing links are left alone.
fn autolink<'a>(events: impl Iterator<Item = Event<'a>>) -> Vec<Event<'a>> {
    let mut out = Vec::new();
    let (mut in_link, mut in_code) = (0usize, 0usize);
    for event in events {
        match &event {
            Event::Start(Tag::Link { .. }) => in_link += 1,
            Event::End(TagEnd::Link) => in_link = in_link.saturating_sub(1),
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(TagEnd::CodeBlock) => in_code = in_code.saturating_sub(1),
            Event::Text(text) if in_link == 0 && in_code == 0 && text.contains("://") => {
                split_urls(text, &mut out);
                continue;
            }
            _ => {}
        }
        out.push(event);
    }
    out
}

fn split_urls<'a>(text: &str, out: &mut Vec<Event<'a>>) {
    let mut rest = text;
    while let Some(start) = ["https://", "http://"].iter().filter_map(|p| rest.find(p)).min() {
        let tail = &rest[start..];
        let mut end = tail.find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"').unwrap_or(tail.len());
        // Trailing punctuation belongs to the sentence, not the URL.
        while end > 0 && tail[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', '\'']) {
            end -= 1;
        }
        let url = &tail[..end];
        if url.len() <= "https://".len() {
            out.push(Event::Text(rest[..start + end.max(1)].to_owned().into()));
            rest = &rest[start + end.max(1)..];
            continue;
        }
        if start > 0 {
            out.push(Event::Text(rest[..start].to_owned().into()));
        }
        out.push(Event::Start(Tag::Link {
            link_type: pulldown_cmark::LinkType::Autolink,
            dest_url: url.to_owned().into(),
            title: "".into(),
            id: "".into(),
        }));
        out.push(Event::Text(url.to_owned().into()));
        out.push(Event::End(TagEnd::Link));
        rest = &tail[end..];
    }
    if !rest.is_empty() {
        out.push(Event::Text(rest.to_owned().into()));
    }
}

/// Markdown to sanitized HTML: no script, no event handlers, no `javascript:` or `data:` URLs,
/// no images or frames; links carry `rel="nofollow noopener"`.
pub fn to_html(markdown: &str) -> String {
    let events = autolink(Parser::new_ext(markdown, options()));
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    cleaner().clean(&html).to_string()
}

/// Markdown to plain text, for places that cannot show HTML: paragraphs separated by blank
/// lines, link text followed by its URL in parentheses.
pub fn to_text(markdown: &str) -> String {
    let mut out = String::new();
    let mut links: Vec<String> = Vec::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop()
                    && !out.ends_with(&url)
                {
                    out.push_str(&format!(" ({url})"));
                }
            }
            Event::Start(Tag::Item) => out.push_str("- "),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::CodeBlock) => out.push_str("\n\n"),
            Event::End(TagEnd::Item | TagEnd::TableRow) => out.push('\n'),
            Event::End(TagEnd::List(_) | TagEnd::BlockQuote(_) | TagEnd::Table) => out.push('\n'),
            _ => {}
        }
        if out.ends_with("\n\n\n") {
            out.pop();
        }
    }
    out.trim().to_owned()
}

/// Classic XSS payloads. Tests of pages and feeds post them and check that none reaches a reader
/// unescaped.
pub const XSS_PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<svg onload=alert(1)>",
    "<iframe src=\"https://example.invalid/\"></iframe>",
    "<body onload=alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "\"><script>alert(1)</script>",
    "<scr<script>ipt>alert(1)</script>",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
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
    "<a href=\"  javascript:alert(1)\">x</a>",
    "<textarea><script>alert(1)</script></textarea>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<img src=\"data:image/svg+xml,<svg onload=alert(1)>\">",
    "<p onclick=\"alert(1)\">click</p>",
    "`<script>` in code is text",
    "<marquee onstart=alert(1)>",
];

/// Whether `html` could run script or load something active: what the XSS tests look for. Text
/// such as "javascript:" outside a tag is harmless words; inside a tag it is a URL.
pub fn looks_active(html: &str) -> Option<String> {
    let lower = html.to_lowercase();
    let mut rest = lower.as_str();
    while let Some(open) = rest.find('<') {
        let tag_end = rest[open..].find('>').map_or(rest.len(), |e| open + e + 1);
        let tag = &rest[open..tag_end];
        let name: String = tag[1..].trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if [
            "script", "iframe", "object", "embed", "svg", "math", "style", "img", "form", "input", "meta", "link",
            "base", "textarea", "marquee", "details", "video", "source", "frame", "applet",
        ]
        .contains(&name.as_str())
        {
            return Some(format!("<{name}> tag"));
        }
        for needle in ["javascript:", "vbscript:", "data:", "style="] {
            if tag.contains(needle) {
                return Some(format!("{needle} in {tag}"));
            }
        }
        // An attribute whose name starts with `on`.
        let attribute_names =
            tag.split(|c: char| c.is_whitespace() || c == '/').skip(1).filter_map(|a| a.split('=').next());
        if let Some(handler) = attribute_names.into_iter().find(|a| a.starts_with("on") && a.len() > 2) {
            return Some(format!("{handler} in {tag}"));
        }
        rest = &rest[tag_end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_markdown_renders() {
        let html = to_html("# Title\n\n- one\n- two\n\n**bold** ~~gone~~ `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        for needle in [
            "<h1>Title</h1>",
            "<li>one</li>",
            "<strong>bold</strong>",
            "<del>gone</del>",
            "<code>code</code>",
            "<td>1</td>",
        ] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
    }

    #[test]
    fn code_is_escaped_and_links_get_rel() {
        let html = to_html("```\n<b>x</b>\n```\n\n[docs](https://example.com/a) and https://example.com/b.");
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"), "{html}");
        assert!(html.contains("<a href=\"https://example.com/a\" rel=\"nofollow noopener\">docs</a>"), "{html}");
        assert!(
            html.contains("<a href=\"https://example.com/b\" rel=\"nofollow noopener\">https://example.com/b</a>."),
            "{html}"
        );
        assert!(!to_html("`https://example.com/c`").contains("<a"), "no links inside code");
    }

    #[test]
    fn no_xss_payload_survives() {
        assert!(XSS_PAYLOADS.len() >= 30);
        for payload in XSS_PAYLOADS {
            let html = to_html(payload);
            assert_eq!(looks_active(&html), None, "payload {payload:?} became {html:?}");
        }
    }

    #[test]
    fn the_detector_detects() {
        assert!(looks_active("<p onclick=x>").is_some());
        assert!(looks_active("<a href=\"javascript:x\">").is_some());
        assert!(looks_active("<img src=x>").is_some());
        assert_eq!(looks_active("<p>on the one hand, = fine; javascript: is a word here</p>"), None);
    }

    #[test]
    fn text_keeps_paragraphs_and_urls() {
        let text = to_text("We're **investigating**.\n\nSee [the docs](https://example.com/).");
        assert_eq!(text, "We're investigating.\n\nSee the docs (https://example.com/).");
    }
}

#[cfg(test)]
mod probe {
    #[test]
    fn probe() {
        for md in [
            "see https://example.com/a_b_c and https://en.wikipedia.org/wiki/Foo_(bar).",
            "see https://example.com/*x* now",
            "see https://example.com/~a~ now",
            "<a href=\"https://x.org\">https://x.org/inside</a>",
            "<https://example.com/auto>",
            "**https://example.com/bold**",
            "https://example.com/a&b=c<d",
            "(see https://example.com/x)",
            "HTTPS://EXAMPLE.COM/up",
            "mailto:a@b.c [m](mailto:a@b.c)",
            "1. one\n2. two\n   - nested\n   - nested2\n3. three",
            "- a\n  - b\n- c",
            "| a | b |\n|---|---|\n| 1 | 2 |",
            "> quoted\n> more\n\nafter",
            "# H\ntext\n\n---\n\n```rust\nfn x() {}\n```\nend",
            "<div>hello <b>world</b></div>\n\npara",
            "line one\nline two  \nline three",
            "3. starts at 3\n4. four",
            "![alt text](https://x/y.png)",
            "`https://example.com/code`",
        ] {
            println!("MD  {md:?}\nHTML {:?}\nTEXT {:?}\n", super::to_html(md), super::to_text(md));
        }
        for p in super::XSS_PAYLOADS {
            println!("{p:?}\n  -> {:?}", super::to_html(p));
        }
    }
}
