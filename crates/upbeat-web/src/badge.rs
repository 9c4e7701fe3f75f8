//! Status badges as SVG, in the familiar flat look: a grey label on the left, a coloured message on
//! the right, rounded corners, a faint gradient and shadowed white text.
//!
//! Pure functions, no I/O: the caller picks the label, message and colour (or uses the uptime and
//! response-time helpers here) and serves the string as `image/svg+xml`. The text is not measured
//! by a font engine: widths come from a table of Verdana 11px advance widths, and every `<text>`
//! carries a `textLength` so that whatever font the viewer ends up with is stretched or squeezed to
//! the width that was laid out. Label and message may come from users (monitor names), so they are
//! normalised (control characters dropped, whitespace collapsed) and XML-escaped everywhere they
//! appear.

use std::fmt::Write as _;

/// A badge's right-hand colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    BrightGreen,
    Green,
    YellowGreen,
    Yellow,
    Orange,
    Red,
    Blue,
    Grey,
}

impl Colour {
    /// The colour as a CSS hex colour.
    pub fn hex(self) -> &'static str {
        match self {
            Colour::BrightGreen => "#4c1",
            Colour::Green => "#97ca00",
            Colour::YellowGreen => "#a4a61d",
            Colour::Yellow => "#dfb317",
            Colour::Orange => "#fe7d37",
            Colour::Red => "#e05d44",
            Colour::Blue => "#007ec6",
            Colour::Grey => "#9f9f9f",
        }
    }
}

/// The label's background.
const LABEL_COLOUR: &str = "#555";
/// Badge height in px.
const HEIGHT: u32 = 20;
/// Horizontal padding on each side of each part, in px.
const PADDING: u32 = 5;

/// Advance widths of Verdana at 11px, in tenths of a pixel, for ASCII 0x20 (space) to 0x7E (`~`).
/// Derived from Verdana's metrics (2048 units per em), rounded.
#[rustfmt::skip]
const VERDANA_11: [u16; 95] = [
    //  ' '  !   "   #    $   %    &   '   (   )   *   +    ,   -   .   /
        39, 44, 55, 101, 76, 132, 88, 32, 55, 55, 76, 101, 44, 55, 44, 55,
    //  0   1   2   3   4   5   6   7   8   9   :   ;   <    =    >    ?
        76, 76, 76, 76, 76, 76, 76, 76, 76, 76, 55, 55, 101, 101, 101, 66,
    //  @    A   B   C   D   E   F   G   H   I   J   K   L   M   N   O
        121, 75, 75, 77, 85, 70, 63, 85, 83, 46, 55, 76, 61, 94, 82, 87,
    //  P   Q   R   S   T   U   V   W    X   Y   Z   [   \   ]   ^    _
        67, 87, 76, 75, 68, 81, 75, 109, 75, 68, 75, 55, 55, 55, 101, 76,
    //  `   a   b   c   d   e   f   g   h   i   j   k   l   m    n   o
        76, 66, 69, 57, 69, 65, 39, 69, 70, 30, 41, 64, 30, 107, 70, 66,
    //  p   q   r   s   t   u   v   w   x   y   z   {   |   }   ~
        69, 69, 47, 56, 43, 70, 64, 89, 64, 64, 57, 77, 55, 77, 101,
];

/// Width of a character outside the table, in tenths of a pixel: a bit wider than an average
/// Verdana letter, so accented Latin, Greek or Cyrillic rather get some air than overflow.
const FALLBACK_WIDTH: u32 = 75;
/// Width of a wide (CJK, Hangul, full-width, emoji) character: one em.
const WIDE_WIDTH: u32 = 110;

/// Advance width of `c` in Verdana 11px, in tenths of a pixel.
fn char_width(c: char) -> u32 {
    let code = u32::from(c);
    if let Some(w) = code.checked_sub(0x20).and_then(|i| VERDANA_11.get(i as usize)) {
        return u32::from(*w);
    }
    if is_wide(code) { WIDE_WIDTH } else { FALLBACK_WIDTH }
}

