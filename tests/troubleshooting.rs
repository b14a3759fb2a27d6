//! `docs/troubleshooting.md` lists every message keyless prints. This test reads every message
//! out of its tables and checks that each still exists: every literal piece of it (the parts
//! between `{…}` placeholders and `…` elisions) is in keyless's source or its installer. A
//! message the code no longer prints fails here until its entry goes.
//!
//! Messages that other programs print (the argument parser, botocore, the Rust SDK, AWS) or
//! that keyless assembles from several pieces are listed in [`NOT_VERBATIM`] with where they
//! come from; each of those must still be in the doc, so the list cannot go stale either.
//!
//! And every documented message is produced by a test that checks the text the user sees:
//! every literal piece of it is in the suite's test code (the cases here and in
//! `tests/troubleshooting/`, the other test files, `src`'s unit tests, the Python and Wine
//! tests), so a message no test shows fails here.

mod support;

// The cases by area of the doc, beside the general ones at the end of this file.
#[path = "troubleshooting/console_config.rs"]
mod console_config;
#[path = "troubleshooting/credentials.rs"]
mod credentials;
#[path = "troubleshooting/signin.rs"]
mod signin;
#[path = "troubleshooting/team_emulator_install.rs"]
mod team_emulator_install;

use std::path::Path;

use support::user::{REGION, START_URL, User, text};

/// Documented messages that are not one string in keyless's source, and why.
const NOT_VERBATIM: &[(&str, &str)] = &[
    (
        "invalid value '{value}' for '--region <REGION>': `{value}` is not an AWS region (e.g. us-east-1, eu-west-2)",
        "the argument parser wraps keyless's `is not an AWS region` message",
    ),
    (
        "invalid value '{value}' for '--service <SERVICE>': `{value}` is not a console service name",
        "the argument parser wraps keyless's `is not a console service name` message",
    ),
    (
        "Received non 200 response 503 from container metadata: {\"Code\":\"CredentialsUnavailable\",\"Message\":\"…\"}",
        "botocore",
    ),
    ("Non-success status from HTTP credential provider: StatusCode(503)", "the Rust SDK"),
    ("Received non 200 response {status} from container metadata: {…}", "botocore"),
    ("Non-success status from HTTP credential provider: StatusCode({status})", "the Rust SDK"),
    (
        "Unsupported host '{host}'.  Can only retrieve metadata from a loopback address or one of these hosts: …",
        "botocore",
    ),
    ("invalid full URI for ECS provider (…)", "the Rust SDK"),
    (
        "SignatureDoesNotMatch: Credential should be scoped to a valid region, not '{region}'.",
        "AWS (the emulator prints AWS's code and message apart)",
    ),
    (
        "SignatureDoesNotMatch: Credential should be scoped to a valid region.",
        "AWS (code and message apart)",
    ),
    (
        "SignatureDoesNotMatch: Credential should be scoped to correct service: '{service}'.",
        "AWS (code and message apart)",
    ),
    ("ForbiddenException: No access", "AWS (code and message apart)"),
    ("UnauthorizedException: Session token not found or invalid", "AWS (code and message apart)"),
    (
        "… is not a directory (a symlink or a file is in its place); …",
        "`the lock directory {dir} {problem}; …` with the problem",
    ),
    (
        "the secret-service keychain is locked",
        "`the {store} keychain is locked` for the Secret Service",
    ),
    (
        "the secret-service keychain is not available: {reason}",
        "`the {store} keychain is not available: {reason}`",
    ),
    (
        "the secret-service keychain is not available: the Secret Service has no default (login) keyring; keyless does not store tokens in its in-memory session collection",
        "`the {store} keychain is not available: {reason}` with the Secret Service's reason",
    ),
    (
        "the keyutils keychain is not available: {reason}",
        "`the {store} keychain is not available: {reason}`",
    ),
    (
        "the {store} keychain is not available: `{store}` does not exist on this operating system",
        "`the {store} keychain is not available: {reason}`",
    ),
    (
        "keyless: warning: the `default` profile in the AWS config has `{key}`; SDKs in the command use those before the endpoint",
        "a warning prefix, the finding and its consequence are three pieces",
    ),
    (
        "kept {key} in profile `{profile}`: profile `{profile}` in {config} also has {settings}, which replacing it would drop; …",
        "`kept … in profile …:` followed by the reason",
    ),
    (
        "kept {key} in profile `{profile}`: you have no SSO access to account {account}; …",
        "`kept … in profile …:` followed by the reason",
    ),
    (
        "kept {key} in profile `{profile}`: no role is mapped for account {account} …",
        "`kept … in profile …:` followed by the reason",
    ),
    (
        "kept {key} in profile `{profile}`: `{profile}` is not a valid profile name (the Rust SDK ignores it); …",
        "`kept … in profile …:` followed by the reason",
    ),
    (
        "the lock directory {dir} is open to other users (mode {mode}); keyless only keeps its locks in a directory that is yours alone",
        "`the lock directory {dir} {problem}; …` with the problem",
    ),
    (
        "keyless will not point AWS tools at {path}: the {binary/directory} {path} is writable by {its group/every user} (mode {mode}), so another user could replace it and receive your credentials",
        "`… at {path}: {why}, so …` with the reason",
    ),
    (
        "warning: {why}; profiles will run {path} anyway (--allow-binary-writable-by-others)",
        "the warning names the flag apart",
    ),
    (
        "the browser did not come for the console sign-in within 120 s",
        "`within {} s` with the 120 s wait",
    ),
    (
        "keyless: warning: the `default` profile in the AWS credentials file has access keys; SDKs in the command use those before the endpoint",
        "a warning prefix, the finding and its consequence are three pieces",
    ),
    (
        "listing your accounts failed: {reason}",
        "`{what} failed: {reason}` with what was being listed",
    ),
];

