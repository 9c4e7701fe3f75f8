//! Conditions on what a check saw, in the spirit of Gatus: `[STATUS] == 200`,
//! `[BODY].queue.depth < 1000`, `[CERTIFICATE_EXPIRATION] > 72h`; and on a metric's recent points:
//! `avg(value) > 1000`.
//!
//! A condition is parsed once, when the configuration is read, into a typed value whose right side
//! already has the type its placeholder compares with (a number for `[STATUS]`, a duration for
//! `[CERTIFICATE_EXPIRATION]`), so a typo is a configuration error with a column, not a check that
//! fails forever. Evaluation is pure: the probe hands over what it [`Observed`], and a failure is
//! a sentence that says what was found and what was expected, because that sentence is what
//! people read on the status page when a monitor goes down.
//!
//! Comparison rules, in one place:
//! - numbers compare numerically, and a text that reads as a number (a JSON string `"42"`, a body
//!   `42`) compares as that number against a numeric right side;
//! - a quoted right side is always text, so `== "42"` compares text;
//! - `==`/`!=` with JSON `true`, `false` and `null` compare their text; ordering them fails;
//! - the whole `[BODY]` is compared with surrounding whitespace trimmed, since a trailing newline
//!   is common and never what a condition means;
//! - `pat(...)` is a whole-string glob (`*` any run, `?` one character; there is no escape);
//! - `any(a, b)` holds with `==` when one value is equal, with `!=` when none is.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value as Json;

/// A condition that does not parse: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ConditionError {
    /// 1-based, in characters, pointing at the offending character (one past the end when
    /// something is missing).
    pub column: usize,
    pub message: String,
}

/// The comparison operators, shared by [`Condition`] and [`MetricCondition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Operator {
    /// Two-character operators first, so `<=` is not read as `<` followed by `=`.
    const PARSE_ORDER: [Operator; 6] =
        [Operator::Eq, Operator::Ne, Operator::Le, Operator::Ge, Operator::Lt, Operator::Gt];
    const NAMES: &'static str = "==, !=, <, <=, >, >=";

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "==",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
        }
    }

    /// Whether `left <op> right` holds, given how left compares with right.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Operator::Eq => ordering.is_eq(),
            Operator::Ne => ordering.is_ne(),
            Operator::Lt => ordering.is_lt(),
            Operator::Le => ordering.is_le(),
            Operator::Gt => ordering.is_gt(),
            Operator::Ge => ordering.is_ge(),
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, Operator::Eq | Operator::Ne)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check saw, borrowed from the probe: the body is not copied.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    /// None when there was no HTTP response at all.
    pub status: Option<u16>,
    pub response_time: Duration,
    /// None when there was no response body (no response, or a HEAD request).
    pub body: Option<&'a [u8]>,
    /// Time left until the certificate expires (zero once expired); None when there was no TLS.
    pub certificate_expiration: Option<Duration>,
    pub connected: bool,
}

/// One condition of an HTTP monitor: `<placeholder> <operator> <value>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    subject: Subject,
    operator: Operator,
    operand: Operand,
}

/// The left side.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Subject {
    Status,
    ResponseTime,
    CertificateExpiration,
    Connected,
    /// `[BODY]` followed by a JSON path, which may be empty (the whole body).
    Body(Vec<Step>),
    /// `len([BODY]...)`.
    Len(Vec<Step>),
}

/// One step of a JSON path: `.key` or `[index]`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// What a subject's right side must be, decided at parse time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expects {
    Number,
    /// A number of milliseconds or a duration.
    Millis,
    Duration,
    Bool,
    /// Anything: a number compares as a number, anything else as text.
    Any,
}

/// The right side.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Operand {
    Value(Value),
    Pattern(String),
    Any(Vec<Value>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Number(Number),
    /// Kept as written, so the normalized text says what the person wrote (`72h`, not `3d`).
    Duration {
        value: Duration,
        text: String,
    },
    Text(String),
}

/// A finite number with the text it was written as; equal when the text is.
#[derive(Clone, Debug)]
struct Number {
    value: f64,
    text: String,
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Number {}

const PLACEHOLDERS: &str = "[STATUS], [RESPONSE_TIME], [BODY], [CERTIFICATE_EXPIRATION], [CONNECTED]";

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let mut p = Parser::new(text);
        p.skip_ws();
        if p.at_end() {
            return Err(p.error_here("empty condition; write it like `[STATUS] == 200`"));
        }
        let subject = p.subject()?;
        p.skip_ws();
        let operator_at = p.pos;
        let operator = p.operator(&subject)?;
        p.skip_ws();
        if p.at_end() {
            return Err(p.error_here(format!("missing right side after `{operator}`")));
        }
        let operand = p.operand(&subject, operator, operator_at)?;
        p.skip_ws();
        if !p.at_end() {
            let hint = match &operand {
                Operand::Value(Value::Text(_)) => "; quote text that contains spaces, like \"x y\"",
                _ => "",
            };
            return Err(p.error_here(format!("unexpected `{}` after the right side{hint}", p.next_token())));
        }
        Ok(Condition { subject, operator, operand })
    }

    /// Whether evaluating this condition reads the body, so a probe can skip downloading it.
    pub fn needs_body(&self) -> bool {
        matches!(self.subject, Subject::Body(_) | Subject::Len(_))
    }

    /// Evaluates this condition alone; to evaluate a monitor's list, use [`evaluate_all`], which
    /// parses the body once for all of them.
    pub fn evaluate(&self, observed: &Observed) -> Result<(), String> {
        self.evaluate_in(&Context::new(observed))
    }

    fn evaluate_in(&self, cx: &Context) -> Result<(), String> {
        let found = self.subject.found(cx).map_err(|why| format!("{}: {why}", self.subject))?;
        let holds = match &self.operand {
            Operand::Value(value) => return self.compare(&found, value),
            Operand::Pattern(pattern) => glob(pattern, &found.text()),
            Operand::Any(values) => values.iter().any(|value| equals(&found, value)),
        };
        // Parsing allows only `==` and `!=` with patterns and lists.
        if holds == (self.operator == Operator::Eq) { Ok(()) } else { Err(self.failure(&found)) }
    }

    fn compare(&self, found: &Found, value: &Value) -> Result<(), String> {
        let holds = match (ordering(found, value), self.operator.is_equality()) {
            (Some(ordering), _) => self.operator.holds(ordering),
            (None, true) => self.operator.holds(if equals(found, value) { Ordering::Equal } else { Ordering::Less }),
            (None, false) => {
                let what = if matches!(value, Value::Number(_)) { "not a number" } else { "which has no order" };
                return Err(format!(
                    "{} is {found}, {what}; expected {} {}",
                    self.subject, self.operator, self.operand
                ));
            }
        };
        if holds { Ok(()) } else { Err(self.failure(found)) }
    }

    fn failure(&self, found: &Found) -> String {
        format!("{} is {found}, expected {} {}", self.subject, self.operator, self.operand)
    }
}

/// Evaluates all of a monitor's conditions, reading the body as JSON at most once.
///
/// Every condition is evaluated, and the failures are joined with `"; "`: a person looking at a
/// down monitor wants to see everything that is wrong, not fix one thing and find the next.
pub fn evaluate_all(conditions: &[Condition], observed: &Observed) -> Result<(), String> {
    let cx = Context::new(observed);
    let failures: Vec<String> = conditions.iter().filter_map(|c| c.evaluate_in(&cx).err()).collect();
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.subject, self.operator, self.operand)
    }
}

// --- evaluation ---------------------------------------------------------------------------------

/// One evaluation's view of the observation, decoding the body lazily and once.
struct Context<'o, 'a> {
    observed: &'o Observed<'a>,
    text: OnceCell<Option<Cow<'a, str>>>,
    json: OnceCell<Result<Json, &'static str>>,
}