/// Roughly the East Asian wide and full-width ranges plus emoji, which take a whole em.
fn is_wide(code: u32) -> bool {
    matches!(
        code,
        0x1100..=0x115F          // Hangul Jamo
            | 0x2E80..=0xA4CF    // CJK radicals .. Yi
            | 0xAC00..=0xD7A3    // Hangul syllables
            | 0xF900..=0xFAFF    // CJK compatibility ideographs
            | 0xFE30..=0xFE4F    // CJK compatibility forms
            | 0xFF00..=0xFF60    // full-width forms
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1FAFF  // emoji and pictographs
            | 0x20000..=0x3FFFD // CJK extensions
    )
}

/// Width of `text` in Verdana 11px, in whole pixels (rounded up).
fn text_width(text: &str) -> u32 {
    text.chars().map(char_width).sum::<u32>().div_ceil(10)
}

/// What is drawn of a user-supplied string: control characters (which XML 1.0 cannot carry)
/// dropped, runs of whitespace collapsed to one space and the ends trimmed, as SVG would render it.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') {
            continue;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Appends `text` escaped for XML text and attribute values.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// A length in tenths of a pixel, as an SVG number: `12` or `12.5`.
fn tenths(v: u32) -> String {
    if v.is_multiple_of(10) { format!("{}", v / 10) } else { format!("{}.{}", v / 10, v % 10) }
}

