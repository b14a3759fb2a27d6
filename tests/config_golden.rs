//! Golden tests for format-preserving edits of `~/.aws/config` and `~/.aws/credentials`.
//!
//! Each fixture in `tests/fixtures/config/` is hand-written. For each one: parsing and
//! printing gives the same bytes; the onboarding edit gives exactly `<name>.onboard.expected`;
//! every line outside the sections keyless manages is kept byte for byte; doing the edit again
//! changes nothing; and removing what was added gives `<name>.removed.expected`.
//!
//! `KEYLESS_BLESS=1 cargo test --test config_golden` writes missing expected files (review
//! them before committing).

use std::path::{Path, PathBuf};

use keyless::aws_config::ini::{Document, Header};
use keyless::aws_config::profiles;

mod config_common;
use config_common::{onboard, process};

const FIXTURES: &[&str] = &[
    "commented.ini",
    "crlf.ini",
    "mixed-endings.ini",
    "unicode.ini",
    "no-trailing-newline.ini",
    "empty.ini",
    "keys-before-section.ini",
    "duplicate-sections.ini",
    "managed-existing.ini",
    "bom.ini",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn golden(name: &str, actual: &str) {
    let path = dir().join(name);
    if !path.exists() && std::env::var_os("KEYLESS_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {name}; actual output:\n{actual}"));
    assert_eq!(actual, expected, "output differs from {name}");
}

const MANAGED: &[&str] = &["acme-dev", "acme-prod"];

fn managed_headers() -> Vec<Header> {
    let mut h: Vec<Header> = MANAGED.iter().map(|n| Header::Profile(n.to_string())).collect();
    h.push(Header::SsoSession("acme".into()));
    h
}

/// Lines with their endings; the last line without one is compared without it.
fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

/// Every line of `original` outside the managed sections appears in `edited`, in order,
/// byte for byte (a last line that had no newline may have gained one). With
/// `removed_sections`, the one blank line after a managed section may go with it.
fn assert_untouched_lines_kept(name: &str, original: &str, edited: &str, removed_sections: bool) {
    let doc = Document::parse(original);
    let managed_lines: Vec<usize> = doc
        .sections()
        .iter()
        .filter(|s| managed_headers().contains(&s.header))
        .flat_map(|s| {
            let last = s
                .properties
                .last()
                .map_or(s.line_number, |p| p.line_number + p.sub_properties.len());
            let blank_after =
                removed_sections && original.lines().nth(last).is_some_and(|l| l.trim().is_empty());
            s.line_number..=last + usize::from(blank_after)
        })
        .collect();
    let edited_lines = lines(edited);
    let mut at = 0;
    let original_lines = lines(original);
    for (i, line) in original_lines.iter().enumerate() {
        if managed_lines.contains(&(i + 1)) {
            continue;
        }
        let is_last_without_newline = i + 1 == original_lines.len() && !line.ends_with('\n');
        let found = edited_lines[at..].iter().position(|l| {
            *l == *line
                || (is_last_without_newline
                    && l.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
                        == Some(line))
        });
        let Some(offset) = found else {
            panic!("{name}: line {} ({line:?}) was not kept as it was", i + 1);
        };
        at += offset + 1;
    }
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    for name in FIXTURES.iter().chain(&["credentials.ini"]) {
        let bytes = std::fs::read(dir().join(name)).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(Document::parse(&text).to_string().into_bytes(), bytes, "{name}");
    }
}

#[test]
fn onboarding_edits_match_the_golden_files_and_keep_everything_else() {
    for name in FIXTURES {
        let original = read(name);
        let mut doc = Document::parse(&original);
        assert!(onboard(&mut doc), "{name}: the first edit changes something");
        let edited = doc.to_string();
        golden(&format!("{name}.onboard.expected"), &edited);
        assert_untouched_lines_kept(name, &original, &edited, false);

        // Idempotent: the same edit again changes nothing, in the model and in the bytes.
        let mut again = Document::parse(&edited);
        assert!(!onboard(&mut again), "{name}: the second edit changed something");
        assert_eq!(again.to_string(), edited, "{name}");

        // The profiles read back as keyless wrote them.
        let managed = profiles::managed_profiles(&doc);
        let got: Vec<_> = managed.iter().map(|(p, c)| (p.name.as_str(), c.clone())).collect();
        assert_eq!(
            got,
            [
                ("acme-dev", process("111111111111", "Developer")),
                ("acme-prod", process("222222222222", "ReadOnly"))
            ],
            "{name}"
        );
    }
}

#[test]
fn removing_the_managed_sections_keeps_everything_else() {
    for name in FIXTURES {
        let original = read(name);
        let mut doc = Document::parse(&original);
        onboard(&mut doc);
        for h in managed_headers() {
            assert!(doc.remove_section(&h), "{name}: {h}");
            assert!(!doc.remove_section(&h), "{name}: {h} removed twice");
        }
        let removed = doc.to_string();
        golden(&format!("{name}.removed.expected"), &removed);
        assert_untouched_lines_kept(name, &original, &removed, true);
    }
    // Where the file ended with a newline and had no managed section, removal undoes the edit.
    for name in ["commented.ini", "crlf.ini", "unicode.ini", "empty.ini", "duplicate-sections.ini"]
    {
        assert_eq!(read(&format!("{name}.removed.expected")), read(name), "{name}");
    }
}

#[test]
fn retiring_a_key_in_the_credentials_file_touches_only_that_profile() {
    let original = read("credentials.ini");
    let mut doc = Document::parse(&original);
    let keys = profiles::static_keys(&doc);
    assert_eq!(
        keys.iter().map(|k| (k.profile.as_str(), k.access_key_id.as_str())).collect::<Vec<_>>(),
        [("default", "AKIAIOSFODNN7EXAMPLE"), ("ci", "AKIAI44QH8DHBEXAMPLE")]
    );
    assert!(!format!("{keys:?}").contains("EXAMPLEKEY"));
    assert!(doc.remove_section(&profiles::credentials_header("default")));
    golden("credentials.ini.retire-default.expected", &doc.to_string());
    assert_eq!(profiles::static_keys(&doc).len(), 1);
}
