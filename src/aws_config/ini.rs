//! A lossless model of the AWS shared config and credentials files.
//!
//! [`Document::parse`] never fails: every line it does not understand is kept verbatim, and
//! `to_string()` gives back the input byte for byte (line endings per line, a missing final
//! newline, a byte-order mark, tabs, comments, indentation). Edits touch only the lines of the
//! section they name; everything else stays identical. No IO happens here.
//!
//! # How lines are read
//!
//! botocore (Python's `RawConfigParser`) and the Rust SDK (`aws-runtime`'s profile parser) agree
//! on most of the format, and where they disagree this model follows the stricter reading so
//! that an edit never produces something one of them misreads:
//!
//! - A line whose first non-blank character is `#` or `;` is a comment.
//! - A line starting with `[` is a section header. `[profile dev] ; note` is a header: both
//!   parsers drop the trailing comment. Whitespace inside the brackets is tolerated
//!   (`[ profile  dev ]` is the profile `dev`), as the Rust SDK does; botocore does *not* see a
//!   section whose name starts with whitespace, so [`Document::upsert_section`] rewrites such a
//!   header to its canonical form when it edits that section.
//! - `key = value` is a property. Keys are case-insensitive (both parsers lower-case them).
//! - An indented line that follows a property (blank and comment lines may sit between) belongs
//!   to it: this is how nested blocks such as `s3 =\n  max_concurrent_requests = 10` are
//!   written. Both parsers read them that way.
//! - Anything else (text without `=`, keys before the first section) is kept as it is.
//!
//! # Values and inline comments
//!
//! [`Property::value`] is the text after `=`, trimmed, exactly as botocore reads it: botocore
//! does **not** strip inline comments, so for `region = us-east-1 # team default` botocore's
//! region is `us-east-1 # team default`. The Rust SDK strips ` #…` and ` ;…` (a comment
//! character preceded by whitespace); [`Property::value_without_comment`] gives that reading,
//! and [`Property::inline_comment`] says whether the two differ. When keyless replaces a value
//! it writes the line without the inline comment, so both SDKs read the same value.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::error::Error;

/// The line ending written on lines keyless adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }
}

/// A section header, normalized: `[ profile  dev ]` and `[profile dev]` are the same header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Header {
    /// `[default]`: the default profile (in both files).
    Default,
    /// `[profile NAME]` in the config file.
    Profile(String),
    /// `[sso-session NAME]` in the config file.
    SsoSession(String),
    /// `[services NAME]` in the config file.
    Services(String),
    /// `[NAME]`: a profile in the credentials file (ignored by both SDKs in the config file).
    Bare(String),
    /// `[PREFIX NAME]` with a prefix neither SDK knows.
    Other { prefix: String, name: String },
}

impl Header {
    /// Reads the text between the brackets.
    pub fn from_inner(inner: &str) -> Header {
        let inner = inner.trim();
        match inner.split_once([' ', '\t']) {
            Some((prefix, name)) => {
                let name = name.trim().to_string();
                match prefix {
                    "profile" => Header::Profile(name),
                    "sso-session" => Header::SsoSession(name),
                    "services" => Header::Services(name),
                    _ => Header::Other { prefix: prefix.to_string(), name },
                }
            }
            None if inner == "default" => Header::Default,
            None => Header::Bare(inner.to_string()),
        }
    }

    /// The name after the prefix (`default` for [`Header::Default`]).
    pub fn name(&self) -> &str {
        match self {
            Header::Default => "default",
            Header::Profile(n) | Header::SsoSession(n) | Header::Services(n) | Header::Bare(n) => n,
            Header::Other { name, .. } => name,
        }
    }
}

impl fmt::Display for Header {
    /// The canonical header line, brackets included: `[profile dev]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Header::Default => f.write_str("[default]"),
            Header::Profile(n) => write!(f, "[profile {n}]"),
            Header::SsoSession(n) => write!(f, "[sso-session {n}]"),
            Header::Services(n) => write!(f, "[services {n}]"),
            Header::Bare(n) => write!(f, "[{n}]"),
            Header::Other { prefix, name } => write!(f, "[{prefix} {name}]"),
        }
    }
}

/// Whether `s` is a name both SDKs accept for a profile, section or key:
/// `[A-Za-z0-9_\-/.%@:+]+` (the Rust SDK ignores anything else).
pub fn is_valid_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    /// `leading_ws`: the name inside the brackets starts with whitespace (botocore misses it).
    Header {
        header: Header,
        leading_ws: bool,
    },
    /// `key` lower-cased; `key_end`: byte offset just past the key; `value_start`: byte
    /// offset of the value (after `=` and the whitespace that follows it).
    Property {
        key: String,
        key_end: usize,
        value_start: usize,
    },
    /// An indented line belonging to the property above it.
    Continuation,
    Other,
}

#[derive(Clone, PartialEq, Eq)]
struct Line {
    text: String,
    eol: &'static str,
    kind: Kind,
}

impl Line {
    fn new(text: String, eol: &'static str, kind: Kind) -> Self {
        Line { text, eol, kind }
    }

