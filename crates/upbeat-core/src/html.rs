//! HTML character references, for text that came out of HTML (imported feed bodies) or that a
//! browser would decode before acting on it (link targets).

/// Decodes numeric references (`&#58;`, `&#x3A;`) and the named ones that matter for text and for
/// URL schemes; anything else, and a lone `&`, stays as it is.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match rest.find(';').filter(|end| *end <= 12).and_then(|end| Some((reference(&rest[1..end])?, end))) {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character one reference (what is between `&` and `;`) stands for.
fn reference(name: &str) -> Option<char> {
    let named = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "colon" => ':',
        "tab" => '\t',
        "newline" => '\n',
        _ => {
            let code = match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => name.strip_prefix('#')?.parse().ok()?,
            };
            return char::from_u32(code);
        }
    };
    Some(named)
}

#[cfg(test)]
mod tests {
    use super::decode_entities;

    #[test]
    fn references_decode_and_everything_else_stays() {
        assert_eq!(decode_entities("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"), "a & b <c> \"d\" 'e'");
        assert_eq!(decode_entities("java&#115;cript&colon;x &#x3A; &#X3a;"), "javascript:x : :");
        assert_eq!(
            decode_entities("AT&T; &unknown; &#xZZ; &#1114112; & alone &"),
            "AT&T; &unknown; &#xZZ; &#1114112; & alone &"
        );
        assert_eq!(decode_entities("&amp;amp;"), "&amp;", "decoded once");
    }
}