/// Prefixes the error and warning printers add.
const PREFIXES: &[&str] = &["keyless: warning: ", "keyless: ", "warning: ", "error: "];

/// The messages of one table cell: its backtick-quoted spans (``…`` around a message that
/// holds backticks itself), leaving out parenthesised remarks.
fn messages(cell: &str) -> Vec<String> {
    let b = cell.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !cell.is_char_boundary(i) {
            i += 1;
            continue;
        }
        if cell[i..].starts_with("``") && cell[i + 2..].contains("``") {
            let end = i + 2 + cell[i + 2..].find("``").unwrap();
            out.push(cell[i + 2..end].to_string());
            i = end + 2;
        } else if b[i] == b'`' {
            // A message may hold backticks: it ends at the backtick the cell's prose follows.
            let rest = &cell[i + 1..];
            let end = (0..rest.len())
                .find(|&j| {
                    rest.as_bytes()[j] == b'`'
                        && [",", " /", " (", " or ", ""].iter().any(|t| {
                            if t.is_empty() {
                                j + 1 == rest.len()
                            } else {
                                rest[j + 1..].starts_with(t)
                            }
                        })
                })
                .unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            i += end + 2;
        } else if b[i] == b'(' {
            // A remark such as "(`logout`)" or "(or the other way round)".
            let mut depth = 0;
            while i < b.len() {
                match b[i] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The literal pieces of a documented message: what is left between placeholders.
fn pieces(message: &str) -> Vec<String> {
    let mut m = message;
    while let Some(p) = PREFIXES.iter().find(|p| m.starts_with(**p)) {
        m = &m[p.len()..];
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in m.chars() {
        match c {
            '{' => {
                depth += 1;
                out.push(std::mem::take(&mut cur));
            }
            '}' if depth > 0 => depth -= 1,
            '…' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ if depth == 0 => cur.push(c),
            _ => {}
        }
    }
    out.push(cur);
    out.into_iter().map(|p| p.trim().to_string()).filter(|p| p.chars().count() >= 4).collect()
}

/// Every message in the doc's tables (first column), with its line number.
fn documented() -> Vec<(usize, String)> {
    let doc = std::fs::read_to_string(repo("docs/troubleshooting.md")).unwrap();
    let mut out = Vec::new();
    // Only tables whose first column is a message (`message`, `error (code: message)`, …) list
    // messages; others (symptoms on systems the suite cannot run) are prose.
    let lines: Vec<&str> = doc.lines().collect();
    let mut in_messages = false;
    for (n, line) in lines.iter().enumerate() {
        if line.starts_with("|---") {
            continue;
        }
        let Some(row) = line.strip_prefix("| ") else {
            in_messages = false;
            continue;
        };
        if lines.get(n + 1).is_some_and(|next| next.starts_with("|---")) {
            in_messages = row.split(" | ").next().unwrap().contains("message");
            continue;
        }
        if !in_messages {
            continue;
        }
        let cell = row.split(" | ").next().unwrap();
        for m in messages(cell) {
            out.push((n + 1, m));
        }
    }
    out
}

fn repo(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// keyless's Rust source and installer, with string-continuation line breaks joined.
fn source() -> String {
    fn walk(dir: &Path, out: &mut String) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut raw = String::new();
    walk(&repo("src"), &mut raw);
    raw.push_str(&std::fs::read_to_string(repo("install.sh")).unwrap());
    join_continuations(&raw)
}

/// Joins Rust string continuations: `"…\` + newline + indentation continues a string.
fn join_continuations(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut lines = raw.split('\n').peekable();
    while let Some(l) = lines.next() {
        if let Some(head) = l.strip_suffix('\\')
            && let Some(next) = lines.peek_mut()
        {
            out.push_str(head);
            *next = next.trim_start();
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[test]
fn every_documented_message_is_still_printed() {
    let src = source();
    let docs = documented();
    assert!(docs.len() > 100, "the doc's tables were not read: {docs:?}");
    let mut stale = Vec::new();
    for (line, m) in &docs {
        if NOT_VERBATIM.iter().any(|(n, _)| n == m) {
            continue;
        }
        let missing: Vec<String> = pieces(m).into_iter().filter(|p| !src.contains(p)).collect();
        if !missing.is_empty() {
            stale.push(format!("line {line}: `{m}`: not in the source: {missing:?}"));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/troubleshooting.md lists messages keyless does not print (fix the entry, or list it in NOT_VERBATIM with where it comes from):\n{}",
        stale.join("\n")
    );
}

/// Where the suite's tests live: every Rust test file (this one only from its cases, below the
/// marker, so the tables above cannot count), the `#[cfg(test)]` modules in `src/`, and the
/// Python and Wine tests. String-continuation line breaks are joined.
fn test_code() -> String {
    fn walk(dir: &Path, out: &mut String) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
                continue;
            }
            let Some(ext) = p.extension() else { continue };
            if ext != "rs" && ext != "py" {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let text = if p.ends_with("tests/troubleshooting.rs") {
                let at = text.find(CASES_MARKER).expect("the cases marker");
                text[at..].to_string()
            } else if p.starts_with(repo("src")) {
                match text.find("#[cfg(test)]") {
                    Some(at) => text[at..].to_string(),
                    None => continue,
                }
            } else {
                text
            };
            out.push_str(&join_continuations(&text));
        }
    }
    let mut out = String::new();
    walk(&repo("tests"), &mut out);
    walk(&repo("src"), &mut out);
    out
}

/// Where this file's cases start: the text above it does not count as a test producing a
/// message.
const CASES_MARKER: &str = "// The messages the user sees, produced for real";

/// The parts of a message a test must check: its literal pieces without the quotes and
/// punctuation that a test may leave out around them.
fn checked_pieces(message: &str) -> Vec<String> {
    pieces(message)
        .into_iter()
        .map(|p| p.trim_matches(|c: char| "`'\":;,. ".contains(c)).to_string())
        .filter(|p| p.chars().count() >= 6)
        .collect()
}

#[test]
fn every_documented_message_is_produced_by_a_test() {
    let tests = test_code();
    let mut unproven = Vec::new();
    for (line, m) in documented() {
        let missing: Vec<String> =
            checked_pieces(&m).into_iter().filter(|p| !tests.contains(p.as_str())).collect();
        if !missing.is_empty() {
            unproven.push(format!("line {line}: `{m}`: no test checks {missing:?}"));
        }
    }
    assert!(
        unproven.is_empty(),
        "{} messages in docs/troubleshooting.md are not produced by any test (write one that shows the user's text; if keyless no longer prints it, remove the entry):\n{}",
        unproven.len(),
        unproven.join("\n")
    );
}

#[test]
fn every_message_said_to_come_from_elsewhere_is_still_documented() {
    let docs: Vec<String> = documented().into_iter().map(|(_, m)| m).collect();
    for (m, from) in NOT_VERBATIM {
        assert!(docs.contains(&m.to_string()), "`{m}` ({from}) is no longer in the doc: drop it");
    }
}

#[test]
fn the_cell_reader_finds_messages_with_backticks_and_skips_remarks() {
    assert_eq!(
        messages("`you are not signed in to SSO session `{session}``"),
        ["you are not signed in to SSO session `{session}`"]
    );
    assert_eq!(
        messages("``{VAR} is not an https URL (`{url}`)``"),
        ["{VAR} is not an https URL (`{url}`)"]
    );
    assert_eq!(messages("`a` / `b {x}` (`logout`)"), ["a", "b {x}"]);
    assert_eq!(pieces("error: could not run `{program}`: {reason}"), ["could not run `"]);
}

// The messages the user sees, produced for real: each case runs keyless as a user would and
// checks the documented message, its fix and the exit code the doc's preamble promises.

/// Runs keyless for `user` and returns (exit code, stderr).
fn fails(user: &User, args: &[&str]) -> (Option<i32>, String) {
    let out = user.run(args);
    assert!(out.stdout.is_empty(), "an error printed to stdout: {}", text(&out.stdout));
    (out.status.code(), text(&out.stderr))
}

/// A user whose identity endpoints lead nowhere: none of these cases may get that far.
fn offline_user() -> User {
    User::with_endpoint("http://127.0.0.1:9")
}

#[test]
fn choosing_an_sso_session_explains_what_is_missing() {
    let user = offline_user();
    let (code, err) = fails(&user, &["login", "--no-browser"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error: no SSO session is configured"), "{err}");
    assert!(err.contains("hint: run `keyless onboard`"), "{err}");

    std::fs::write(
        user.config_path(),
        format!(
            "[sso-session alpha]\nsso_start_url = {START_URL}\nsso_region = {REGION}\n\n[sso-session beta]\nsso_start_url = {START_URL}\nsso_region = {REGION}\n"
        ),
    )
    .unwrap();
    let (code, err) = fails(&user, &["login", "--no-browser"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("error: several SSO sessions are configured; name one with --session"),
        "{err}"
    );
    assert!(err.contains("alpha") && err.contains("beta"), "the hint lists them: {err}");

    let (code, err) =
        fails(&user, &["login", "--start-url", START_URL, "--region", REGION, "--no-browser"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("error: --start-url needs --session NAME"), "{err}");
    assert!(err.contains("--session acme"), "{err}");

    let (code, err) = fails(
        &user,
        &["login", "--session", "no/slash", "--start-url", START_URL, "--region", REGION],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("error: `no/slash` is not a valid SSO session name"), "{err}");
}

#[test]
fn without_a_home_directory_it_says_how_to_name_the_files() {
    let user = offline_user();
    let mut cmd = user.keyless(&["login", "--no-browser"]);
    cmd.env_remove("HOME").env_remove("AWS_CONFIG_FILE").env_remove("AWS_SHARED_CREDENTIALS_FILE");
    let out = support::user::run_bounded(cmd, 60);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("error: cannot find your home directory: HOME is not set"), "{err}");
    assert!(err.contains("AWS_CONFIG_FILE"), "{err}");
}

#[test]
fn a_config_file_that_is_not_utf8_is_named_as_such_not_as_a_permissions_problem() {
    let user = offline_user();
    let original = b"[default]\nregion = caf\xe9\n";
    std::fs::write(user.config_path(), original).unwrap();
    let shown = user.config_path().display().to_string();
    for args in [&["status"][..], &["profiles", "sync", "--yes"]] {
        let (code, err) = fails(&user, args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("error: {shown} is not valid UTF-8; keyless will not read it")),
            "{args:?}: {err}"
        );
        assert!(err.contains("re-save it as UTF-8") && !err.contains("permissions"), "{err}");
    }
    assert_eq!(std::fs::read(user.config_path()).unwrap(), original, "the file is untouched");
}