    fn is_content(&self) -> bool {
        matches!(self.kind, Kind::Property { .. } | Kind::Continuation | Kind::Other)
    }
}

/// Where an edit takes the file's line ending and ` = ` style from: the document itself, or
/// (for one section edited on its own) the whole file it came from.
enum FileStyle {
    Own,
    Of { eol: &'static str, separator: Option<String> },
}

/// A parsed config or credentials file that reproduces its input byte for byte.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Document {
    bom: bool,
    lines: Vec<Line>,
}

/// The contents of a credentials file must never reach a log: `Debug` shows the shape only.
impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("lines", &self.lines.len())
            .field(
                "sections",
                &self.sections().iter().map(|s| s.header.clone()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bom {
            f.write_str("\u{feff}")?;
        }
        for line in &self.lines {
            f.write_str(&line.text)?;
            f.write_str(line.eol)?;
        }
        Ok(())
    }
}

/// One occurrence of a section: its header line and the lines that belong to it.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    pub header: Header,
    /// 1-based line number of the header.
    pub line_number: usize,
    pub properties: Vec<Property<'a>>,
}

impl<'a> Section<'a> {
    /// The value of `key` (case-insensitive), as botocore reads it; the last one wins.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.properties.iter().rev().find(|p| p.key.eq_ignore_ascii_case(key)).map(|p| p.value)
    }
}

/// One `key = value` line and the nested `sub_key = value` lines under it.
#[derive(Clone)]
pub struct Property<'a> {
    /// Lower-cased, as both SDKs read it.
    pub key: &'a str,
    /// The trimmed text after `=`, inline comment included (botocore's reading).
    pub value: &'a str,
    /// 1-based line number.
    pub line_number: usize,
    /// Nested lines such as `max_concurrent_requests = 10` under `s3 =`, trimmed.
    pub sub_properties: Vec<(&'a str, &'a str)>,
    line: &'a str,
}

/// Keys whose values are secrets: never shown by `Debug`.
pub const SECRET_KEYS: &[&str] =
    &["aws_secret_access_key", "aws_session_token", "aws_security_token"];

/// `text` with the value of every line that sets a [`SECRET_KEYS`] key (any case, any
/// indentation) replaced by `********`, for showing a file to a person. Everything else,
/// line endings included, stays as it is.
pub fn mask_secret_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let eol = &line[body.len()..];
        let masked = body.split_once('=').filter(|(key, value)| {
            let key = key.trim().to_ascii_lowercase();
            SECRET_KEYS.contains(&key.as_str()) && !value.trim().is_empty()
        });
        match masked {
            Some((key, _)) => {
                out.push_str(key);
                out.push_str("= ********");
            }
            None => out.push_str(body),
        }
        out.push_str(eol);
    }
    out
}

impl fmt::Debug for Property<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = SECRET_KEYS.contains(&self.key);
        f.debug_struct("Property")
            .field("key", &self.key)
            .field("value", if secret { &"REDACTED" } else { &self.value })
            .field("line_number", &self.line_number)
            .field("sub_properties", &self.sub_properties)
            .finish()
    }
}

impl<'a> Property<'a> {
    /// The value as the Rust SDK reads it: a trailing ` #…` or ` ;…` comment removed.
    pub fn value_without_comment(&self) -> &'a str {
        let stripped = strip_comment(self.line, true);
        stripped.split_once('=').map_or("", |(_, v)| v.trim_matches([' ', '\t']))
    }

    /// The inline comment that botocore keeps in the value and the Rust SDK strips, if any.
    pub fn inline_comment(&self) -> Option<&'a str> {
        let rust = self.value_without_comment();
        (rust.len() < self.value.len()).then(|| self.value[rust.len()..].trim_start())
    }
}

/// Like the Rust SDK's `prepare_line`: trims, then cuts at the first `#`/`;` (for properties
/// only when preceded by whitespace).
fn strip_comment(line: &str, comments_need_whitespace: bool) -> &str {
    let line = line.trim_matches([' ', '\t']);
    let mut prev_ws = false;
    for (idx, c) in line.char_indices() {
        if (c == '#' || c == ';') && (prev_ws || !comments_need_whitespace) {
            return line[..idx].trim_matches([' ', '\t']);
        }
        prev_ws = c.is_whitespace();
    }
    line
}

/// Reads a header line (already known to start with `[` after trimming).
fn parse_header(trimmed: &str) -> Option<(Header, bool)> {
    let inner = |s: &str| -> Option<String> {
        let rest = s.strip_prefix('[')?;
        let close = rest.rfind(']')?;
        rest[close + 1..].trim().is_empty().then(|| rest[..close].to_string())
    };
    // The Rust SDK's reading first (comment cut anywhere), then botocore's (up to the last `]`).
    let inner = inner(strip_comment(trimmed, false)).or_else(|| {
        let rest = trimmed.strip_prefix('[')?;
        rest.rfind(']').map(|close| rest[..close].to_string())
    })?;
    if inner.trim().is_empty() {
        return None;
    }
    let leading_ws = inner.starts_with([' ', '\t']);
    Some((Header::from_inner(&inner), leading_ws))
}