impl<'o, 'a> Context<'o, 'a> {
    fn new(observed: &'o Observed<'a>) -> Self {
        Context { observed, text: OnceCell::new(), json: OnceCell::new() }
    }

    /// The body as text: borrowed when it is UTF-8, which it nearly always is.
    fn text(&self) -> Result<&str, &'static str> {
        let text = self.text.get_or_init(|| self.observed.body.map(String::from_utf8_lossy));
        text.as_deref().ok_or(NO_BODY)
    }

    fn json(&self) -> Result<&Json, &'static str> {
        let json = self.json.get_or_init(|| {
            let body = self.observed.body.ok_or(NO_BODY)?;
            serde_json::from_slice(body).map_err(|_| "the body is not JSON")
        });
        json.as_ref().map_err(|why| *why)
    }
}

const NO_BODY: &str = "there was no response body";

/// The left side's value, borrowed from the context where it can be.
#[derive(Debug)]
enum Found<'c> {
    Number(f64),
    /// `[RESPONSE_TIME]`, shown in milliseconds.
    Millis(Duration),
    /// `[CERTIFICATE_EXPIRATION]`, shown as days and hours.
    Left(Duration),
    /// A body or a JSON string: shown quoted.
    Text(Cow<'c, str>),
    /// `true`, `false`, `null`, a JSON object or array: shown as is.
    Word(Cow<'c, str>),
}

impl Found<'_> {
    fn from_json(value: &Json) -> Found<'_> {
        match value {
            Json::Number(n) => n.as_f64().map_or_else(|| Found::Word(n.to_string().into()), Found::Number),
            Json::String(s) => Found::Text(Cow::Borrowed(s)),
            Json::Bool(true) => Found::Word("true".into()),
            Json::Bool(false) => Found::Word("false".into()),
            Json::Null => Found::Word("null".into()),
            Json::Array(_) | Json::Object(_) => Found::Word(value.to_string().into()),
        }
    }

    /// The text patterns match and equality falls back to.
    fn text(&self) -> Cow<'_, str> {
        match self {
            Found::Number(n) => n.to_string().into(),
            Found::Millis(d) => d.as_millis().to_string().into(),
            Found::Left(d) => crate::duration::human(*d).into(),
            Found::Text(s) | Found::Word(s) => Cow::Borrowed(s),
        }
    }
}

/// Long enough to recognise a value, short enough that a 1 MiB body never lands in a message.
const SHOWN_CHARS: usize = 80;

impl fmt::Display for Found<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Number(n) => write!(f, "{n}"),
            Found::Millis(d) => write!(f, "{}ms", d.as_millis()),
            Found::Left(d) => f.write_str(&crate::duration::human(*d)),
            Found::Text(s) => write!(f, "\"{}\"", escape(&shorten(s))),
            Found::Word(s) => f.write_str(&shorten(s)),
        }
    }
}

fn shorten(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]).into(),
        None => s.into(),
    }
}

/// How the left side orders against a value, when they are comparable at all.
fn ordering(found: &Found, value: &Value) -> Option<Ordering> {
    match (found, value) {
        (Found::Number(x), Value::Number(y)) => x.partial_cmp(&y.value),
        (Found::Text(s), Value::Number(y)) => number_in_text(s)?.partial_cmp(&y.value),
        (Found::Millis(d), Value::Number(ms)) => (d.as_secs_f64() * 1000.0).partial_cmp(&ms.value),
        (Found::Millis(d) | Found::Left(d), Value::Duration { value, .. }) => Some(d.cmp(value)),
        (Found::Text(s), Value::Text(t)) => Some(s.as_ref().cmp(t.as_str())),
        _ => None,
    }
}

fn equals(found: &Found, value: &Value) -> bool {
    match ordering(found, value) {
        Some(ordering) => ordering.is_eq(),
        None => found.text() == value.text(),
    }
}

/// A text that reads as a finite number, such as a JSON string `"42"` or a body `0.5\n`.
fn number_in_text(text: &str) -> Option<f64> {
    let text = text.trim();
    let looks_numeric = text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
        && text.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if !looks_numeric {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

impl Subject {
    fn expects(&self) -> Expects {
        match self {
            Subject::Status | Subject::Len(_) => Expects::Number,
            Subject::ResponseTime => Expects::Millis,
            Subject::CertificateExpiration => Expects::Duration,
            Subject::Connected => Expects::Bool,
            Subject::Body(_) => Expects::Any,
        }
    }

    fn found<'c>(&self, cx: &'c Context) -> Result<Found<'c>, String> {
        let observed = cx.observed;
        Ok(match self {
            Subject::Status => Found::Number(f64::from(observed.status.ok_or("there was no response")?)),
            Subject::ResponseTime => Found::Millis(observed.response_time),
            Subject::CertificateExpiration => {
                Found::Left(observed.certificate_expiration.ok_or("the connection did not use TLS")?)
            }
            Subject::Connected => Found::Word(if observed.connected { "true" } else { "false" }.into()),
            Subject::Body(path) if path.is_empty() => Found::Text(Cow::Borrowed(cx.text()?.trim())),
            Subject::Body(path) => Found::from_json(lookup(cx.json()?, path)?),
            Subject::Len(path) => Found::Number(length(cx, path)? as f64),
        })
    }
}

/// `len()`: items of an array, keys of an object, characters of a string. The whole body, when it
/// is not JSON (or is a JSON number), counts as text.
fn length(cx: &Context, path: &[Step]) -> Result<usize, String> {
    if path.is_empty() {
        return Ok(match cx.json() {
            Ok(Json::Array(items)) => items.len(),
            Ok(Json::Object(map)) => map.len(),
            Ok(Json::String(s)) => s.chars().count(),
            _ => cx.text()?.trim().chars().count(),
        });
    }
    match lookup(cx.json()?, path)? {
        Json::Array(items) => Ok(items.len()),
        Json::Object(map) => Ok(map.len()),
        Json::String(s) => Ok(s.chars().count()),
        other => Err(format!("{} is {}; len() needs an array, an object or a string", Path(path), kind(other))),
    }
}

/// Follows a path into the body, saying where it stopped when it cannot go on.
fn lookup<'j>(root: &'j Json, path: &[Step]) -> Result<&'j Json, String> {
    let mut current = root;
    for (i, step) in path.iter().enumerate() {
        let here = Path(&path[..i]);
        current = match (step, current) {
            (Step::Key(key), Json::Object(map)) => map.get(key).ok_or_else(|| match i {
                0 => format!("no such key `{key}`"),
                _ => format!("no such key `{key}` in {here}"),
            })?,
            (Step::Index(index), Json::Array(items)) => items
                .get(*index)
                .ok_or_else(|| format!("index {index} is out of range: {here} has {} item(s)", items.len()))?,
            (Step::Key(_), other) => return Err(format!("{here} is {}, not an object", kind(other))),
            (Step::Index(_), other) => return Err(format!("{here} is {}, not an array", kind(other))),
        };
    }
    Ok(current)
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Whole-string glob: `*` matches any run of characters, `?` exactly one.
///
/// The usual two-pointer walk that remembers the last `*` and retries from one character further:
/// no recursion and no copy of the text, which may be a 1 MiB body.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut p, mut t) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and where in the text it was tried.
    let mut retry: Option<(usize, usize)> = None;
    loop {
        let next = text[t..].chars().next();
        match (pattern.get(p), next) {
            (None, None) => return true,
            (Some('*'), _) => {
                p += 1;
                retry = Some((p, t));
            }
            (Some('?'), Some(c)) => {
                p += 1;
                t += c.len_utf8();
            }
            (Some(&expected), Some(c)) if expected == c => {
                p += 1;
                t += c.len_utf8();
            }
            _ => {
                let Some((resume, tried)) = retry else { return false };
                let Some(skipped) = text[tried..].chars().next() else { return false };
                let tried = tried + skipped.len_utf8();
                retry = Some((resume, tried));
                (p, t) = (resume, tried);
            }
        }
    }
}

