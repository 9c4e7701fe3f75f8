//! A small decoder over TOML's spanned document that collects every error with its line.
//!
//! serde stops at the first problem; an operator fixing a config wants all of them at once, each
//! with the file, the line and the field. So the checked model is built by walking the document:
//! each table hands out its fields by name, and whatever is left when it is finished is an unknown
//! field (in a table whose kind is missing or unknown, one that no kind takes).

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One problem in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The field's path, like `monitor[2].interval`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.field, self.message)
    }
}

/// Every error found in one file, in the order of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects errors against one source text.
pub struct Report<'s> {
    pub(crate) file: &'s str,
    source: &'s str,
    errors: Vec<ConfigError>,
}

impl<'s> Report<'s> {
    pub fn new(file: &'s str, source: &'s str) -> Self {
        Report { file, source, errors: Vec::new() }
    }

    pub fn error(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        let before = &self.source[..span.start.min(self.source.len())];
        let line = self.line_of(span.start);
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line,
            column,
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// The line an offset is on, counted from 1, for messages that name another place.
    pub fn line_of(&self, offset: usize) -> usize {
        self.source[..offset.min(self.source.len())].matches('\n').count() + 1
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn finish(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|e| (e.line, e.column));
        ConfigErrors(self.errors)
    }
}

/// One TOML table being decoded, field by field.
pub struct Fields<'d, 'i> {
    table: &'d DeTable<'i>,
    span: Range<usize>,
    path: String,
    taken: BTreeSet<String>,
}

/// A value with where it was written, for errors found after decoding (an unknown component id).
#[derive(Clone)]
pub struct At<T> {
    pub value: T,
    pub span: Range<usize>,
    pub field: String,
}

impl<'d, 'i> Fields<'d, 'i> {
    pub fn new(table: &'d DeTable<'i>, span: Range<usize>, path: impl Into<String>) -> Self {
        Fields { table, span, path: path.into(), taken: BTreeSet::new() }
    }

    pub fn path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    fn raw(&mut self, key: &str) -> Option<&'d Spanned<DeValue<'i>>> {
        self.taken.insert(key.to_owned());
        self.table.iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v)
    }