fn property_kind(text: &str) -> Option<Kind> {
    let eq = text.find('=')?;
    let key = text[..eq].trim_matches([' ', '\t']);
    if key.is_empty() {
        return None;
    }
    let key_start = text.len() - text.trim_start_matches([' ', '\t']).len();
    let key_end = key_start + key.len();
    let after = &text[eq + 1..];
    let value_start = eq + 1 + (after.len() - after.trim_start_matches([' ', '\t']).len());
    Some(Kind::Property { key: key.to_ascii_lowercase(), key_end, value_start })
}

/// Splits text into lines with their endings (`\n`, `\r\n`, or none for the last line).
fn split_lines(text: &str) -> Vec<(&str, &'static str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('\n') {
            Some(i) => {
                let line = &rest[..i];
                match line.strip_suffix('\r') {
                    Some(l) => out.push((l, "\r\n")),
                    None => out.push((line, "\n")),
                }
                rest = &rest[i + 1..];
            }
            None => {
                out.push((rest, ""));
                rest = "";
            }
        }
    }
    out
}

impl Document {
    /// Parses any text. Never fails: lines it does not understand are kept as they are.
    pub fn parse(text: &str) -> Document {
        let (bom, text) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut lines = Vec::new();
        let mut in_property = false;
        for (text, eol) in split_lines(text) {
            let trimmed = text.trim();
            let indented = text.starts_with([' ', '\t']);
            let kind = if trimmed.is_empty() {
                Kind::Blank
            } else if indented && in_property {
                Kind::Continuation
            } else if trimmed.starts_with(['#', ';']) {
                Kind::Comment
            } else if trimmed.starts_with('[') {
                in_property = false;
                match parse_header(trimmed) {
                    Some((header, leading_ws)) => Kind::Header { header, leading_ws },
                    None => Kind::Other,
                }
            } else if let Some(kind) = property_kind(text) {
                in_property = true;
                kind
            } else {
                in_property = false;
                Kind::Other
            };
            lines.push(Line::new(text.to_string(), eol, kind));
        }
        Document { bom, lines }
    }

    /// Whether the file starts with a UTF-8 byte-order mark. Neither SDK reads such a file.
    pub fn has_bom(&self) -> bool {
        self.bom
    }

    pub fn is_empty(&self) -> bool {
        !self.bom && self.lines.is_empty()
    }

    /// The line ending most lines use (`\n` for an empty file or a tie).
    pub fn line_ending(&self) -> LineEnding {
        let crlf = self.lines.iter().filter(|l| l.eol == "\r\n").count();
        let lf = self.lines.iter().filter(|l| l.eol == "\n").count();
        if crlf > lf { LineEnding::CrLf } else { LineEnding::Lf }
    }