// --- display ------------------------------------------------------------------------------------

/// `[BODY]` followed by a path.
struct Path<'p>(&'p [Step]);

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[BODY]")?;
        for step in self.0 {
            match step {
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Status => f.write_str("[STATUS]"),
            Subject::ResponseTime => f.write_str("[RESPONSE_TIME]"),
            Subject::CertificateExpiration => f.write_str("[CERTIFICATE_EXPIRATION]"),
            Subject::Connected => f.write_str("[CONNECTED]"),
            Subject::Body(path) => write!(f, "{}", Path(path)),
            Subject::Len(path) => write!(f, "len({})", Path(path)),
        }
    }
}

impl Value {
    fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Number(n) => n.value.to_string().into(),
            Value::Duration { text, .. } | Value::Text(text) => Cow::Borrowed(text),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => f.write_str(&n.text),
            Value::Duration { text, .. } => f.write_str(text),
            Value::Text(text) if is_bare_word(text) => f.write_str(text),
            Value::Text(text) => write!(f, "\"{}\"", escape(text)),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Value(value) => write!(f, "{value}"),
            Operand::Pattern(pattern)
                if pattern.contains(')') || pattern.starts_with('"') || pattern.trim() != pattern =>
            {
                write!(f, "pat(\"{}\")", escape(pattern))
            }
            Operand::Pattern(pattern) => write!(f, "pat({pattern})"),
            Operand::Any(values) => {
                f.write_str("any(")?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{value}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Whether a text reads back as the same text when written without quotes.
fn is_bare_word(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('[')
        && strict_number(text).is_none()
        && !text.chars().any(|c| c.is_whitespace() || is_delimiter(c))
}

fn escape(text: &str) -> Cow<'_, str> {
    if text.contains(['"', '\\']) { text.replace('\\', "\\\\").replace('"', "\\\"").into() } else { text.into() }
}

// --- parsing ------------------------------------------------------------------------------------

/// Characters that end a bare word.
fn is_delimiter(c: char) -> bool {
    matches!(c, '"' | '(' | ')' | ',' | '\\')
}

/// `-?digits(.digits)?`: what a right side must look like to be a number. No exponent, `inf` or
/// `NaN`, so a number is always finite and a version string like `1.2.3` is not one.
fn strict_number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    text.parse().ok().filter(|n: &f64| n.is_finite())
}

/// A duration on the right side: `500ms`, `72h`, `1h30m` (see [`crate::duration::parse`]), and
/// also one decimal part, `1.5s`, which the configuration's durations do not need but
/// thresholds do.
fn parse_duration(text: &str) -> Option<Duration> {
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let Some((whole, rest)) = text.split_once('.') else { return crate::duration::parse(text).ok() };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (fraction, unit) = rest.split_at(digits);
    let nanos_per_unit: u128 = match unit {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return None,
    };
    if fraction.is_empty() || fraction.len() > 18 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = 10u128.pow(u32::try_from(fraction.len()).ok()?);
    let scaled = whole.parse::<u128>().ok()?.checked_mul(scale)?.checked_add(fraction.parse::<u128>().ok()?)?;
    let nanos = scaled.checked_mul(nanos_per_unit)? / scale;
    Some(Duration::from_nanos(u64::try_from(nanos).ok()?))
}

