//! A small element tree over quick-xml, for feeds that fit in memory.
//!
//! Feeds are read whole (the caller bounds their size), so a tree is simpler than a streaming
//! parser and still bounded: at most [`MAX_NODES`] elements, nested at most [`MAX_DEPTH`] deep.
//! Document type declarations are refused outright, so no entity is ever expanded beyond the five
//! predefined ones and character references: an entity-expansion bomb is an error, not a hang.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use crate::ImportError;

pub const MAX_NODES: usize = 5_000_000;
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, Default)]
pub struct Element {
    /// The local name, without a namespace prefix.
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    /// The element's own text (text, CDATA and references, in order), not its children's.
    pub text: String,
    /// 1-based line of the start tag.
    pub line: usize,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child called `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The child `name` with some text, or an error naming this element and its line.
    pub fn required_child(&self, name: &str) -> Result<&Element, ImportError> {
        match self.child(name) {
            Some(child) if !child.text.trim().is_empty() => Ok(child),
            _ => Err(ImportError::at(self.line, &self.name, format!("<{name}> is missing or empty"))),
        }
    }

    /// The child's text parsed as a date; an error names the child's own line.
    pub fn date(&self, name: &str) -> Result<chrono::DateTime<chrono::Utc>, ImportError> {
        let child = self.required_child(name)?;
        crate::dates::parse(&child.text).map_err(|message| ImportError::at(child.line, name, message))
    }

    /// The text of the child `name`, or an error naming this element and its line.
    pub fn required(&self, name: &str) -> Result<&str, ImportError> {
        match self.child_text(name) {
            Some(text) if !text.trim().is_empty() => Ok(text),
            _ => Err(ImportError::at(self.line, &self.name, format!("<{name}> is missing or empty"))),
        }
    }
}

/// Counts lines up to byte offsets that only grow, without rescanning from the start.
struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset > self.offset {
            self.line += self.text[self.offset..offset].iter().filter(|b| **b == b'\n').count();
            self.offset = offset;
        }
        self.line
    }
}

/// Parses a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, ImportError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut lines = Lines { text: text.as_bytes(), offset: 0, line: 1 };
    let mut stack: Vec<Element> = Vec::new();
    let mut nodes = 0usize;
    let mut root: Option<Element> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            let at = reader.error_position() as usize;
            ImportError::at(
                lines.at(at),
                stack.last().map_or("document", |e| e.name.as_str()),
                format!("not well-formed XML: {e}"),
            )
        })?;
        match event {
            Event::DocType(_) => {
                return Err(ImportError::at(
                    lines.at(before),
                    "document",
                    "document type declarations (<!DOCTYPE>) are refused: they can declare entities that expand without bound",
                ));
            }
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(ImportError::at(lines.at(before), "document", "content after the root element"));
            }
            Event::Start(start) => {
                nodes += 1;
                if nodes > MAX_NODES || stack.len() >= MAX_DEPTH {
                    return Err(ImportError::at(
                        lines.at(before),
                        "document",
                        "too many or too deeply nested elements",
                    ));
                }
                stack.push(element(&start, lines.at(before))?);
            }
            Event::Empty(start) => {
                nodes += 1;
                let el = element(&start, lines.at(before))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(ImportError::at(lines.at(before), "document", "an end tag without a start"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                } else if !t.trim().is_empty() {
                    return Err(ImportError::at(lines.at(before), "document", "text outside the root element"));
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match resolve_predefined_entity(&r) {
                        Some(s) => s.to_owned(),
                        None => {
                            return Err(ImportError::at(
                                lines.at(before),
                                stack.last().map_or("document", |e| e.name.as_str()),
                                format!("unknown entity `&{};`", &*r),
                            ));
                        }
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(ImportError::at(
            lines.at(text.len()),
            &open.name,
            format!("the document ends inside <{}> (opened on line {}): is it truncated?", open.name, open.line),
        ));
    }
    root.ok_or_else(|| ImportError::at(1, "document", "no root element"))
}

fn element(start: &BytesStart<'_>, line: usize) -> Result<Element, ImportError> {
    let name = start.local_name().as_ref().to_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| ImportError::at(line, &name, format!("bad attribute: {e}")))?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| ImportError::at(line, &name, format!("bad attribute: {e}")))?;
        attrs.push((attr.key.local_name().as_ref().to_owned(), value.into_owned()));
    }
    Ok(Element { name, attrs, children: Vec::new(), text: String::new(), line })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_references_and_cdata_are_joined_in_order() {
        let root = parse("<a>\n <b x=\"1&amp;2\">A &amp; B &#x41;<![CDATA[<i>]]></b><c/></a>").unwrap();
        let b = root.child("b").unwrap();
        assert_eq!(b.text, "A & B A<i>");
        assert_eq!(b.attr("x"), Some("1&2"));
        assert_eq!(b.line, 2);
        assert!(root.child("c").is_some());
    }

    #[test]
    fn doctype_truncation_and_unknown_entities_are_errors() {
        let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>\n<lolz>&lol2;</lolz>";
        let e = parse(bomb).unwrap_err();
        assert!(e.to_string().contains("DOCTYPE"), "{e}");
        assert_eq!(e.line, Some(2));
        let e = parse("<rss>\n<channel>\n<item><title>x</title>").unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        let e = parse("<a>&nope;</a>").unwrap_err();
        assert!(e.to_string().contains("unknown entity"), "{e}");
    }
}