    /// (header line index, end of its content lines) for every section, in file order. The
    /// content ends after the last property, nested or unparsed line; blank and comment lines
    /// after it belong to whatever follows.
    fn spans(&self) -> Vec<(usize, usize)> {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            if matches!(line.kind, Kind::Header { .. }) {
                spans.push((i, i + 1));
            } else if line.is_content()
                && let Some(last) = spans.last_mut()
            {
                last.1 = i + 1;
            }
        }
        spans
    }

    fn header_at(&self, i: usize) -> &Header {
        match &self.lines[i].kind {
            Kind::Header { header, .. } => header,
            _ => unreachable!("spans start at header lines"),
        }
    }

    fn spans_of(&self, header: &Header) -> Vec<(usize, usize)> {
        self.spans().into_iter().filter(|&(h, _)| self.header_at(h) == header).collect()
    }

    /// The lines `i..end` of the property at `i`: its nested lines, and the blank or comment
    /// lines between them.
    fn property_extent(&self, i: usize) -> (usize, usize) {
        let mut end = i + 1;
        for j in i + 1..self.lines.len() {
            match self.lines[j].kind {
                Kind::Continuation => end = j + 1,
                Kind::Blank | Kind::Comment => {}
                _ => break,
            }
        }
        (i, end)
    }

    fn property_at(&self, i: usize) -> Property<'_> {
        let line = &self.lines[i];
        let Kind::Property { key, value_start, .. } = &line.kind else {
            unreachable!("property_at on a property line")
        };
        let (_, end) = self.property_extent(i);
        let sub_properties = self.lines[i + 1..end]
            .iter()
            .filter(|l| l.kind == Kind::Continuation)
            .filter_map(|l| l.text.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        Property {
            key,
            value: line.text[*value_start..].trim(),
            line_number: i + 1,
            sub_properties,
            line: &line.text,
        }
    }

    /// Every section occurrence in file order (a section written twice appears twice).
    pub fn sections(&self) -> Vec<Section<'_>> {
        self.spans()
            .into_iter()
            .map(|(h, end)| Section {
                header: self.header_at(h).clone(),
                line_number: h + 1,
                properties: (h + 1..end)
                    .filter(|&i| matches!(self.lines[i].kind, Kind::Property { .. }))
                    .map(|i| self.property_at(i))
                    .collect(),
            })
            .collect()
    }

    /// The properties of a section, every occurrence merged in file order (the Rust SDK's
    /// reading; botocore refuses a file with a section written twice). `None` if absent.
    pub fn section(&self, header: &Header) -> Option<Section<'_>> {
        let mut found = self.sections().into_iter().filter(|s| &s.header == header);
        let mut first = found.next()?;
        for more in found {
            first.properties.extend(more.properties);
        }
        Some(first)
    }

    /// The value of `key` in `header` as botocore reads it (see the module docs).
    pub fn get(&self, header: &Header, key: &str) -> Option<&str> {
        self.section(header)?.get(key)
    }

    /// Property line indices with `key` in the given sections, in file order.
    fn key_lines(&self, spans: &[(usize, usize)], key: &str) -> Vec<usize> {
        spans
            .iter()
            .flat_map(|&(h, end)| h + 1..end)
            .filter(|&i| matches!(&self.lines[i].kind, Kind::Property { key: k, .. } if k.eq_ignore_ascii_case(key)))
            .collect()
    }

    /// The ` = ` between key and value on line `i`, if it is a property with a value.
    fn separator_at(&self, i: usize) -> Option<String> {
        match &self.lines[i].kind {
            Kind::Property { key_end, value_start, .. }
                if *value_start < self.lines[i].text.len() =>
            {
                Some(self.lines[i].text[*key_end..*value_start].to_string())
            }
            _ => None,
        }
    }

    /// The ` = ` this file's first property uses.
    fn file_separator(&self) -> Option<String> {
        (0..self.lines.len()).find_map(|i| self.separator_at(i))
    }

    /// The ` = ` between key and value that this section (else this file) uses.
    fn separator_style(&self, spans: &[(usize, usize)], file: &FileStyle) -> String {
        spans
            .iter()
            .flat_map(|&(h, end)| h + 1..end)
            .find_map(|i| self.separator_at(i))
            .or_else(|| match file {
                FileStyle::Own => self.file_separator(),
                FileStyle::Of { separator, .. } => separator.clone(),
            })
            .unwrap_or_else(|| " = ".to_string())
    }

    fn dominant_eol(&self, file: &FileStyle) -> &'static str {
        match file {
            FileStyle::Own => self.line_ending().as_str(),
            FileStyle::Of { eol, .. } => eol,
        }
    }

    fn remove_ranges(&mut self, mut ranges: Vec<(usize, usize)>) {
        ranges.sort_unstable();
        ranges.dedup();
        for (start, end) in ranges.into_iter().rev() {
            self.lines.drain(start..end);
        }
    }

    /// Sets `entries` in the section `header`, creating the section if it does not exist.
    ///
    /// In an existing section each key's value is replaced in place (the line keeps its key
    /// spelling, its ` = ` spacing and its line ending; an inline comment on it is dropped
    /// because botocore would read it as part of the value; nested lines under it are
    /// removed). If the key appears more than once (or the section is written twice), the last
    /// occurrence is kept and the others removed, so both SDKs read the new value. Missing keys
    /// are added after the section's last property. A new section is appended at the end of
    /// the file, after one blank line. Returns whether anything changed.
    pub fn upsert_section(
        &mut self,
        header: &Header,
        entries: &[(&str, &str)],
    ) -> anyhow::Result<bool> {
        validate_header(header)?;
        for (key, value) in entries {
            validate_entry(header, key, value)?;
        }
        Ok(self.upsert_valid(header, entries, &FileStyle::Own))
    }

    /// Many [`Document::upsert_section`] calls, each followed by
    /// [`Document::remove_keys`] of `remove`, in one pass over the file: the same result as
    /// making the calls one by one, in linear rather than quadratic time (a sync writes
    /// thousands of profiles). Checks every entry before changing anything. Returns, per
    /// item, whether it changed anything.
    pub fn upsert_sections(
        &mut self,
        items: &[(Header, Vec<(&str, &str)>)],
        remove: &[&str],
    ) -> anyhow::Result<Vec<bool>> {
        for (header, entries) in items {
            validate_header(header)?;
            for (key, value) in entries {
                validate_entry(header, key, value)?;
            }
        }
        let mut occurrences: HashMap<&Header, Vec<(usize, usize)>> = HashMap::new();
        let spans = self.spans();
        for &(h, end) in &spans {
            occurrences.entry(self.header_at(h)).or_default().push((h, end));
        }
        let file =
            FileStyle::Of { eol: self.line_ending().as_str(), separator: self.file_separator() };
        let mut seen: HashSet<&Header> = HashSet::new();
        let mut changed = vec![false; items.len()];
        // (start, end, new lines) for sections written once; new sections; everything else
        // (a section written twice, a header named twice) the slow way afterwards.
        let mut replaced: Vec<(usize, usize, Vec<Line>)> = Vec::new();
        let mut appended: Vec<usize> = Vec::new();
        let mut slow: Vec<usize> = Vec::new();
        for (i, (header, entries)) in items.iter().enumerate() {
            if !seen.insert(header) {
                slow.push(i);
                continue;
            }
            match occurrences.get(header).map(Vec::as_slice) {
                None => appended.push(i),
                Some(&[(h, end)]) => {
                    let mut one = Document { bom: false, lines: self.lines[h..end].to_vec() };
                    changed[i] = one.upsert_valid(header, entries, &file);
                    changed[i] |= one.remove_keys(header, remove);
                    if changed[i] {
                        replaced.push((h, end, one.lines));
                    }
                }
                Some(_) => slow.push(i),
            }
        }
        drop(occurrences);
        drop(seen);
        if !replaced.is_empty() {
            replaced.sort_unstable_by_key(|r| r.0);
            let old = std::mem::take(&mut self.lines);
            let mut lines = Vec::with_capacity(old.len() + replaced.len());
            let mut old = old.into_iter().enumerate().peekable();
            for (start, end, new) in replaced {
                while old.peek().is_some_and(|(j, _)| *j < start) {
                    lines.push(old.next().expect("peeked").1);
                }
                while old.peek().is_some_and(|(j, _)| *j < end) {
                    old.next();
                }
                lines.extend(new);
            }
            lines.extend(old.map(|(_, l)| l));
            self.lines = lines;
        }
        let eol = self.line_ending().as_str();
        for i in appended {
            let (header, entries) = &items[i];
            self.append_section_with(header, entries, eol);
            changed[i] = true;
        }
        for i in slow {
            let (header, entries) = &items[i];
            changed[i] = self.upsert_valid(header, entries, &FileStyle::Own);
            changed[i] |= self.remove_keys(header, remove);
        }
        Ok(changed)
    }

    fn upsert_valid(
        &mut self,
        header: &Header,
        entries: &[(&str, &str)],
        file: &FileStyle,
    ) -> bool {
        let spans = self.spans_of(header);
        if spans.is_empty() {
            let eol = self.dominant_eol(file);
            self.append_section_with(header, entries, eol);
            return true;
        }
        let mut changed = false;
        let (first_header, _) = spans[0];
        if let Kind::Header { leading_ws: true, .. } = self.lines[first_header].kind {
            changed = true;
            let line = &mut self.lines[first_header];
            line.text = header.to_string();
            line.kind = Kind::Header { header: header.clone(), leading_ws: false };
        }

        let mut missing = Vec::new();
        let mut remove = Vec::new();
        for (key, value) in entries {
            let found = self.key_lines(&spans, key);
            let Some((&keep, others)) = found.split_last() else {
                missing.push((*key, *value));
                continue;
            };
            for &other in others {
                remove.push(self.property_extent(other));
            }
            let (_, nested_end) = self.property_extent(keep);
            remove.push((keep + 1, nested_end));
            let line = &mut self.lines[keep];
            let Kind::Property { value_start, .. } = line.kind else { unreachable!() };
            let text = if value_start < line.text.len() {
                format!("{}{value}", &line.text[..value_start])
            } else {
                let head = line.text.trim_end_matches([' ', '\t']);
                let space =
                    if head.trim_end_matches('=').ends_with([' ', '\t']) { " " } else { "" };
                format!("{head}{space}{value}")
            };
            if text != line.text {
                changed = true;
                if let Some(kind) = property_kind(&text) {
                    line.kind = kind;
                }
                line.text = text;
            }
        }
        let remove: Vec<_> = remove.into_iter().filter(|(s, e)| s < e).collect();
        changed |= !remove.is_empty();
        self.remove_ranges(remove);

        if !missing.is_empty() {
            changed = true;
            let spans = self.spans_of(header);
            let sep = self.separator_style(&spans, file);
            let (_, at) = *spans.last().expect("the section still exists");
            let dominant = self.dominant_eol(file);
            let prev = &mut self.lines[at - 1];
            if prev.eol.is_empty() {
                prev.eol = dominant;
            }
            let eol = prev.eol;
            let new_lines: Vec<Line> = missing
                .iter()
                .map(|(k, v)| {
                    let text = format!("{k}{sep}{v}");
                    let kind = property_kind(&text).expect("a validated key makes a property");
                    Line::new(text, eol, kind)
                })
                .collect();
            self.lines.splice(at..at, new_lines);
        }
        changed
    }

    fn append_section_with(
        &mut self,
        header: &Header,
        entries: &[(&str, &str)],
        eol: &'static str,
    ) {
        if let Some(last) = self.lines.last_mut() {
            if last.eol.is_empty() {
                last.eol = eol;
            }
            if last.kind != Kind::Blank {
                self.lines.push(Line::new(String::new(), eol, Kind::Blank));
            }
        }
        let kind = Kind::Header { header: header.clone(), leading_ws: false };
        self.lines.push(Line::new(header.to_string(), eol, kind));
        for (key, value) in entries {
            let text = format!("{key} = {value}");
            let kind = property_kind(&text).expect("a validated key makes a property");
            self.lines.push(Line::new(text, eol, kind));
        }
    }

    /// Removes `keys` (and their nested lines) from every occurrence of the section.
    /// Returns whether anything changed.
    pub fn remove_keys(&mut self, header: &Header, keys: &[&str]) -> bool {
        let spans = self.spans_of(header);
        let ranges: Vec<_> = keys
            .iter()
            .flat_map(|k| self.key_lines(&spans, k))
            .map(|i| self.property_extent(i))
            .collect();
        let changed = !ranges.is_empty();
        self.remove_ranges(ranges);
        changed
    }

    /// Replaces every secret line ([`SECRET_KEYS`], in any section, nested lines included)
    /// with a comment saying it was removed: what a backup keeps instead of a secret.
    /// Returns how many were replaced.
    pub fn redact_secrets(&mut self) -> usize {
        let found: Vec<(usize, usize, String)> = (0..self.lines.len())
            .filter_map(|i| match &self.lines[i].kind {
                Kind::Property { key, .. } if SECRET_KEYS.contains(&key.as_str()) => {
                    let (start, end) = self.property_extent(i);
                    Some((start, end, key.clone()))
                }
                _ => None,
            })
            .collect();
        for (start, end, key) in found.iter().rev() {
            let eol = self.lines[*start].eol;
            let note = format!("# {key} removed: keyless never keeps a secret in a backup");
            self.lines.splice(*start..*end, [Line::new(note, eol, Kind::Comment)]);
        }
        found.len()
    }

    /// Removes every occurrence of the section: its header, its properties and nested lines
    /// (and comments between them), and one blank line after it (or before it, at the end of
    /// the file). Comments after its last property stay: they introduce what follows.
    /// Returns whether anything changed.
    pub fn remove_section(&mut self, header: &Header) -> bool {
        let spans = self.spans_of(header);
        for &(start, end) in spans.iter().rev() {
            let (mut start, mut end) = (start, end);
            if self.lines.get(end).is_some_and(|l| l.kind == Kind::Blank) {
                end += 1;
            } else if end == self.lines.len()
                && start > 0
                && self.lines[start - 1].kind == Kind::Blank
            {
                start -= 1;
            }
            self.lines.drain(start..end);
        }
        !spans.is_empty()
    }
}