    /// Where a key was written, or the table itself when it is missing.
    pub fn key_span(&self, key: &str) -> Range<usize> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map_or_else(|| self.span.clone(), |(_, v)| v.span())
    }

    fn typed<T>(
        &mut self,
        r: &mut Report<'_>,
        key: &str,
        expected: &str,
        convert: impl FnOnce(&'d DeValue<'i>) -> Option<Result<T, String>>,
    ) -> Option<T> {
        let value = self.raw(key)?;
        let field = self.path(key);
        match convert(value.get_ref()) {
            Some(Ok(v)) => Some(v),
            Some(Err(message)) => {
                r.error(value.span(), &field, message);
                None
            }
            None => {
                r.error(value.span(), &field, format!("expected {expected}, found {}", value.get_ref().type_str()));
                None
            }
        }
    }

    pub fn string(&mut self, r: &mut Report<'_>, key: &str) -> Option<String> {
        self.typed(r, key, "a string", |v| v.as_str().map(|s| Ok(s.to_owned())))
    }

    pub fn string_at(&mut self, r: &mut Report<'_>, key: &str) -> Option<At<String>> {
        let span = self.key_span(key);
        let field = self.path(key);
        self.string(r, key).map(|value| At { value, span, field })
    }

    /// A string that must be there and must not be blank.
    pub fn required_string(&mut self, r: &mut Report<'_>, key: &str) -> Option<String> {
        if self.raw(key).is_none() {
            r.error(self.span.clone(), &self.path(key), "is required");
            return None;
        }
        let span = self.key_span(key);
        let value = self.string(r, key)?;
        if value.trim().is_empty() {
            r.error(span, &self.path(key), "must not be empty");
            return None;
        }
        Some(value)
    }

    /// Parses a string field with `parse`, reporting its error at the field.
    pub fn parsed<T>(
        &mut self,
        r: &mut Report<'_>,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.typed(r, key, "a string", |v| v.as_str().map(parse))
    }

    /// Like [`Fields::parsed`], with where the value was written.
    pub fn parsed_at<T>(
        &mut self,
        r: &mut Report<'_>,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<At<T>> {
        let span = self.key_span(key);
        let field = self.path(key);
        self.parsed(r, key, parse).map(|value| At { value, span, field })
    }

    pub fn bool(&mut self, r: &mut Report<'_>, key: &str) -> Option<bool> {
        self.typed(r, key, "true or false", |v| v.as_bool().map(Ok))
    }

    pub fn integer(&mut self, r: &mut Report<'_>, key: &str, range: Range<i64>) -> Option<i64> {
        self.typed(r, key, "an integer", |v| {
            v.as_integer().map(|i| {
                let digits = i.as_str().replace('_', "");
                let (negative, digits) = match digits.strip_prefix('-') {
                    Some(rest) => (true, rest.to_owned()),
                    None => (false, digits.trim_start_matches('+').to_owned()),
                };
                let digits = digits.trim_start_matches("0x").trim_start_matches("0o").trim_start_matches("0b");
                let n = i64::from_str_radix(digits, i.radix()).map_err(|_| "integer out of range".to_owned())?;
                let n = if negative { -n } else { n };
                if range.contains(&n) {
                    Ok(n)
                } else {
                    Err(format!("must be between {} and {}", range.start, range.end - 1))
                }
            })
        })
    }

    pub fn duration(&mut self, r: &mut Report<'_>, key: &str, min: Duration) -> Option<Duration> {
        self.typed(r, key, "a duration like \"30s\"", |v| {
            v.as_str().map(|s| {
                let d = crate::duration::parse(s)?;
                if d < min { Err(format!("must be at least {}", crate::duration::human(min))) } else { Ok(d) }
            })
        })
    }

    /// A string or an array of strings.
    pub fn strings(&mut self, r: &mut Report<'_>, key: &str) -> Option<Vec<String>> {
        self.typed(r, key, "a string or an array of strings", |v| match v {
            DeValue::String(s) => Some(Ok(vec![s.to_string()])),
            DeValue::Array(items) => {
                items.iter().map(|i| i.get_ref().as_str().map(str::to_owned)).collect::<Option<Vec<_>>>().map(Ok)
            }
            _ => None,
        })
    }

    /// An array whose items may be integers or strings, each handed to `item` as text.
    pub fn scalar_list<T>(
        &mut self,
        r: &mut Report<'_>,
        key: &str,
        mut item: impl FnMut(&str) -> Result<T, String>,
    ) -> Option<Vec<T>> {
        self.typed(r, key, "an array of integers or strings", |v| {
            let items = v.as_array()?;
            let texts: Option<Vec<String>> = items
                .iter()
                .map(|i| match i.get_ref() {
                    DeValue::String(s) => Some(s.to_string()),
                    DeValue::Integer(n) => Some(n.as_str().replace('_', "")),
                    _ => None,
                })
                .collect();
            Some(texts?.iter().map(|t| item(t)).collect())
        })
    }

    /// An array of strings, each with where it was written (`key[i]`), for errors inside them.
    pub fn strings_at(&mut self, r: &mut Report<'_>, key: &str) -> Option<Vec<At<String>>> {
        let value = self.raw(key)?;
        let field = self.path(key);
        let Some(items) = value.get_ref().as_array() else {
            r.error(
                value.span(),
                &field,
                format!("expected an array of strings, found {}", value.get_ref().type_str()),
            );
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let name = format!("{field}[{i}]");
            match item.get_ref().as_str() {
                Some(s) => out.push(At { value: s.to_owned(), span: item.span(), field: name }),
                None => r.error(item.span(), &name, format!("expected a string, found {}", item.get_ref().type_str())),
            }
        }
        Some(out)
    }

    /// A table of string values, in the order written.
    pub fn string_table(&mut self, r: &mut Report<'_>, key: &str) -> Option<Vec<(At<String>, At<String>)>> {
        let value = self.raw(key)?;
        let field = self.path(key);
        let Some(table) = value.get_ref().as_table() else {
            r.error(value.span(), &field, format!("expected a table, found {}", value.get_ref().type_str()));
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in table.iter() {
            let name = format!("{field}.{}", k.get_ref());
            match v.get_ref().as_str() {
                Some(s) => out.push((
                    At { value: k.get_ref().to_string(), span: k.span(), field: name.clone() },
                    At { value: s.to_owned(), span: v.span(), field: name },
                )),
                None => r.error(v.span(), &name, format!("expected a string, found {}", v.get_ref().type_str())),
            }
        }
        Some(out)
    }

    /// A sub-table such as `[page]`.
    pub fn table(&mut self, r: &mut Report<'_>, key: &str) -> Option<Fields<'d, 'i>> {
        let value = self.raw(key)?;
        let field = self.path(key);
        match value.get_ref().as_table() {
            Some(t) => Some(Fields::new(t, value.span(), field)),
            None => {
                r.error(value.span(), &field, format!("expected a table, found {}", value.get_ref().type_str()));
                None
            }
        }
    }

    /// An array of tables such as `[[monitor]]`, each with its path `monitor[i]`.
    pub fn tables(&mut self, r: &mut Report<'_>, key: &str) -> Vec<Fields<'d, 'i>> {
        let Some(value) = self.raw(key) else { return Vec::new() };
        let field = self.path(key);
        let Some(items) = value.get_ref().as_array() else {
            r.error(
                value.span(),
                &field,
                format!("expected an array of tables ([[{key}]]), found {}", value.get_ref().type_str()),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref().as_table() {
                Some(t) => out.push(Fields::new(t, item.span(), format!("{field}[{i}]"))),
                None => r.error(item.span(), &format!("{field}[{i}]"), "expected a table"),
            }
        }
        out
    }

    /// Reports every field that no one asked for.
    pub fn finish(self, r: &mut Report<'_>, known: &[&str]) {
        self.finish_with(r, known, &[]);
    }

    /// Reports every field that no one asked for and that `maybe` does not list: for a table whose
    /// kind is missing or unknown, where a field of any kind may be meant but none was read.
    pub fn finish_any_kind(self, r: &mut Report<'_>, maybe: &[&str]) {
        self.finish_with(r, maybe, maybe);
    }

    fn finish_with(self, r: &mut Report<'_>, known: &[&str], maybe: &[&str]) {
        for (k, _) in self.table.iter() {
            let key: &str = k.get_ref().as_ref();
            if !self.taken.contains(key) && !maybe.contains(&key) {
                let field = self.path(k.get_ref());
                r.error(k.span(), &field, format!("unknown field; expected one of: {}", known.join(", ")));
            }
        }
    }
}