/// A cursor over the condition text, in bytes; errors convert to character columns.
struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Self {
        Parser { text, pos: 0 }
    }

    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    fn skip_ws(&mut self) {
        self.take_while(char::is_whitespace);
    }

    fn eat(&mut self, s: &str) -> bool {
        let found = self.rest().starts_with(s);
        if found {
            self.pos += s.len();
        }
        found
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'t str {
        let rest = self.rest();
        let len = rest.find(|c| !f(c)).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// The token at the cursor, for messages.
    fn next_token(&self) -> String {
        let rest = self.rest();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        shorten(&rest[..end]).into_owned()
    }

    fn error_at(&self, byte: usize, message: impl Into<String>) -> ConditionError {
        ConditionError { column: self.text[..byte].chars().count() + 1, message: message.into() }
    }

    fn error_here(&self, message: impl Into<String>) -> ConditionError {
        self.error_at(self.pos, message)
    }

    fn unclosed(&self, open: usize, function: &str) -> ConditionError {
        self.error_at(open, format!("unbalanced `(`: `{function}(` is never closed"))
    }

    /// Closes a `function(` opened at `open`: unbalanced when no `)` follows at all, otherwise
    /// something is in the way.
    fn close(&mut self, open: usize, function: &str) -> Result<(), ConditionError> {
        self.skip_ws();
        if self.eat(")") {
            return Ok(());
        }
        if !self.rest().contains(')') {
            return Err(self.unclosed(open, function));
        }
        Err(self.error_here(format!("expected `)` to close `{function}(`, found `{}`", self.next_token())))
    }

    fn subject(&mut self) -> Result<Subject, ConditionError> {
        let start = self.pos;
        if self.eat("len(") {
            self.skip_ws();
            let inner_at = self.pos;
            let path = match self.placeholder()? {
                Subject::Body(path) => path,
                other => {
                    return Err(
                        self.error_at(inner_at, format!("len() measures [BODY] or a path into it, not {other}"))
                    );
                }
            };
            self.close(start + 3, "len")?;
            return Ok(Subject::Len(path));
        }
        if self.peek() == Some('[') {
            return self.placeholder();
        }
        let word = self.take_while(|c| c.is_alphanumeric() || c == '_');
        let message = if !word.is_empty() && self.peek() == Some('(') {
            format!("unknown function `{word}(`; the left side is a placeholder such as [STATUS] or len([BODY])")
        } else {
            self.pos = start;
            format!("expected a placeholder such as [STATUS] or [BODY].path, found `{}`", self.next_token())
        };
        Err(self.error_at(start, message))
    }

    fn placeholder(&mut self) -> Result<Subject, ConditionError> {
        let open = self.pos;
        if !self.eat("[") {
            return Err(
                self.error_here(format!("expected a placeholder such as [BODY], found `{}`", self.next_token()))
            );
        }
        let name = self.take_while(|c| c.is_alphanumeric() || c == '_');
        if !self.eat("]") {
            return Err(self.error_at(open, "unbalanced `[`: no closing `]`"));
        }
        let subject = match name {
            "STATUS" => Subject::Status,
            "RESPONSE_TIME" => Subject::ResponseTime,
            "CERTIFICATE_EXPIRATION" => Subject::CertificateExpiration,
            "CONNECTED" => Subject::Connected,
            "BODY" => Subject::Body(self.path()?),
            _ if PLACEHOLDERS.contains(&format!("[{}]", name.to_uppercase())) => {
                let upper = name.to_uppercase();
                return Err(self.error_at(open, format!("placeholders are upper case: write `[{upper}]`")));
            }
            _ => {
                let message = format!("unknown placeholder `[{name}]`; expected one of {PLACEHOLDERS}");
                return Err(self.error_at(open, message));
            }
        };
        Ok(subject)
    }

    /// The JSON path after `[BODY]`: `.key` and `[index]` steps, no spaces.
    fn path(&mut self) -> Result<Vec<Step>, ConditionError> {
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.pos += 1;
                    let key = self.take_while(|c| c.is_alphanumeric() || c == '_' || c == '-');
                    if key.is_empty() {
                        return Err(self.error_here("expected a key after `.`"));
                    }
                    steps.push(Step::Key(key.to_owned()));
                }
                Some('[') => {
                    let open = self.pos;
                    self.pos += 1;
                    let digits_at = self.pos;
                    let digits = self.take_while(|c| c.is_ascii_digit());
                    if digits.is_empty() {
                        return Err(self.error_here("expected an array index (a whole number) inside `[]`"));
                    }
                    let index = digits.parse().map_err(|_| self.error_at(digits_at, "array index too large"))?;
                    if !self.eat("]") {
                        return Err(self.error_at(open, "unbalanced `[`: no closing `]`"));
                    }
                    steps.push(Step::Index(index));
                }
                _ => return Ok(steps),
            }
        }
    }

    fn operator(&mut self, subject: &Subject) -> Result<Operator, ConditionError> {
        if let Some(op) = Operator::PARSE_ORDER.into_iter().find(|op| self.rest().starts_with(op.as_str())) {
            self.pos += op.as_str().len();
            return Ok(op);
        }
        let message = match self.peek() {
            None => format!("missing operator after `{subject}`; expected one of {}", Operator::NAMES),
            Some('=') => "`=` is not an operator; write `==`".to_owned(),
            Some('.' | '[') if !matches!(subject, Subject::Body(_)) => {
                format!("only [BODY] can be followed by a path, not {subject}")
            }
            Some(_) => format!(
                "missing operator after `{subject}`; expected one of {}, found `{}`",
                Operator::NAMES,
                self.next_token()
            ),
        };
        Err(self.error_here(message))
    }

    fn operand(&mut self, subject: &Subject, op: Operator, op_at: usize) -> Result<Operand, ConditionError> {
        let at = self.pos;
        for function in ["pat", "any"] {
            if !self.rest().starts_with(function) || !self.rest()[function.len()..].starts_with('(') {
                continue;
            }
            if !op.is_equality() {
                let why = format!("`{op}` cannot be used with {function}(); use == or !=");
                return Err(self.error_at(op_at, why));
            }
            self.pos += function.len() + 1;
            let open = at + function.len();
            return match function {
                "pat" => self.pattern(subject, at, open).map(Operand::Pattern),
                _ => self.any(subject, open).map(Operand::Any),
            };
        }
        if self.peek() == Some('[') {
            return Err(self.error_here("the right side must be a value: comparing two placeholders is not supported"));
        }
        if subject.expects() == Expects::Bool && !op.is_equality() {
            return Err(self.error_at(op_at, format!("{subject} is true or false; use == or !=")));
        }
        let value = self.value(subject)?;
        if self.peek() == Some('(') {
            let name = &self.text[at..self.pos];
            return Err(
                self.error_at(at, format!("unknown function `{name}(`; the right side may use pat(...) or any(...)"))
            );
        }
        Ok(Operand::Value(value))
    }

    fn pattern(&mut self, subject: &Subject, at: usize, open: usize) -> Result<String, ConditionError> {
        if !matches!(subject, Subject::Status | Subject::Body(_)) {
            let why =
                format!("pat() matches text: use it with [STATUS], [BODY] or a path into the body, not {subject}");
            return Err(self.error_at(at, why));
        }
        self.skip_ws();
        let pattern = if self.peek() == Some('"') {
            self.quoted()?
        } else {
            let Some(end) = self.rest().find(')') else { return Err(self.unclosed(open, "pat")) };
            let raw = self.rest()[..end].trim();
            self.pos += end;
            raw.to_owned()
        };
        self.close(open, "pat")?;
        Ok(pattern)
    }

    fn any(&mut self, subject: &Subject, open: usize) -> Result<Vec<Value>, ConditionError> {
        let mut values = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.unclosed(open, "any")),
                Some(')') if values.is_empty() => return Err(self.error_here("any() needs at least one value")),
                _ => {}
            }
            values.push(self.value(subject)?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') | None => {
                    self.close(open, "any")?;
                    return Ok(values);
                }
                Some(_) => {
                    let found = self.next_token();
                    return Err(
                        self.error_here(format!("expected `,` or `)` after a value in `any(`, found `{found}`"))
                    );
                }
            }
        }
    }

    /// One value, typed by what the subject compares with.
    fn value(&mut self, subject: &Subject) -> Result<Value, ConditionError> {
        let at = self.pos;
        let expects = subject.expects();
        if self.peek() == Some('"') {
            let text = self.quoted()?;
            return match expects {
                Expects::Any => Ok(Value::Text(text)),
                _ => Err(self.error_at(at, format!("{subject} compares with {}, not text", describe(expects)))),
            };
        }
        let word = self.take_while(|c| !c.is_whitespace() && !is_delimiter(c));
        if word.is_empty() {
            return Err(self.error_here(format!("expected a value, found `{}`", self.next_token())));
        }
        classify(word, subject, expects).map_err(|why| self.error_at(at, why))
    }

    /// A double-quoted string; `\"` and `\\` are the only escapes.
    fn quoted(&mut self) -> Result<String, ConditionError> {
        let open = self.pos;
        self.pos += 1;
        let mut text = String::new();
        while let Some(c) = self.peek() {
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(text),
                '\\' => match self.peek() {
                    Some(escaped @ ('"' | '\\')) => {
                        self.pos += 1;
                        text.push(escaped);
                    }
                    _ => return Err(self.error_at(self.pos - 1, "unknown escape; only \\\" and \\\\ are allowed")),
                },
                c => text.push(c),
            }
        }
        Err(self.error_at(open, "unterminated string: no closing `\"`"))
    }
}

fn describe(expects: Expects) -> &'static str {
    match expects {
        Expects::Number => "numbers",
        Expects::Millis => "milliseconds or durations",
        Expects::Duration => "durations",
        Expects::Bool => "true or false",
        Expects::Any => "anything",
    }
}

/// Types a bare word by what its subject compares with.
fn classify(word: &str, subject: &Subject, expects: Expects) -> Result<Value, String> {
    let number = || strict_number(word).map(|value| Value::Number(Number { value, text: word.to_owned() }));
    let duration = || parse_duration(word).map(|value| Value::Duration { value, text: word.to_owned() });
    match expects {
        Expects::Number => number().ok_or_else(|| format!("`{word}` is not a number; {subject} compares with numbers")),
        Expects::Millis => number()
            .or_else(duration)
            .ok_or_else(|| format!("`{word}` is not a number of milliseconds or a duration like 500ms or 1.5s")),
        Expects::Duration => duration().ok_or_else(|| match strict_number(word) {
            Some(_) => format!("`{word}` needs a unit: write it like {word}h or {word}d"),
            None => format!("`{word}` is not a duration; write it like 72h, 30d or 1.5d"),
        }),
        Expects::Bool => match word {
            "true" | "false" => Ok(Value::Text(word.to_owned())),
            _ => Err(format!("{subject} is true or false, not `{word}`")),
        },
        Expects::Any => Ok(number().unwrap_or_else(|| Value::Text(word.to_owned()))),
    }
}

// --- metric conditions --------------------------------------------------------------------------

/// How a window of metric points becomes one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregation {
    /// The newest point in the window.
    Last,
    Avg,
    Min,
    Max,
    /// Nearest-rank percentile, 1 to 99: the smallest value with at least p% of the points at or
    /// below it, i.e. the `ceil(p/100 * n)`-th smallest. It is always one of the observed values,
    /// never an interpolation, so `p95` of 20 points is the 19th smallest.
    Percentile(u8),
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aggregation::Last => f.write_str("last"),
            Aggregation::Avg => f.write_str("avg"),
            Aggregation::Min => f.write_str("min"),
            Aggregation::Max => f.write_str("max"),
            Aggregation::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

/// A condition on a metric monitor's recent points: `avg(value) > 1000`, or `value > 1000`
/// (the newest point).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricCondition {
    aggregation: Aggregation,
    operator: Operator,
    /// Always finite: parsing rejects NaN and infinities, and the fields are private so nothing
    /// else can make one.
    threshold: f64,
}

// The threshold is never NaN, so equality is reflexive.
impl Eq for MetricCondition {}