fn validate_header(header: &Header) -> anyhow::Result<()> {
    let ok = match header {
        Header::Default => true,
        Header::Other { prefix, name } => is_valid_identifier(prefix) && is_valid_identifier(name),
        other => is_valid_identifier(other.name()),
    };
    if ok {
        Ok(())
    } else {
        // Callers check the names they take from users (profiles, sessions, team files)
        // with their own messages first: reaching this is a bug in keyless.
        Err(Error::internal(format!("{header} is not a valid section name")).into())
    }
}

fn validate_entry(header: &Header, key: &str, value: &str) -> anyhow::Result<()> {
    if !is_valid_identifier(key) || key.contains(['=', '#', ';', '[']) {
        return Err(Error::internal(format!("{header}: `{key}` is not a valid key name")).into());
    }
    let bad = if value.chars().any(char::is_control) {
        Some("contains a line break or control character")
    } else if value.trim() != value {
        Some("starts or ends with whitespace, which both SDKs trim")
    } else if value.contains(" #")
        || value.contains(" ;")
        || value.contains("\t#")
        || value.contains("\t;")
    {
        Some("contains ` #` or ` ;`, which the Rust SDK reads as the start of a comment")
    } else {
        None
    };
    match bad {
        // The value itself is not shown: it may be a secret. Every value keyless writes was
        // checked where it came from (regions, start URLs, scopes, credential_process lines).
        Some(why) => Err(Error::internal(format!("{header}: the value for `{key}` {why}")).into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) {
        assert_eq!(Document::parse(s).to_string(), s, "round trip of {s:?}");
    }

    fn profile(n: &str) -> Header {
        Header::Profile(n.into())
    }

    /// The kinds stored after edits must be what a fresh parse of the output gives.
    fn assert_consistent(doc: &Document) {
        assert_eq!(doc, &Document::parse(&doc.to_string()), "{}", doc);
    }

    #[test]
    fn round_trips_odd_input() {
        for s in [
            "",
            "\n",
            "\r\n",
            "no newline",
            "\u{feff}[default]\nregion = x\n",
            "[default]\r\nregion = x\nkey=y\r\n",
            "x = 1\n[profile a]\n\tk\t=\tv # c\n",
            "[broken\n=\n[]\n  [x]\n\r\r\n",
            "[profile é]\nk = 値 ; コメント",
        ] {
            roundtrip(s);
        }
    }

    #[test]
    fn reads_headers_the_way_the_sdks_do() {
        let doc = Document::parse(
            "[default]\n[ profile  dev ]\n[sso-session acme] ; c\n[services s]\n[creds]\n[weird x]\n[bad\n",
        );
        let headers: Vec<_> = doc.sections().into_iter().map(|s| s.header).collect();
        assert_eq!(
            headers,
            vec![
                Header::Default,
                profile("dev"),
                Header::SsoSession("acme".into()),
                Header::Services("s".into()),
                Header::Bare("creds".into()),
                Header::Other { prefix: "weird".into(), name: "x".into() },
            ]
        );
    }

    #[test]
    fn values_keep_inline_comments_like_botocore_and_strip_them_like_rust() {
        let doc = Document::parse("[profile a]\nRegion = us-east-1 # team\nurl = http://x#y\n");
        let s = doc.section(&profile("a")).unwrap();
        let region = &s.properties[0];
        assert_eq!(region.key, "region");
        assert_eq!(region.value, "us-east-1 # team");
        assert_eq!(region.value_without_comment(), "us-east-1");
        assert_eq!(region.inline_comment(), Some("# team"));
        assert_eq!(s.properties[1].value_without_comment(), "http://x#y");
        assert_eq!(s.properties[1].inline_comment(), None);
        assert_eq!(doc.get(&profile("a"), "REGION"), Some("us-east-1 # team"));
    }

    #[test]
    fn nested_blocks_are_sub_properties() {
        let doc = Document::parse(
            "[profile a]\ns3 =\n  max_concurrent_requests = 10\n\n  x = y\nregion = r\n",
        );
        let s = doc.section(&profile("a")).unwrap();
        assert_eq!(s.properties[0].value, "");
        assert_eq!(
            s.properties[0].sub_properties,
            vec![("max_concurrent_requests", "10"), ("x", "y")]
        );
        assert_eq!(s.get("region"), Some("r"));
    }

    #[test]
    fn upsert_replaces_in_place_and_appends_missing_keys() {
        let mut doc = Document::parse(
            "# top\n[profile a]\r\nregion=us-east-1 # old\r\noutput   =   json\r\n# about b\r\n\r\n[profile b]\r\nk = v\r\n",
        );
        let changed = doc
            .upsert_section(
                &profile("a"),
                &[("region", "eu-west-1"), ("credential_process", "/bin/x")],
            )
            .unwrap();
        assert!(changed);
        assert_eq!(
            doc.to_string(),
            "# top\n[profile a]\r\nregion=eu-west-1\r\noutput   =   json\r\ncredential_process=/bin/x\r\n# about b\r\n\r\n[profile b]\r\nk = v\r\n"
        );
        assert_consistent(&doc);
        let again = doc.clone();
        assert!(
            !doc.upsert_section(
                &profile("a"),
                &[("region", "eu-west-1"), ("credential_process", "/bin/x")]
            )
            .unwrap()
        );
        assert_eq!(doc, again);
    }

    #[test]
    fn upsert_appends_a_new_section_after_one_blank_line() {
        let mut doc = Document::parse("[default]\r\nregion = x");
        doc.upsert_section(&profile("new"), &[("region", "y")]).unwrap();
        assert_eq!(
            doc.to_string(),
            "[default]\r\nregion = x\r\n\r\n[profile new]\r\nregion = y\r\n"
        );
        assert_consistent(&doc);

        let mut empty = Document::parse("");
        empty.upsert_section(&Header::SsoSession("s".into()), &[("sso_region", "r")]).unwrap();
        assert_eq!(empty.to_string(), "[sso-session s]\nsso_region = r\n");

        let mut trailing_blank = Document::parse("[default]\n\n");
        trailing_blank.upsert_section(&profile("n"), &[]).unwrap();
        assert_eq!(trailing_blank.to_string(), "[default]\n\n[profile n]\n");
    }

    #[test]
    fn upsert_fixes_duplicates_and_nested_values() {
        let mut doc = Document::parse(
            "[profile a]\nregion = one\ns3 =\n  x = 1\n[default]\n[profile a]\nregion = two\n",
        );
        doc.upsert_section(&profile("a"), &[("region", "three"), ("s3", "flat")]).unwrap();
        assert_eq!(
            doc.to_string(),
            "[profile a]\ns3 = flat\n[default]\n[profile a]\nregion = three\n"
        );
        assert_consistent(&doc);
    }

    #[test]
    fn upsert_makes_a_header_botocore_can_read() {
        let mut doc = Document::parse("[ profile  dev ] ; mine\nregion = a\n");
        doc.upsert_section(&profile("dev"), &[("region", "b")]).unwrap();
        assert_eq!(doc.to_string(), "[profile dev]\nregion = b\n");
    }

    #[test]
    fn upsert_into_a_section_with_only_a_header() {
        let mut doc = Document::parse("[profile a]\n# note\n\n[profile b]\n");
        doc.upsert_section(&profile("a"), &[("region", "r")]).unwrap();
        assert_eq!(doc.to_string(), "[profile a]\nregion = r\n# note\n\n[profile b]\n");
        let mut empty_value = Document::parse("[profile a]\nregion =\n");
        empty_value.upsert_section(&profile("a"), &[("region", "r")]).unwrap();
        assert_eq!(empty_value.to_string(), "[profile a]\nregion = r\n");
    }

    #[test]
    fn upsert_rejects_what_the_sdks_would_misread() {
        let mut doc = Document::default();
        for (h, k, v) in [
            (profile("a b"), "k", "v"),
            (profile("a"), "bad key", "v"),
            (profile("a"), "k", "two\nlines"),
            (profile("a"), "k", "v # c"),
            (profile("a"), "k", " padded"),
        ] {
            let err = doc.upsert_section(&h, &[(k, v)]).unwrap_err();
            // Names and values are checked where users give them: this is the last guard.
            assert_eq!(crate::error::exit_code(&err), 3, "{err}");
        }
        assert!(doc.is_empty());
    }

    #[test]
    fn upsert_sections_matches_one_call_at_a_time() {
        let inputs = [
            "",
            "[profile a]\nregion = x\nsso_session = s\n\n# about b\n[profile b]\ncredential_process=old\n",
            "[profile a]\r\nregion=x\r\n[profile a]\r\nregion = y\r\n[default]\r\noutput = json",
            "[profile c]\ns3 =\n  max = 1\n[profile b]\n[services x]\nk = v\n",
        ];
        let items: Vec<(Header, Vec<(&str, &str)>)> = vec![
            (profile("a"), vec![("credential_process", "/k cp"), ("region", "r1")]),
            (profile("b"), vec![("credential_process", "/k cp b")]),
            (profile("new"), vec![("credential_process", "/k n"), ("region", "r2")]),
            (Header::Default, vec![("credential_process", "/k d")]),
            (profile("c"), vec![("s3", "plain")]),
            (profile("b"), vec![("region", "r3")]),
        ];
        let remove = ["sso_session", "output"];
        for input in inputs {
            let mut one_by_one = Document::parse(input);
            let mut want = Vec::new();
            for (h, e) in &items {
                let mut changed = one_by_one.upsert_section(h, e).unwrap();
                changed |= one_by_one.remove_keys(h, &remove);
                want.push(changed);
            }
            let mut batch = Document::parse(input);
            let got = batch.upsert_sections(&items, &remove).unwrap();
            assert_eq!(batch.to_string(), one_by_one.to_string(), "for {input:?}");
            assert_eq!(got, want, "for {input:?}");
            assert_consistent(&batch);
        }
    }

    #[test]
    fn remove_keys_takes_nested_lines_along() {
        let mut doc = Document::parse("[profile a]\ns3 =\n  x = 1\n# keep\nregion = r\n");
        assert!(doc.remove_keys(&profile("a"), &["S3"]));
        assert_eq!(doc.to_string(), "[profile a]\n# keep\nregion = r\n");
        assert!(!doc.remove_keys(&profile("a"), &["s3"]));
        assert!(!doc.remove_keys(&profile("zz"), &["region"]));
    }

    #[test]
    fn remove_section_takes_its_lines_and_one_blank() {
        let text = "[default]\nregion = x\n\n[profile a]\n# inside\nk = v\n  nested\n\n# about b\n[profile b]\nk = v\n";
        let mut doc = Document::parse(text);
        assert!(doc.remove_section(&profile("a")));
        assert_eq!(doc.to_string(), "[default]\nregion = x\n\n# about b\n[profile b]\nk = v\n");
        assert!(!doc.remove_section(&profile("a")));

        // Adding then removing a section gives back the original file.
        let original = "[default]\nregion = x\n";
        let mut doc = Document::parse(original);
        doc.upsert_section(&profile("tmp"), &[("region", "y")]).unwrap();
        doc.remove_section(&profile("tmp"));
        assert_eq!(doc.to_string(), original);
    }

    #[test]
    fn secrets_are_redacted_wherever_they_are() {
        let mut doc = Document::parse(
            "[default]\r\naws_access_key_id = AKIA1\r\naws_secret_access_key = s3cr3t\r\nregion = x\r\n[profile p]\nAWS_SESSION_TOKEN = tok\n  nested = tok2\noutput = json\n",
        );
        assert_eq!(doc.redact_secrets(), 2);
        assert_eq!(
            doc.to_string(),
            "[default]\r\naws_access_key_id = AKIA1\r\n# aws_secret_access_key removed: keyless never keeps a secret in a backup\r\nregion = x\r\n[profile p]\n# aws_session_token removed: keyless never keeps a secret in a backup\noutput = json\n"
        );
        assert_eq!(doc.redact_secrets(), 0);
    }

    #[test]
    fn secret_values_are_masked_for_display_and_nothing_else_changes() {
        let text = "[default]\r\naws_access_key_id = AKIA1\r\naws_secret_access_key = s3cr3t\r\n  AWS_SESSION_TOKEN=tok\n# aws_secret_access_key = old\nregion = x";
        assert_eq!(
            mask_secret_values(text),
            "[default]\r\naws_access_key_id = AKIA1\r\naws_secret_access_key = ********\r\n  AWS_SESSION_TOKEN= ********\n# aws_secret_access_key = old\nregion = x"
        );
    }

    #[test]
    fn debug_hides_secret_values() {
        let doc = Document::parse("[default]\naws_secret_access_key = hunter2\n");
        assert!(!format!("{doc:?}").contains("hunter2"));
        let s = doc.section(&Header::Default).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