/// Appends the shadow and the text of one part, centred in `[x, x + width)` (pixels).
fn text_into(out: &mut String, text: &str, x: u32, width: u32) {
    let centre = tenths(x * 10 + width * 5);
    let length = width - 2 * PADDING;
    for (y, shadow) in [(15, true), (14, false)] {
        let _ = write!(out, r#"<text x="{centre}" y="{y}" textLength="{length}""#);
        if shadow {
            out.push_str(r##" fill="#010101" fill-opacity=".3""##);
        }
        out.push('>');
        escape_into(out, text);
        out.push_str("</text>");
    }
}

/// A flat badge reading `label` on grey and `message` on `colour`. An empty label draws the
/// message alone.
pub fn svg(label: &str, message: &str, colour: Colour) -> String {
    let label = normalise(label);
    let message = normalise(message);
    let label_width = if label.is_empty() { 0 } else { text_width(&label) + 2 * PADDING };
    let message_width = text_width(&message) + 2 * PADDING;
    let width = label_width + message_width;
    let accessible = if label.is_empty() { message.clone() } else { format!("{label}: {message}") };

    let mut out = String::with_capacity(1024);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" role="img" aria-label=""#
    );
    escape_into(&mut out, &accessible);
    out.push_str(r#""><title>"#);
    escape_into(&mut out, &accessible);
    out.push_str("</title>");
    out.push_str(concat!(
        r#"<linearGradient id="s" x2="0" y2="100%">"#,
        r##"<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>"##,
        r#"<stop offset="1" stop-opacity=".1"/>"#,
        "</linearGradient>",
    ));
    let _ = write!(
        out,
        r##"<clipPath id="r"><rect width="{width}" height="{HEIGHT}" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)">"##
    );
    if label_width > 0 {
        let _ = write!(out, r#"<rect width="{label_width}" height="{HEIGHT}" fill="{LABEL_COLOUR}"/>"#);
    }
    let _ =
        write!(out, r#"<rect x="{label_width}" width="{message_width}" height="{HEIGHT}" fill="{}"/>"#, colour.hex());
    let _ = write!(out, r#"<rect width="{width}" height="{HEIGHT}" fill="url(#s)"/></g>"#);
    out.push_str(
        r##"<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">"##,
    );
    if label_width > 0 {
        text_into(&mut out, &label, 0, label_width);
    }
    text_into(&mut out, &message, label_width, message_width);
    out.push_str("</g></svg>");
    out
}

/// A percentage in whole hundredths, truncated toward zero and clamped to 0..=100%; `None` for no
/// data or a value that is not a number.
fn uptime_hundredths(percent: Option<f64>) -> Option<u32> {
    let p = percent.filter(|p| p.is_finite())?.clamp(0.0, 100.0);
    // `floor` of the product can land one below the true value (99.95 * 100 = 9994.999…), or, in
    // principle, one above; compare against the decimal itself to settle it.
    let mut n = (p * 100.0).floor();
    if (n + 1.0) / 100.0 <= p {
        n += 1.0;
    } else if n / 100.0 > p {
        n -= 1.0;
    }
    // In 0..=10000 by the clamp.
    Some(n as u32)
}

/// Colour for an uptime percentage: >= 99.9 bright green, >= 99 green, >= 97 yellow-green, >= 95
/// yellow, >= 90 orange, else red; None (no data) grey.
pub fn uptime_colour(percent: Option<f64>) -> Colour {
    // Thresholds are whole hundredths, so comparing the truncated value agrees with the raw one
    // and with the message.
    match uptime_hundredths(percent) {
        None => Colour::Grey,
        Some(n) if n >= 9990 => Colour::BrightGreen,
        Some(n) if n >= 9900 => Colour::Green,
        Some(n) if n >= 9700 => Colour::YellowGreen,
        Some(n) if n >= 9500 => Colour::Yellow,
        Some(n) if n >= 9000 => Colour::Orange,
        Some(_) => Colour::Red,
    }
}

/// Message for an uptime percentage: "100%", "99.95%", "97.1%" — two decimals trimmed of trailing
/// zeros, never rounding 99.995 up to "100%" (truncate toward zero at 2 decimals), "no data" for
/// None.
pub fn uptime_message(percent: Option<f64>) -> String {
    match uptime_hundredths(percent) {
        None => "no data".to_owned(),
        Some(n) => format!("{}%", hundredths(n)),
    }
}

/// `n / 100` with at most two decimals and no trailing zeros: `100`, `99.5`, `99.95`.
fn hundredths(n: u32) -> String {
    let (whole, frac) = (n / 100, n % 100);
    if frac == 0 {
        format!("{whole}")
    } else if frac.is_multiple_of(10) {
        format!("{whole}.{}", frac / 10)
    } else {
        format!("{whole}.{frac:02}")
    }
}

/// Colour for an average response time in milliseconds: < 200 bright green, < 500 green, < 1000
/// yellow, < 2000 orange, else red; None grey.
pub fn response_colour(ms: Option<f64>) -> Colour {
    match ms.filter(|ms| ms.is_finite()) {
        None => Colour::Grey,
        Some(ms) if ms < 200.0 => Colour::BrightGreen,
        Some(ms) if ms < 500.0 => Colour::Green,
        Some(ms) if ms < 1000.0 => Colour::Yellow,
        Some(ms) if ms < 2000.0 => Colour::Orange,
        Some(_) => Colour::Red,
    }
}

/// "123ms", "1.25s" at 1000 ms and above, "no data" for None.
pub fn response_message(ms: Option<f64>) -> String {
    let Some(ms) = ms.filter(|ms| ms.is_finite()) else {
        return "no data".to_owned();
    };
    let ms = ms.max(0.0);
    // A tenth of a millisecond below 10, so a service on the same network does not read "0ms".
    if (ms * 10.0).round() < 100.0 {
        return format!("{}ms", (ms * 10.0).round() / 10.0);
    }
    // Decide on the rounded value, so 999.7 reads "1s" rather than "1000ms".
    if ms.round() < 1000.0 {
        format!("{}ms", ms.round())
    } else {
        // Hundredths of a second; saturates (at ~42 million seconds) rather than wrapping.
        let n = (ms / 10.0).round() as u32;
        format!("{}s", hundredths(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small well-formedness check: tags balance, attribute values are quoted and unique, and
    /// `<` and `&` only appear as markup or entity references.
    fn check_well_formed(xml: &str) {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = xml;
        let mut seen_root = false;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('<') {
                let end = after.find('>').expect("unterminated tag");
                let tag = &after[..end];
                rest = &after[end + 1..];
                if let Some(name) = tag.strip_prefix('/') {
                    assert_eq!(stack.pop(), Some(name), "mismatched closing tag </{name}>");
                    continue;
                }
                assert!(!(stack.is_empty() && seen_root), "a second root element");
                seen_root = true;
                let (body, self_closing) = match tag.strip_suffix('/') {
                    Some(body) => (body, true),
                    None => (tag, false),
                };
                let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
                let name = &body[..name_end];
                assert!(
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                    "bad name {name:?}"
                );
                check_attributes(&body[name_end..]);
                if !self_closing {
                    stack.push(name);
                }
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                let text = &rest[..end];
                assert!(!stack.is_empty() || text.trim().is_empty(), "text outside the root element");
                check_entities(text);
                rest = &rest[end..];
            }
        }
        assert!(seen_root, "no root element");
        assert!(stack.is_empty(), "unclosed tags {stack:?}");
    }

    fn check_attributes(mut attrs: &str) {
        let mut names = Vec::new();
        loop {
            attrs = attrs.trim_start();
            if attrs.is_empty() {
                break;
            }
            let eq = attrs.find('=').expect("attribute without a value");
            let name = &attrs[..eq];
            assert!(!name.is_empty() && !name.contains(char::is_whitespace), "bad attribute name {name:?}");
            assert!(!names.contains(&name), "duplicate attribute {name}");
            names.push(name);
            let value = attrs[eq + 1..].strip_prefix('"').expect("unquoted attribute value");
            let close = value.find('"').expect("unterminated attribute value");
            assert!(!value[..close].contains('<'), "raw < in an attribute value");
            check_entities(&value[..close]);
            attrs = &value[close + 1..];
            assert!(attrs.is_empty() || attrs.starts_with(char::is_whitespace), "attributes run together");
        }
    }

    fn check_entities(text: &str) {
        let mut parts = text.split('&');
        parts.next();
        for part in parts {
            assert!(["amp;", "lt;", "gt;", "quot;", "apos;"].iter().any(|e| part.starts_with(e)), "raw & in {text:?}");
        }
    }

    /// The badge's `width` attribute.
    fn width(svg: &str) -> u32 {
        let start = svg.find(" width=\"").expect("width") + 8;
        let end = start + svg[start..].find('"').expect("end of width");
        svg[start..end].parse().expect("numeric width")
    }

    #[test]
    fn badge_is_well_formed() {
        check_well_formed(&svg("uptime", "99.95%", Colour::BrightGreen));
        check_well_formed(&svg("", "up", Colour::Green));
        check_well_formed(&svg("a <b> & \"c\" 'd'", "x>y&z", Colour::Red));
        check_well_formed(&svg("tab\there\u{0}\u{7}\nnew  line", "", Colour::Grey));
    }

    #[test]
    fn the_checker_catches_broken_xml() {
        for bad in ["<svg><g></svg>", "<svg>a & b</svg>", "<svg x=1/>", "<svg><g></g>", "<svg/><svg/>"] {
            assert!(std::panic::catch_unwind(|| check_well_formed(bad)).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn badge_has_the_flat_look() {
        let s = svg("status", "up", Colour::BrightGreen);
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(s.contains("role=\"img\""));
        assert!(s.contains("rx=\"3\""));
        assert!(s.contains("<linearGradient"));
        assert!(s.contains("fill=\"#555\""));
        assert!(s.contains("fill=\"#4c1\""));
        assert!(s.contains("font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\""));
        assert_eq!(s.matches("fill=\"#010101\" fill-opacity=\".3\"").count(), 2);
        assert_eq!(s.matches("<text ").count(), 4);
        assert!(s.contains(">status</text>") && s.contains(">up</text>"));
    }

    #[test]
    fn aria_label_and_title() {
        let s = svg("api", "down", Colour::Red);
        assert!(s.contains("aria-label=\"api: down\""));
        assert!(s.contains("<title>api: down</title>"));
        let s = svg("", "down", Colour::Red);
        assert!(s.contains("aria-label=\"down\""));
        assert!(s.contains("<title>down</title>"));
        assert!(!s.contains("#555"));
    }

    #[test]
    fn width_follows_the_text() {
        let short = width(&svg("api", "up", Colour::BrightGreen));
        let longer_label = width(&svg("payments api", "up", Colour::BrightGreen));
        let longer_message = width(&svg("api", "degraded", Colour::Yellow));
        assert!(longer_label > short && longer_message > short, "{short} {longer_label} {longer_message}");
        // Wide letters take more room than narrow ones.
        assert!(width(&svg("mmmm", "x", Colour::Blue)) > width(&svg("iiii", "x", Colour::Blue)));
        // Padding: an empty message still gets 5px on each side.
        assert_eq!(width(&svg("", "", Colour::Grey)), 10);
        // "up" is 7.0 + 6.9 = 13.9px, so 14 + 10.
        assert_eq!(width(&svg("", "up", Colour::Grey)), 24);
        assert!(width(&svg("é", "x", Colour::Blue)) > width(&svg("", "x", Colour::Blue)));
        assert!(width(&svg("日本", "x", Colour::Blue)) > width(&svg("ab", "x", Colour::Blue)));
        // The whole badge is the sum of its parts.
        let s = svg("api", "up", Colour::BrightGreen);
        let w = width(&s);
        assert!(s.contains(&format!("viewBox=\"0 0 {w} 20\"")));
        assert!(s.contains(&format!("<rect width=\"{w}\" height=\"20\" rx=\"3\"")));
    }

    #[test]
    fn user_text_is_escaped() {
        let s = svg("<script>&\"'", "a<b", Colour::Red);
        check_well_formed(&s);
        assert!(!s.contains("<script>"));
        assert!(s.contains("&lt;script&gt;&amp;&quot;&apos;"));
        assert!(s.contains("aria-label=\"&lt;script&gt;&amp;&quot;&apos;: a&lt;b\""));
        assert!(s.contains("<title>&lt;script&gt;&amp;&quot;&apos;: a&lt;b</title>"));
        assert!(s.contains(">a&lt;b</text>"));
    }

    #[test]
    fn control_characters_and_whitespace_are_normalised() {
        let s = svg("  my\tapi\u{0}\u{1b} \n ", "up", Colour::BrightGreen);
        assert!(s.contains("aria-label=\"my api: up\""));
        assert!(!s.contains('\u{0}') && !s.contains('\u{1b}') && !s.contains('\t'));
    }

    #[test]
    fn uptime_messages() {
        assert_eq!(uptime_message(Some(100.0)), "100%");
        assert_eq!(uptime_message(Some(99.999)), "99.99%");
        assert_eq!(uptime_message(Some(99.995)), "99.99%");
        assert_eq!(uptime_message(Some(99.999_999_9)), "99.99%");
        assert_eq!(uptime_message(Some(99.95)), "99.95%");
        assert_eq!(uptime_message(Some(99.5)), "99.5%");
        assert_eq!(uptime_message(Some(97.1)), "97.1%");
        assert_eq!(uptime_message(Some(99.0)), "99%");
        assert_eq!(uptime_message(Some(0.0)), "0%");
        assert_eq!(uptime_message(Some(0.009)), "0%");
        assert_eq!(uptime_message(Some(0.01)), "0.01%");
        assert_eq!(uptime_message(Some(-3.0)), "0%");
        assert_eq!(uptime_message(Some(100.5)), "100%");
        assert_eq!(uptime_message(None), "no data");
        assert_eq!(uptime_message(Some(f64::NAN)), "no data");
        // Every hundredth survives the round trip through floating point.
        for n in 0..=10_000u32 {
            let p = f64::from(n) / 100.0;
            assert_eq!(uptime_message(Some(p)), format!("{}%", hundredths(n)), "{p}");
        }
        // Computed percentages, as a store would produce them.
        assert_eq!(uptime_message(Some(1999.0 / 2000.0 * 100.0)), "99.95%");
        assert_eq!(uptime_message(Some(9999.0 / 10_000.0 * 100.0)), "99.99%");
    }

    #[test]
    fn uptime_colours() {
        assert_eq!(uptime_colour(Some(100.0)), Colour::BrightGreen);
        assert_eq!(uptime_colour(Some(99.9)), Colour::BrightGreen);
        assert_eq!(uptime_colour(Some(99.899)), Colour::Green);
        assert_eq!(uptime_colour(Some(99.0)), Colour::Green);
        assert_eq!(uptime_colour(Some(98.99)), Colour::YellowGreen);
        assert_eq!(uptime_colour(Some(97.0)), Colour::YellowGreen);
        assert_eq!(uptime_colour(Some(96.999)), Colour::Yellow);
        assert_eq!(uptime_colour(Some(95.0)), Colour::Yellow);
        assert_eq!(uptime_colour(Some(94.99)), Colour::Orange);
        assert_eq!(uptime_colour(Some(90.0)), Colour::Orange);
        assert_eq!(uptime_colour(Some(89.99)), Colour::Red);
        assert_eq!(uptime_colour(Some(0.0)), Colour::Red);
        assert_eq!(uptime_colour(None), Colour::Grey);
        assert_eq!(uptime_colour(Some(f64::NAN)), Colour::Grey);
    }

    #[test]
    fn response_messages() {
        assert_eq!(response_message(Some(87.4)), "87ms");
        assert_eq!(response_message(Some(87.5)), "88ms");
        assert_eq!(response_message(Some(0.0)), "0ms");
        assert_eq!(response_message(Some(0.42)), "0.4ms");
        assert_eq!(response_message(Some(9.96)), "10ms");
        assert_eq!(response_message(Some(9.94)), "9.9ms");
        assert_eq!(response_message(Some(123.0)), "123ms");
        assert_eq!(response_message(Some(999.4)), "999ms");
        assert_eq!(response_message(Some(999.7)), "1s");
        assert_eq!(response_message(Some(1000.0)), "1s");
        assert_eq!(response_message(Some(1250.0)), "1.25s");
        assert_eq!(response_message(Some(1500.0)), "1.5s");
        assert_eq!(response_message(Some(12_345.0)), "12.35s");
        assert_eq!(response_message(Some(-5.0)), "0ms");
        assert_eq!(response_message(None), "no data");
        assert_eq!(response_message(Some(f64::INFINITY)), "no data");
    }

    #[test]
    fn response_colours() {
        assert_eq!(response_colour(Some(0.0)), Colour::BrightGreen);
        assert_eq!(response_colour(Some(199.9)), Colour::BrightGreen);
        assert_eq!(response_colour(Some(200.0)), Colour::Green);
        assert_eq!(response_colour(Some(499.0)), Colour::Green);
        assert_eq!(response_colour(Some(500.0)), Colour::Yellow);
        assert_eq!(response_colour(Some(999.0)), Colour::Yellow);
        assert_eq!(response_colour(Some(1000.0)), Colour::Orange);
        assert_eq!(response_colour(Some(1999.0)), Colour::Orange);
        assert_eq!(response_colour(Some(2000.0)), Colour::Red);
        assert_eq!(response_colour(Some(f64::INFINITY)), Colour::Grey);
        assert_eq!(response_colour(None), Colour::Grey);
    }

    #[test]
    fn colours() {
        assert_eq!(Colour::BrightGreen.hex(), "#4c1");
        assert_eq!(Colour::Green.hex(), "#97ca00");
        assert_eq!(Colour::YellowGreen.hex(), "#a4a61d");
        assert_eq!(Colour::Yellow.hex(), "#dfb317");
        assert_eq!(Colour::Orange.hex(), "#fe7d37");
        assert_eq!(Colour::Red.hex(), "#e05d44");
        assert_eq!(Colour::Blue.hex(), "#007ec6");
        assert_eq!(Colour::Grey.hex(), "#9f9f9f");
    }
}