impl MetricCondition {
    pub fn parse(text: &str) -> Result<MetricCondition, ConditionError> {
        let mut p = Parser::new(text);
        p.skip_ws();
        if p.at_end() {
            return Err(p.error_here("empty condition; write it like `avg(value) > 1000`"));
        }
        let aggregation = metric_subject(&mut p)?;
        p.skip_ws();
        let operator = match Operator::PARSE_ORDER.into_iter().find(|op| p.rest().starts_with(op.as_str())) {
            Some(op) => {
                p.pos += op.as_str().len();
                op
            }
            None if p.peek() == Some('=') => return Err(p.error_here("`=` is not an operator; write `==`")),
            None => {
                let found = if p.at_end() { String::new() } else { format!(", found `{}`", p.next_token()) };
                return Err(p.error_here(format!("missing operator; expected one of {}{found}", Operator::NAMES)));
            }
        };
        p.skip_ws();
        if p.at_end() {
            return Err(p.error_here(format!("missing threshold after `{operator}`")));
        }
        let at = p.pos;
        let word = p.take_while(|c| !c.is_whitespace());
        let threshold = threshold(word).map_err(|why| p.error_at(at, why))?;
        p.skip_ws();
        if !p.at_end() {
            return Err(p.error_here(format!("unexpected `{}` after the threshold", p.next_token())));
        }
        Ok(MetricCondition { aggregation, operator, threshold })
    }

    pub fn aggregation(&self) -> Aggregation {
        self.aggregation
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The aggregation over the points with `now - window < at <= now`; None when there are none.
    ///
    /// The points need not be sorted. Points that are not finite numbers are ignored: one NaN
    /// would otherwise poison an average for the whole window.
    pub fn aggregate(&self, points: &[(DateTime<Utc>, f64)], now: DateTime<Utc>, window: Duration) -> Option<f64> {
        // A window too long to represent reaches back to the beginning of time.
        let after = TimeDelta::from_std(window).ok().and_then(|w| now.checked_sub_signed(w));
        let mut in_window = points
            .iter()
            .filter(|(at, value)| *at <= now && after.is_none_or(|after| *at > after) && value.is_finite())
            .peekable();
        in_window.peek()?;
        Some(match self.aggregation {
            Aggregation::Last => in_window.max_by_key(|(at, _)| *at).map(|(_, value)| *value)?,
            Aggregation::Avg => {
                let (sum, count) = in_window.fold((0.0, 0u32), |(sum, count), (_, value)| (sum + value, count + 1));
                sum / f64::from(count)
            }
            Aggregation::Min => in_window.map(|(_, value)| *value).fold(f64::INFINITY, f64::min),
            Aggregation::Max => in_window.map(|(_, value)| *value).fold(f64::NEG_INFINITY, f64::max),
            Aggregation::Percentile(p) => {
                let mut values: Vec<f64> = in_window.map(|(_, value)| *value).collect();
                let rank = (usize::from(p) * values.len()).div_ceil(100).max(1);
                *values.select_nth_unstable_by(rank - 1, f64::total_cmp).1
            }
        })
    }

    /// Whether the condition holds over the window; None when the window has no points, which
    /// is for the caller to judge (no data is neither up nor down).
    pub fn holds(&self, points: &[(DateTime<Utc>, f64)], now: DateTime<Utc>, window: Duration) -> Option<bool> {
        let value = self.aggregate(points, now, window)?;
        Some(value.partial_cmp(&self.threshold).is_some_and(|ordering| self.operator.holds(ordering)))
    }
}

/// `value` or `<aggregation>(value)`.
fn metric_subject(p: &mut Parser) -> Result<Aggregation, ConditionError> {
    const EXPECTED: &str = "expected one of last, avg, min, max, p95 (any pN from p1 to p99)";
    let start = p.pos;
    let name = p.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
    if name == "value" {
        return Ok(Aggregation::Last);
    }
    if p.peek() != Some('(') {
        let found = if name.is_empty() { p.next_token() } else { name.to_owned() };
        return Err(p.error_at(start, format!("expected `value` or an aggregation like avg(value), found `{found}`")));
    }
    let aggregation = match name {
        "last" => Aggregation::Last,
        "avg" => Aggregation::Avg,
        "min" => Aggregation::Min,
        "max" => Aggregation::Max,
        _ => match name.strip_prefix('p').and_then(|n| n.parse::<u8>().ok()) {
            Some(p @ 1..=99) => Aggregation::Percentile(p),
            Some(_) => return Err(p.error_at(start, format!("`{name}` is not a percentile; {EXPECTED}"))),
            None => return Err(p.error_at(start, format!("unknown aggregation `{name}`; {EXPECTED}"))),
        },
    };
    let open = p.pos;
    p.pos += 1;
    p.skip_ws();
    if !p.eat("value") {
        if p.at_end() {
            return Err(p.unclosed(open, name));
        }
        return Err(p.error_here(format!("expected `value` inside `{name}(`, found `{}`", p.next_token())));
    }
    p.close(open, name)?;
    Ok(aggregation)
}

/// A finite number; an exponent is allowed (`1e6`), NaN and infinities are not.
fn threshold(word: &str) -> Result<f64, String> {
    let numeric = word.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
        && word.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    match word.parse::<f64>() {
        Ok(n) if numeric && n.is_finite() => Ok(n),
        Ok(_) if numeric => Err(format!("`{word}` is too large; the threshold must be a finite number")),
        Ok(_) => Err(format!("`{word}` is not allowed; the threshold must be a finite number")),
        Err(_) => Err(format!("`{word}` is not a number")),
    }
}

impl fmt::Display for MetricCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.aggregation {
            // Bare `value` is what people write for the newest point.
            Aggregation::Last => f.write_str("value")?,
            other => write!(f, "{other}(value)")?,
        }
        write!(f, " {} {}", self.operator, self.threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eleven top-level keys; nested objects and arrays, a numeric string, booleans, null.
    const JSON: &str = r#"{"status":"UP","queue":{"depth":1500,"name":"jobs"},"items":[1,2,3],"empty":[],
        "data":[{"name":"x y","tags":["a","b"]},{"name":"z"}],"count":"42","ok":true,"nothing":null,
        "ratio":0.75,"user-id":"u_1","nested":{"a":{"b":[[10,20],[30]]}}}"#;

    const DAY: u64 = 86_400;

    fn seen(body: &'static str) -> Observed<'static> {
        Observed {
            status: Some(200),
            response_time: Duration::from_millis(120),
            body: Some(body.as_bytes()),
            certificate_expiration: Some(Duration::from_secs(5 * DAY)),
            connected: true,
        }
    }

    fn json() -> Observed<'static> {
        seen(JSON)
    }

    fn status(code: u16) -> Observed<'static> {
        Observed { status: Some(code), ..json() }
    }

    fn expires_in(secs: u64) -> Observed<'static> {
        Observed { certificate_expiration: Some(Duration::from_secs(secs)), ..json() }
    }

    fn plain_http() -> Observed<'static> {
        Observed { certificate_expiration: None, ..json() }
    }

    fn no_response() -> Observed<'static> {
        Observed { status: None, body: None, certificate_expiration: None, connected: false, ..json() }
    }

    fn disconnected() -> Observed<'static> {
        Observed { connected: false, ..no_response() }
    }

    /// (condition, what was observed, Ok or the exact failure message)
    fn evaluation_table() -> Vec<(&'static str, Observed<'static>, Result<(), &'static str>)> {
        vec![
            // [STATUS], every operator, any() and pat()
            ("[STATUS] == 200", json(), Ok(())),
            ("[STATUS] == 201", json(), Err("[STATUS] is 200, expected == 201")),
            ("[STATUS] == 200", status(503), Err("[STATUS] is 503, expected == 200")),
            ("[STATUS] != 500", json(), Ok(())),
            ("[STATUS] != 200", json(), Err("[STATUS] is 200, expected != 200")),
            ("[STATUS] < 300", json(), Ok(())),
            ("[STATUS] < 200", json(), Err("[STATUS] is 200, expected < 200")),
            ("[STATUS] <= 200", json(), Ok(())),
            ("[STATUS] > 199", json(), Ok(())),
            ("[STATUS] >= 201", json(), Err("[STATUS] is 200, expected >= 201")),
            ("[STATUS] == any(200, 204)", status(204), Ok(())),
            ("[STATUS] == any(200, 204)", status(500), Err("[STATUS] is 500, expected == any(200, 204)")),
            ("[STATUS] != any(500, 503)", json(), Ok(())),
            ("[STATUS] != any(500, 503)", status(503), Err("[STATUS] is 503, expected != any(500, 503)")),
            ("[STATUS] == pat(2??)", json(), Ok(())),
            ("[STATUS] == pat(2??)", status(404), Err("[STATUS] is 404, expected == pat(2??)")),
            ("[STATUS] == 200", no_response(), Err("[STATUS]: there was no response")),
            // [RESPONSE_TIME]: bare numbers are milliseconds
            ("[RESPONSE_TIME] < 500", json(), Ok(())),
            ("[RESPONSE_TIME] < 100", json(), Err("[RESPONSE_TIME] is 120ms, expected < 100")),
            ("[RESPONSE_TIME] == 120", json(), Ok(())),
            ("[RESPONSE_TIME] <= 1.5s", json(), Ok(())),
            ("[RESPONSE_TIME] >= 0.12s", json(), Ok(())),
            ("[RESPONSE_TIME] > 500ms", json(), Err("[RESPONSE_TIME] is 120ms, expected > 500ms")),
            // [CERTIFICATE_EXPIRATION]
            ("[CERTIFICATE_EXPIRATION] > 72h", json(), Ok(())),
            ("[CERTIFICATE_EXPIRATION] < 30d", json(), Ok(())),
            (
                "[CERTIFICATE_EXPIRATION] > 3d",
                expires_in(2 * DAY + 3 * 3600),
                Err("[CERTIFICATE_EXPIRATION] is 2d 3h, expected > 3d"),
            ),
            ("[CERTIFICATE_EXPIRATION] >= 1.5d", expires_in(2 * DAY + 3 * 3600), Ok(())),
            ("[CERTIFICATE_EXPIRATION] > 1d", expires_in(0), Err("[CERTIFICATE_EXPIRATION] is 0ms, expected > 1d")),
            (
                "[CERTIFICATE_EXPIRATION] > 72h",
                plain_http(),
                Err("[CERTIFICATE_EXPIRATION]: the connection did not use TLS"),
            ),
            // [CONNECTED]
            ("[CONNECTED] == true", json(), Ok(())),
            ("[CONNECTED] == true", disconnected(), Err("[CONNECTED] is false, expected == true")),
            ("[CONNECTED] != true", disconnected(), Ok(())),
            ("[CONNECTED] == false", disconnected(), Ok(())),
            // the whole [BODY], trimmed
            ("[BODY] == ok", seen("ok\n"), Ok(())),
            ("[BODY] == \"ok\"", seen("ok"), Ok(())),
            ("[BODY] == pat(*ok*)", seen("all ok here"), Ok(())),
            ("[BODY] == pat(*ok*)", seen("all fine"), Err("[BODY] is \"all fine\", expected == pat(*ok*)")),
            ("[BODY] == pat(o?)", seen("ok"), Ok(())),
            ("[BODY] == pat(?)", seen("ok"), Err("[BODY] is \"ok\", expected == pat(?)")),
            ("[BODY] == pat(é?)", seen("éa"), Ok(())),
            ("[BODY] == pat(*a*b*c)", seen("xxaxxbxxbxxc"), Ok(())),
            ("[BODY] != pat(*error*)", seen("fine"), Ok(())),
            ("[BODY] == pat(*UP*)", json(), Ok(())),
            ("[BODY] == 42", seen("42\n"), Ok(())),
            ("[BODY] > 41.5", seen("42"), Ok(())),
            ("[BODY] == ok", no_response(), Err("[BODY]: there was no response body")),
            // JSON paths
            ("[BODY].status == UP", json(), Ok(())),
            ("[BODY].status == DOWN", json(), Err("[BODY].status is \"UP\", expected == DOWN")),
            ("[BODY].queue.depth < 1000", json(), Err("[BODY].queue.depth is 1500, expected < 1000")),
            ("[BODY].queue.depth > 1000", json(), Ok(())),
            ("[BODY].queue.name == jobs", json(), Ok(())),
            ("[BODY].items[1] == 2", json(), Ok(())),
            ("[BODY].items[2] <= 2", json(), Err("[BODY].items[2] is 3, expected <= 2")),
            ("[BODY].data[0].name == \"x y\"", json(), Ok(())),
            ("[BODY].data[0].name != \"x y\"", json(), Err("[BODY].data[0].name is \"x y\", expected != \"x y\"")),
            ("[BODY].data[1].name == z", json(), Ok(())),
            ("[BODY].data[0].tags[1] == b", json(), Ok(())),
            ("[BODY].nested.a.b[0][1] == 20", json(), Ok(())),
            ("[BODY].nested.a.b[1][0] >= 30", json(), Ok(())),
            ("[BODY][1] == 2", seen("[1, 2]"), Ok(())),
            ("[BODY].count > 40", json(), Ok(())),
            ("[BODY].count == 42", json(), Ok(())),
            ("[BODY].count == \"42\"", json(), Ok(())),
            ("[BODY].count < 10", json(), Err("[BODY].count is \"42\", expected < 10")),
            ("[BODY].ratio == 0.75", json(), Ok(())),
            ("[BODY].ratio <= 0.75", json(), Ok(())),
            ("[BODY].user-id == u_1", json(), Ok(())),
            ("[BODY].ok == true", json(), Ok(())),
            ("[BODY].ok != false", json(), Ok(())),
            ("[BODY].ok == false", json(), Err("[BODY].ok is true, expected == false")),
            ("[BODY].nothing == null", json(), Ok(())),
            ("[BODY].ok > 1", json(), Err("[BODY].ok is true, not a number; expected > 1")),
            ("[BODY].ok < yes", json(), Err("[BODY].ok is true, which has no order; expected < yes")),
            ("[BODY].status > 1", json(), Err("[BODY].status is \"UP\", not a number; expected > 1")),
            ("[BODY].status < V", json(), Ok(())),
            ("[BODY].status >= V", json(), Err("[BODY].status is \"UP\", expected >= V")),
            ("[BODY].status == any(UP, DEGRADED)", json(), Ok(())),
            (
                "[BODY].status == any(DOWN, DEGRADED)",
                json(),
                Err("[BODY].status is \"UP\", expected == any(DOWN, DEGRADED)"),
            ),
            ("[BODY].status == pat(U?)", json(), Ok(())),
            ("[BODY].items == \"[1,2,3]\"", json(), Ok(())),
            ("[BODY].queue == x", json(), Err("[BODY].queue is {\"depth\":1500,\"name\":\"jobs\"}, expected == x")),
            // len()
            ("len([BODY].items) == 3", json(), Ok(())),
            ("len([BODY].items) > 0", json(), Ok(())),
            ("len([BODY].empty) > 0", json(), Err("len([BODY].empty) is 0, expected > 0")),
            ("len([BODY].queue) == 2", json(), Ok(())),
            ("len([BODY].status) == 2", json(), Ok(())),
            ("len([BODY].data[0].tags) == 2", json(), Ok(())),
            ("len([BODY]) == 11", json(), Ok(())),
            ("len([BODY]) == 5", seen("hello\n"), Ok(())),
            (
                "len([BODY].queue.depth) > 0",
                json(),
                Err(
                    "len([BODY].queue.depth): [BODY].queue.depth is a number; len() needs an array, an object or a string",
                ),
            ),
            ("len([BODY].missing) > 0", json(), Err("len([BODY].missing): no such key `missing`")),
            ("len([BODY].items) > 0", seen("<html>"), Err("len([BODY].items): the body is not JSON")),
            // where a path cannot go
            ("[BODY].queue.depth < 1000", seen(r#"{"other":1}"#), Err("[BODY].queue.depth: no such key `queue`")),
            ("[BODY].queue.size == 1", json(), Err("[BODY].queue.size: no such key `size` in [BODY].queue")),
            (
                "[BODY].items[5] == 1",
                json(),
                Err("[BODY].items[5]: index 5 is out of range: [BODY].items has 3 item(s)"),
            ),
            ("[BODY].status.x == 1", json(), Err("[BODY].status.x: [BODY].status is a string, not an object")),
            ("[BODY].queue[0] == 1", json(), Err("[BODY].queue[0]: [BODY].queue is an object, not an array")),
            ("[BODY].queue.depth < 1000", seen("<html>"), Err("[BODY].queue.depth: the body is not JSON")),
            ("[BODY].queue.depth < 1000", no_response(), Err("[BODY].queue.depth: there was no response body")),
        ]
    }

    #[test]
    fn evaluates_the_table() {
        for (text, observed, expected) in evaluation_table() {
            let condition = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let got = condition.evaluate(&observed);
            assert_eq!(got, expected.map_err(str::to_owned), "{text}");
        }
    }

    #[test]
    fn display_is_normalized_and_parses_back_to_the_same_condition() {
        for (text, _, _) in evaluation_table() {
            let condition = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let shown = condition.to_string();
            assert_eq!(Condition::parse(&shown), Ok(condition), "{text} shown as {shown}");
        }
        let cases = [
            ("[STATUS]==200", "[STATUS] == 200"),
            ("  [STATUS] == any( 200 ,204 )  ", "[STATUS] == any(200, 204)"),
            ("[BODY].status == \"UP\"", "[BODY].status == UP"),
            ("[BODY].version == \"1.2\"", "[BODY].version == \"1.2\""),
            ("[BODY] == pat( *ok* )", "[BODY] == pat(*ok*)"),
            ("[BODY] == pat(\"(ok)\")", "[BODY] == pat(\"(ok)\")"),
            ("[BODY].a == \"say \\\"hi\\\"\"", "[BODY].a == \"say \\\"hi\\\"\""),
            ("len( [BODY].items )>0", "len([BODY].items) > 0"),
            ("[CERTIFICATE_EXPIRATION]>72h", "[CERTIFICATE_EXPIRATION] > 72h"),
        ];
        for (text, normalized) in cases {
            let condition = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(condition.to_string(), normalized);
            assert_eq!(Condition::parse(normalized), Ok(condition));
        }
    }

    #[test]
    fn quoted_text_keeps_escapes_and_parentheses() {
        let condition = Condition::parse(r#"[BODY] == pat("(ok)")"#).unwrap();
        assert_eq!(condition.evaluate(&seen("(ok)")), Ok(()));
        let condition = Condition::parse(r#"[BODY].a == "say \"hi\"""#).unwrap();
        assert_eq!(condition.evaluate(&seen(r#"{"a":"say \"hi\""}"#)), Ok(()));
    }

    #[test]
    fn the_examples_in_the_documentation_parse() {
        for text in [
            "[STATUS] == 200",
            "[RESPONSE_TIME] < 500",
            "[BODY].queue.depth < 1000",
            "[CERTIFICATE_EXPIRATION] > 72h",
            "[BODY] == pat(*ok*)",
            "[STATUS] == any(200, 204)",
            "[BODY].status == UP",
            "len([BODY].items) > 0",
            "[BODY].data[0].name != \"x y\"",
            "[CONNECTED] == true",
        ] {
            assert!(Condition::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn bad_conditions_name_the_column_and_the_problem() {
        let unknown = "unknown placeholder `[STATU]`; expected one of \
            [STATUS], [RESPONSE_TIME], [BODY], [CERTIFICATE_EXPIRATION], [CONNECTED]";
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "empty condition"),
            ("[STATU] == 200", 1, unknown),
            ("  [STATU] == 200", 3, "unknown placeholder `[STATU]`"),
            ("[status] == 200", 1, "placeholders are upper case: write `[STATUS]`"),
            (
                "[STATUS] 200",
                10,
                "missing operator after `[STATUS]`; expected one of ==, !=, <, <=, >, >=, found `200`",
            ),
            ("[STATUS]", 9, "missing operator after `[STATUS]`"),
            ("[STATUS] = 200", 10, "`=` is not an operator; write `==`"),
            ("[STATUS] ==", 12, "missing right side after `==`"),
            ("[STATUS == 200", 1, "unbalanced `[`: no closing `]`"),
            ("[BODY].items[0 == 1", 13, "unbalanced `[`: no closing `]`"),
            ("len([BODY].items > 0", 4, "unbalanced `(`: `len(` is never closed"),
            ("[STATUS] == any(200, 204", 16, "unbalanced `(`: `any(` is never closed"),
            ("[BODY] == pat(*ok*", 14, "unbalanced `(`: `pat(` is never closed"),
            ("[STATUS] == any(200 204)", 21, "expected `,` or `)` after a value in `any(`, found `204)`"),
            ("[STATUS] == 2OO", 13, "`2OO` is not a number; [STATUS] compares with numbers"),
            ("[STATUS] == 1.2.3", 13, "`1.2.3` is not a number"),
            ("[STATUS] >= -", 13, "`-` is not a number"),
            ("[RESPONSE_TIME] < fast", 19, "`fast` is not a number of milliseconds or a duration like 500ms or 1.5s"),
            ("[CERTIFICATE_EXPIRATION] > 72", 28, "`72` needs a unit: write it like 72h or 72d"),
            ("[CERTIFICATE_EXPIRATION] > soon", 28, "`soon` is not a duration"),
            ("[STATUS] == 200 300", 17, "unexpected `300` after the right side"),
            ("[STATUS] == 200)", 16, "unexpected `)` after the right side"),
            (
                "[BODY].status == all good",
                22,
                "unexpected `good` after the right side; quote text that contains spaces",
            ),
            ("[BODY] < pat(*ok*)", 8, "`<` cannot be used with pat(); use == or !="),
            ("[STATUS] > any(200, 204)", 10, "`>` cannot be used with any(); use == or !="),
            ("[CONNECTED] == yes", 16, "[CONNECTED] is true or false, not `yes`"),
            ("[CONNECTED] < true", 13, "[CONNECTED] is true or false; use == or !="),
            ("len([STATUS]) > 0", 5, "len() measures [BODY] or a path into it, not [STATUS]"),
            ("[BODY]. == 1", 8, "expected a key after `.`"),
            ("[BODY].items[x] == 1", 14, "expected an array index"),
            ("[STATUS] == \"200\"", 13, "[STATUS] compares with numbers, not text"),
            ("[BODY] == \"ok", 11, "unterminated string"),
            ("[BODY] == \"a\\qb\"", 13, "unknown escape"),
            ("[STATUS] == any()", 17, "any() needs at least one value"),
            ("[BODY] == foo(1)", 11, "unknown function `foo(`"),
            ("foo([BODY]) > 1", 1, "unknown function `foo(`"),
            ("[BODY] == [STATUS]", 11, "comparing two placeholders is not supported"),
            ("200 == [STATUS]", 1, "expected a placeholder such as [STATUS] or [BODY].path, found `200`"),
            ("[STATUS].code == 1", 9, "only [BODY] can be followed by a path, not [STATUS]"),
            ("[RESPONSE_TIME] == pat(1*)", 20, "pat() matches text"),
            ("[BODY] == \"é\" x", 15, "unexpected `x`"),
        ];
        for &(text, column, fragment) in cases {
            let error = Condition::parse(text).expect_err(text);
            assert_eq!(error.column, column, "{text}: {error}");
            assert!(error.message.contains(fragment), "{text}: {error}");
        }
        let error = Condition::parse("[STATU] == 200").unwrap_err();
        assert_eq!(error.to_string(), format!("column 1: {unknown}"));
    }

    #[test]
    fn evaluate_all_reports_every_failure() {
        let conditions: Vec<Condition> = ["[STATUS] == 200", "[BODY].queue.depth < 1000", "[RESPONSE_TIME] < 100"]
            .into_iter()
            .map(|text| Condition::parse(text).unwrap())
            .collect();
        assert_eq!(
            evaluate_all(&conditions, &seen("<html>")),
            Err("[BODY].queue.depth: the body is not JSON; [RESPONSE_TIME] is 120ms, expected < 100".into())
        );
        assert_eq!(evaluate_all(&conditions[..1], &json()), Ok(()));
        assert_eq!(evaluate_all(&[], &no_response()), Ok(()));
    }

    #[test]
    fn messages_never_carry_a_whole_body() {
        let body: &'static str = Box::leak("a".repeat(1 << 20).into_boxed_str());
        let error = Condition::parse("[BODY] == ok").unwrap().evaluate(&seen(body)).unwrap_err();
        assert!(error.len() < 200, "{error}");
        assert!(error.contains('…'));
    }

    #[test]
    fn glob_backtracks_without_blowing_up() {
        let text = "a".repeat(10_000);
        assert!(glob("*a*a*a*", &text));
        assert!(!glob("*a*a*b", &text));
        assert!(glob("", ""));
        assert!(glob("*", ""));
        assert!(!glob("?", ""));
    }

    #[test]
    fn needs_body_only_for_body_placeholders() {
        assert!(!Condition::parse("[STATUS] == 200").unwrap().needs_body());
        assert!(Condition::parse("[BODY] == ok").unwrap().needs_body());
        assert!(Condition::parse("len([BODY]) > 0").unwrap().needs_body());
    }

    // --- metric conditions ---

    fn now() -> DateTime<Utc> {
        "2025-01-01T12:00:00Z".parse().unwrap()
    }

    type Points = Vec<(DateTime<Utc>, f64)>;

    /// One point a minute, the last one at `now`.
    fn minutely(values: &[f64]) -> Points {
        let n = values.len() as i64;
        values.iter().zip(0..).map(|(&value, i)| (now() - TimeDelta::minutes(n - 1 - i), value)).collect()
    }

    #[test]
    fn metric_conditions_hold_over_the_window() {
        let window = Duration::from_secs(30 * 60);
        // 1..=20, shuffled: the aggregations must not depend on order.
        let twenty: Vec<f64> = [7, 19, 3, 20, 1, 14, 9, 12, 5, 16, 2, 18, 11, 4, 13, 8, 17, 6, 15, 10]
            .into_iter()
            .map(f64::from)
            .collect();
        let mut shuffled_times = minutely(&twenty);
        shuffled_times.reverse();
        let at = |minutes_ago: i64, value: f64| (now() - TimeDelta::minutes(minutes_ago), value);
        let cases: Vec<(&str, Points, Option<bool>)> = vec![
            // nearest rank: p95 of 20 points is the 19th smallest
            ("p95(value) > 18.5", minutely(&twenty), Some(true)),
            ("p95(value) == 19", minutely(&twenty), Some(true)),
            ("p95(value) >= 20", minutely(&twenty), Some(false)),
            ("p50(value) == 10", minutely(&twenty), Some(true)),
            ("p1(value) == 1", minutely(&twenty), Some(true)),
            ("p99(value) == 20", minutely(&twenty), Some(true)),
            ("p95(value) == 42", minutely(&[42.0]), Some(true)),
            ("avg(value) == 10.5", minutely(&twenty), Some(true)),
            ("min(value) < 3", minutely(&twenty), Some(true)),
            ("max(value) >= 10", minutely(&twenty), Some(true)),
            ("max(value) > 20", minutely(&twenty), Some(false)),
            // `value` is the newest point, wherever it is in the slice
            ("value == 10", minutely(&twenty), Some(true)),
            ("last(value) == 10", shuffled_times, Some(true)),
            ("value > 1000", minutely(&[2000.0, 5.0]), Some(false)),
            ("last(value) != 0", minutely(&[0.0, 1.0]), Some(true)),
            ("avg(value) > 1000", minutely(&[900.0, 1200.0, 1500.0]), Some(true)),
            // the window is (now - window, now]
            ("value == 1", vec![at(30, 9.0), at(29, 1.0)], Some(true)),
            ("min(value) == 1", vec![at(30, 0.0), at(0, 1.0)], Some(true)),
            ("max(value) == 1", vec![at(0, 1.0), at(-1, 5.0)], Some(true)),
            ("avg(value) > 0", vec![at(30, 1.0), at(31, 1.0), at(-1, 1.0)], None),
            ("p95(value) > 0", vec![], None),
            // points that are not numbers are skipped
            ("avg(value) == 2", minutely(&[1.0, f64::NAN, 3.0]), Some(true)),
            ("value == 3", minutely(&[3.0, f64::INFINITY]), Some(true)),
            ("value > 0", minutely(&[f64::NAN]), None),
        ];
        for (text, points, expected) in cases {
            let condition = MetricCondition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(condition.holds(&points, now(), window), expected, "{text}");
        }
    }

    #[test]
    fn metric_conditions_display_normalized() {
        for (text, shown) in [
            ("value > 1000", "value > 1000"),
            ("last(value) != 0", "value != 0"),
            ("  avg( value )>1000 ", "avg(value) > 1000"),
            ("p95(value) > 250", "p95(value) > 250"),
            ("min(value) < 3", "min(value) < 3"),
            ("max(value) >= 10", "max(value) >= 10"),
            ("value > 1e3", "value > 1000"),
            ("value <= -2.5", "value <= -2.5"),
        ] {
            let condition = MetricCondition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(condition.to_string(), shown);
            assert_eq!(MetricCondition::parse(shown), Ok(condition));
        }
    }

    #[test]
    fn bad_metric_conditions_name_the_column_and_the_problem() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "empty condition"),
            ("median(value) > 1", 1, "unknown aggregation `median`; expected one of last, avg, min, max, p95"),
            ("p0(value) > 1", 1, "`p0` is not a percentile"),
            ("p100(value) > 1", 1, "`p100` is not a percentile"),
            ("avg(value > 1", 4, "unbalanced `(`: `avg(` is never closed"),
            ("avg(x) > 1", 5, "expected `value` inside `avg(`, found `x)`"),
            ("val > 1", 1, "expected `value` or an aggregation like avg(value), found `val`"),
            ("value", 6, "missing operator"),
            ("value 5", 7, "missing operator; expected one of ==, !=, <, <=, >, >=, found `5`"),
            ("value = 1", 7, "`=` is not an operator"),
            ("value >", 8, "missing threshold after `>`"),
            ("value > NaN", 9, "`NaN` is not allowed; the threshold must be a finite number"),
            ("value > inf", 9, "`inf` is not allowed"),
            ("value > 1e999", 9, "`1e999` is too large"),
            ("value > abc", 9, "`abc` is not a number"),
            ("value > 1 2", 11, "unexpected `2` after the threshold"),
        ];
        for &(text, column, fragment) in cases {
            let error = MetricCondition::parse(text).expect_err(text);
            assert_eq!(error.column, column, "{text}: {error}");
            assert!(error.message.contains(fragment), "{text}: {error}");
        }
    }
}
