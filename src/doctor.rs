//! `keyless doctor`'s judgement: from facts gathered about the machine (files, environment,
//! secure store, clock), the findings with a verdict and a fix each.
//!
//! Everything here is pure so every rule is unit-tested; `cli::doctor` gathers the facts.
//! Facts never hold a secret: access key ids are kept only in their masked form.

use serde::Serialize;

/// How bad a finding is. `Warning` and `Problem` make `doctor` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Info,
    Warning,
    Problem,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Warning => "warning",
            Status::Problem => "PROBLEM",
        }
    }
}

/// One finding: which check, how bad, what was found, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn finding(check: &'static str, status: Status, message: String, fix: Option<String>) -> Finding {
    Finding { check, status, message, fix }
}

/// `AKIA…0001`: enough to recognise a key in the IAM console, never enough to use it.
pub fn mask_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "…".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Keys found in `~/.aws/credentials` (or the config file).
#[derive(Debug, Clone)]
pub struct StaticKey {
    pub file: String,
    pub profile: String,
    /// Masked with [`mask_key_id`].
    pub key_id: String,
    /// `ASIA…` keys with a session token are temporary; `AKIA…` keys live until deleted.
    pub temporary: bool,
}

/// The AWS variables of the environment that change which credentials tools use.
#[derive(Debug, Clone, Default)]
pub struct EnvFacts {
    /// Masked.
    pub access_key_id: Option<String>,
    pub secret_access_key_set: bool,
    pub profile: Option<String>,
    /// Whether `AWS_PROFILE` names a profile that exists.
    pub profile_exists: bool,
}

/// A profile whose `credential_process` runs keyless.
#[derive(Debug, Clone)]
pub struct ManagedProfile {
    pub profile: String,
    pub binary: String,
    pub binary_exists: bool,
    /// Why another user could replace the binary ([`crate::exe::writable_by_others`]).
    pub binary_writable_by_others: Option<String>,
    pub session: String,
}

/// A session's token as kept in the secure store.
#[derive(Debug, Clone)]
pub struct SessionFact {
    pub name: String,
    pub expires_at: i64,
    pub refreshable: bool,
}

/// The secure store: its name and how it was chosen, and the sessions in it, or why it
/// cannot be used.
#[derive(Debug, Clone)]
pub enum StoreFact {
    Usable { name: String, chosen: String, sessions: Vec<SessionFact> },
    Unusable { name: String, message: String, fix: String },
}

/// The clock compared with an STS response's `Date` header.
#[derive(Debug, Clone)]
pub enum ClockFact {
    /// Local time minus server time, in seconds.
    Measured {
        endpoint: String,
        skew_secs: i64,
    },
    Unreachable {
        endpoint: String,
        reason: String,
    },
    Skipped,
}

/// A config or credentials file and its permission bits (Unix), if it exists.
#[derive(Debug, Clone)]
pub struct FileFact {
    pub path: String,
    /// `true` for the credentials file, which can hold secrets.
    pub holds_secrets: bool,
    pub mode: Option<u32>,
}

/// A backup keyless kept of the config or credentials file.
#[derive(Debug, Clone)]
pub struct BackupFact {
    pub path: String,
    /// Whether it holds a secret line (written by a keyless from before backups were
    /// redacted).
    pub holds_secret: bool,
    pub mode: Option<u32>,
}

/// Everything `doctor` looks at.
#[derive(Debug, Clone)]
pub struct Facts {
    pub now: i64,
    pub static_keys: Vec<StaticKey>,
    pub env: EnvFacts,
    pub managed: Vec<ManagedProfile>,
    pub store: StoreFact,
    pub clock: ClockFact,
    pub files: Vec<FileFact>,
    pub backups: Vec<BackupFact>,
    /// The running keyless, for fixes that rewrite profiles.
    pub current_binary: String,
}

/// Sessions ending sooner than this (and not refreshable) are reported.
pub const SESSION_WARNING_SECS: i64 = 3600;
/// Clock skew worth a warning, and the skew that breaks things.
pub const SKEW_WARNING_SECS: i64 = 60;
pub const SKEW_PROBLEM_SECS: i64 = 300;

/// Every finding, worst first within the order of the checks.
pub fn findings(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    store(f, &mut out);
    sessions(f, &mut out);
    managed(f, &mut out);
    static_keys(f, &mut out);
    env(f, &mut out);
    files(f, &mut out);
    backups(f, &mut out);
    clock(f, &mut out);
    out
}

/// Whether anything needs fixing.
pub fn needs_attention(findings: &[Finding]) -> bool {
    findings.iter().any(|x| x.status >= Status::Warning)
}

fn store(f: &Facts, out: &mut Vec<Finding>) {
    match &f.store {
        StoreFact::Usable { name, chosen, .. } => out.push(finding(
            "secure store",
            Status::Ok,
            format!("`{name}` is usable ({chosen})"),
            None,
        )),
        StoreFact::Unusable { name, message, fix } => out.push(finding(
            "secure store",
            Status::Problem,
            format!("`{name}` cannot be used: {message}"),
            Some(fix.clone()),
        )),
    }
}

fn sessions(f: &Facts, out: &mut Vec<Finding>) {
    let StoreFact::Usable { sessions, .. } = &f.store else { return };
    let login = |s: &str| Some(format!("run `keyless login --session {s}`"));
    for s in sessions {
        let left = s.expires_at - f.now;
        if left <= 0 && !s.refreshable {
            out.push(finding(
                "session",
                Status::Problem,
                format!("SSO session `{}` has expired", s.name),
                login(&s.name),
            ));
        } else if left < SESSION_WARNING_SECS && !s.refreshable {
            out.push(finding(
                "session",
                Status::Warning,
                format!(
                    "SSO session `{}` ends in {} and cannot be refreshed",
                    s.name,
                    crate::time::human_remaining(left)
                ),
                login(&s.name),
            ));
        } else if left <= 0 {
            out.push(finding(
                "session",
                Status::Ok,
                format!("SSO session `{}`: token expired, refreshed on next use", s.name),
                None,
            ));
        } else {
            out.push(finding(
                "session",
                Status::Ok,
                format!(
                    "SSO session `{}`: valid for {}{}",
                    s.name,
                    crate::time::human_remaining(left),
                    if s.refreshable { ", refreshable" } else { "" }
                ),
                None,
            ));
        }
    }
    // Profiles that use a session nobody signed in to.
    let mut missing: Vec<&str> = f
        .managed
        .iter()
        .map(|m| m.session.as_str())
        .filter(|s| !sessions.iter().any(|x| x.name == *s))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    for s in missing {
        out.push(finding(
            "session",
            Status::Problem,
            format!("profiles use SSO session `{s}`, but you are not signed in to it"),
            login(s),
        ));
    }
}

fn managed(f: &Facts, out: &mut Vec<Finding>) {
    for m in f.managed.iter().filter(|m| !m.binary_exists) {
        out.push(finding(
            "profile",
            Status::Problem,
            format!(
                "profile `{}` runs {}, which no longer exists: every AWS tool fails with this profile",
                m.profile, m.binary
            ),
            Some(format!(
                "run `keyless profiles sync --session {}` to point the profiles at {}",
                m.session, f.current_binary
            )),
        ));
    }
    // One finding per binary: a thousand profiles share one path.
    let mut by_binary: Vec<(&ManagedProfile, Vec<&str>)> = Vec::new();
    for m in f.managed.iter().filter(|m| m.binary_exists && m.binary_writable_by_others.is_some()) {
        match by_binary.iter_mut().find(|(first, _)| first.binary == m.binary) {
            Some((_, names)) => names.push(&m.profile),
            None => by_binary.push((m, vec![&m.profile])),
        }
    }
    for (m, names) in by_binary {
        let shown = if names.len() > 3 {
            format!("{} and {} more", names[..3].join(", "), names.len() - 3)
        } else {
            names.join(", ")
        };
        out.push(finding(
            "profile",
            Status::Problem,
            format!(
                "{} profile(s) ({shown}) run {}, but {}: another user could replace it and receive your credentials",
                names.len(),
                m.binary,
                m.binary_writable_by_others.as_deref().unwrap_or_default()
            ),
            Some(format!(
                "install keyless where only you (or root) can write, e.g. ~/.local/bin, then run `keyless profiles sync --session {}` with that copy",
                m.session
            )),
        ));
    }
}

fn static_keys(f: &Facts, out: &mut Vec<Finding>) {
    for k in &f.static_keys {
        if k.temporary {
            out.push(finding(
                "access key",
                Status::Warning,
                format!(
                    "profile `{}` in {} holds temporary credentials {} in plaintext",
                    k.profile, k.file, k.key_id
                ),
                Some(format!(
                    "delete the profile's keys from {} and use a keyless profile instead",
                    k.file
                )),
            ));
        } else {
            out.push(finding(
                "access key",
                Status::Problem,
                format!(
                    "profile `{}` in {} holds long-lived access key {}",
                    k.profile, k.file, k.key_id
                ),
                Some(
                    "run `keyless onboard --migrate` to replace it with an SSO profile of the same name and deactivate the key"
                        .into(),
                ),
            ));
        }
    }
}

fn env(f: &Facts, out: &mut Vec<Finding>) {
    let e = &f.env;
    if let Some(id) = &e.access_key_id {
        let profile = e
            .profile
            .as_ref()
            .map(|p| format!(" (AWS_PROFILE={p} is ignored while they are set)"))
            .unwrap_or_default();
        out.push(finding(
            "environment",
            Status::Problem,
            format!(
                "AWS_ACCESS_KEY_ID ({id}) is set: every AWS tool in this shell uses it instead of your profiles{profile}"
            ),
            Some(
                "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN, and remove them from your shell startup files"
                    .into(),
            ),
        ));
    } else if e.secret_access_key_set {
        out.push(finding(
            "environment",
            Status::Warning,
            "AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID".into(),
            Some("unset AWS_SECRET_ACCESS_KEY, and remove it from your shell startup files".into()),
        ));
    }
    if let Some(p) = &e.profile {
        if !e.profile_exists {
            out.push(finding(
                "environment",
                Status::Problem,
                format!("AWS_PROFILE={p} names a profile that does not exist"),
                Some(
                    "unset AWS_PROFILE, or run `keyless profiles sync` to create the profile"
                        .into(),
                ),
            ));
        } else if e.access_key_id.is_none() {
            out.push(finding(
                "environment",
                Status::Info,
                format!("AWS_PROFILE={p} selects the profile for every AWS tool in this shell"),
                None,
            ));
        }
    }
}

fn files(f: &Facts, out: &mut Vec<Finding>) {
    for file in &f.files {
        let Some(mode) = file.mode else { continue };
        if mode & 0o044 == 0 {
            continue;
        }
        let who = if mode & 0o004 != 0 { "every user on this machine" } else { "its group" };
        let (status, what) = if file.holds_secrets {
            (Status::Problem, "it can hold access keys")
        } else {
            (Status::Warning, "it names your accounts, roles and start URL")
        };
        out.push(finding(
            "file permissions",
            status,
            format!("{} is readable by {who} (mode {:o}); {what}", file.path, mode & 0o777),
            Some(format!("chmod 600 {}", file.path)),
        ));
    }
}

fn backups(f: &Facts, out: &mut Vec<Finding>) {
    for b in &f.backups {
        if b.holds_secret {
            out.push(finding(
                "backup",
                Status::Problem,
                format!("{} is a keyless backup that holds a secret access key or session token", b.path),
                Some(format!(
                    "check it holds nothing else you need, then delete it: rm {} (keyless no longer keeps secrets in backups)",
                    b.path
                )),
            ));
        } else if let Some(mode) = b.mode.filter(|m| m & 0o077 != 0) {
            out.push(finding(
                "backup",
                Status::Warning,
                format!(
                    "{} is a keyless backup readable or writable by others (mode {:o})",
                    b.path,
                    mode & 0o777
                ),
                Some(format!("chmod 600 {}", b.path)),
            ));
        }
    }
}

fn clock(f: &Facts, out: &mut Vec<Finding>) {
    match &f.clock {
        ClockFact::Skipped => {}
        ClockFact::Unreachable { endpoint, reason } => out.push(finding(
            "clock",
            Status::Info,
            format!("could not compare the clock with {endpoint}: {reason}"),
            None,
        )),
        ClockFact::Measured { endpoint, skew_secs } => {
            let abs = skew_secs.abs();
            let dir = if *skew_secs > 0 { "ahead of" } else { "behind" };
            let message = format!("this machine's clock is {abs}s {dir} {endpoint}");
            let fix = Some(
                "turn on automatic time synchronisation (for example `timedatectl set-ntp true` on Linux)"
                    .to_string(),
            );
            out.push(if abs >= SKEW_PROBLEM_SECS {
                finding(
                    "clock",
                    Status::Problem,
                    format!("{message}: AWS rejects requests signed more than 5 minutes off and token expiry is misjudged"),
                    fix,
                )
            } else if abs >= SKEW_WARNING_SECS {
                finding("clock", Status::Warning, message, fix)
            } else {
                finding("clock", Status::Ok, format!("in sync with {endpoint} ({abs}s)"), None)
            });
        }
    }
}

/// Parses an HTTP `Date` (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) into epoch seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let rest = s.trim().split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| m == month)? + 1;
    crate::time::parse_rfc3339(&format!("{year}-{month:02}-{:0>2}T{time}Z", day))
}

/// The human report: one line per finding, its fix indented below, then the verdict.
pub fn render(findings: &[Finding]) -> String {
    let width = findings.iter().map(|x| x.check.len()).max().unwrap_or(0);
    let mut out = String::new();
    for x in findings {
        out.push_str(&format!("{:<8} {:<width$}  {}\n", x.status.label(), x.check, x.message));
        if let Some(fix) = &x.fix {
            out.push_str(&format!("{:<8} {:<width$}  fix: {fix}\n", "", ""));
        }
    }
    let count = |s: Status| findings.iter().filter(|x| x.status == s).count();
    let (problems, warnings) = (count(Status::Problem), count(Status::Warning));
    out.push('\n');
    if problems + warnings == 0 {
        out.push_str("Verdict: all good.\n");
    } else {
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        out.push_str(&format!(
            "Verdict: {} and {} to fix. Apply the fixes above, then run `keyless doctor` again.\n",
            plural(problems, "problem"),
            plural(warnings, "warning")
        ));
    }
    out
}

/// The `--json` report.
pub fn to_json(findings: &[Finding]) -> String {
    /// A struct rather than `json!`, so `verdict` comes first as documented.
    #[derive(Serialize)]
    struct Report<'a> {
        verdict: &'a str,
        findings: &'a [Finding],
    }
    let verdict = if needs_attention(findings) { "needs-attention" } else { "ok" };
    serde_json::to_string_pretty(&Report { verdict, findings }).expect("findings serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_316_357;

    fn clean() -> Facts {
        Facts {
            now: NOW,
            static_keys: vec![],
            env: EnvFacts::default(),
            managed: vec![],
            store: StoreFact::Usable {
                name: "keyutils".into(),
                chosen: "chosen automatically".into(),
                sessions: vec![],
            },
            clock: ClockFact::Measured { endpoint: "https://sts".into(), skew_secs: 1 },
            files: vec![],
            backups: vec![],
            current_binary: "/usr/local/bin/keyless".into(),
        }
    }

    fn only_bad(f: &Facts) -> Vec<Finding> {
        findings(f).into_iter().filter(|x| x.status >= Status::Warning).collect()
    }

    #[test]
    fn a_clean_machine_is_all_good() {
        let all = findings(&clean());
        assert!(!needs_attention(&all));
        assert!(render(&all).ends_with("Verdict: all good.\n"), "{}", render(&all));
        assert!(to_json(&all).contains("\"verdict\": \"ok\""));
    }

    #[test]
    fn key_ids_are_masked() {
        assert_eq!(mask_key_id("AKIAACMEDEV000000001"), "AKIA…0001");
        assert_eq!(mask_key_id("short"), "…");
    }

    #[test]
    fn long_lived_keys_are_problems_and_temporary_ones_warnings() {
        let mut f = clean();
        f.static_keys = vec![
            StaticKey {
                file: "c".into(),
                profile: "old".into(),
                key_id: "AKIA…0001".into(),
                temporary: false,
            },
            StaticKey {
                file: "c".into(),
                profile: "tmp".into(),
                key_id: "ASIA…0002".into(),
                temporary: true,
            },
        ];
        let bad = only_bad(&f);
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[0].status, Status::Problem);
        assert!(bad[0].message.contains("AKIA…0001") && bad[0].message.contains("`old`"));
        assert!(bad[0].fix.as_deref().unwrap().contains("keyless onboard --migrate"));
        assert_eq!(bad[1].status, Status::Warning);
    }

    #[test]
    fn sessions_expired_or_ending_soon_without_refresh_are_reported() {
        let mut f = clean();
        let s = |name: &str, left: i64, refreshable| SessionFact {
            name: name.into(),
            expires_at: NOW + left,
            refreshable,
        };
        f.store = StoreFact::Usable {
            name: "keyutils".into(),
            chosen: "x".into(),
            sessions: vec![
                s("gone", -10, false),
                s("soon", 600, false),
                s("fine", 600, true),
                s("long", 8 * 3600, false),
            ],
        };
        let bad = only_bad(&f);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!(bad[0].status, Status::Problem);
        assert!(bad[0].message.contains("`gone` has expired"));
        assert_eq!(bad[0].fix.as_deref(), Some("run `keyless login --session gone`"));
        assert_eq!(bad[1].status, Status::Warning);
        assert!(bad[1].message.contains("`soon` ends in"));
    }

    #[test]
    fn profiles_with_a_missing_binary_or_session_are_problems() {
        let mut f = clean();
        f.managed = vec![ManagedProfile {
            profile: "dev".into(),
            binary: "/old/keyless".into(),
            binary_exists: false,
            binary_writable_by_others: None,
            session: "acme".into(),
        }];
        let bad = only_bad(&f);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad.iter().any(|x| x.message.contains("not signed in")));
        let p = bad.iter().find(|x| x.check == "profile").unwrap();
        assert!(p.message.contains("/old/keyless"));
        assert!(p.fix.as_deref().unwrap().contains("/usr/local/bin/keyless"));
    }

    #[test]
    fn profiles_running_a_binary_others_can_write_are_problems_once_per_binary() {
        let mut f = clean();
        let p = |name: &str| ManagedProfile {
            profile: name.into(),
            binary: "/tmp/keyless".into(),
            binary_exists: true,
            binary_writable_by_others: Some("the directory /tmp is writable by every user".into()),
            session: "acme".into(),
        };
        f.managed = (0..5).map(|i| p(&format!("p{i}"))).collect();
        f.store = StoreFact::Usable {
            name: "keyutils".into(),
            chosen: "x".into(),
            sessions: vec![SessionFact {
                name: "acme".into(),
                expires_at: NOW + 7200,
                refreshable: true,
            }],
        };
        let bad = only_bad(&f);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].message.starts_with(
                "5 profile(s) (p0, p1, p2 and 2 more) run /tmp/keyless, but the directory /tmp"
            ),
            "{}",
            bad[0].message
        );
        assert!(bad[0].fix.as_deref().unwrap().contains("keyless profiles sync --session acme"));
    }

    #[test]
    fn environment_keys_override_profiles() {
        let mut f = clean();
        f.env = EnvFacts {
            access_key_id: Some("AKIA…0001".into()),
            secret_access_key_set: true,
            profile: Some("dev".into()),
            profile_exists: true,
        };
        let bad = only_bad(&f);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].message.contains("AWS_PROFILE=dev is ignored"), "{}", bad[0].message);
        f.env = EnvFacts { profile: Some("nope".into()), ..Default::default() };
        assert!(only_bad(&f)[0].message.contains("does not exist"));
        f.env =
            EnvFacts { profile: Some("dev".into()), profile_exists: true, ..Default::default() };
        assert!(only_bad(&f).is_empty());
    }

    #[test]
    fn readable_files_are_reported_by_what_they_hold() {
        let mut f = clean();
        f.files = vec![
            FileFact { path: "/h/.aws/credentials".into(), holds_secrets: true, mode: Some(0o644) },
            FileFact { path: "/h/.aws/config".into(), holds_secrets: false, mode: Some(0o640) },
            FileFact { path: "/h/ok".into(), holds_secrets: true, mode: Some(0o600) },
            FileFact { path: "/h/none".into(), holds_secrets: true, mode: None },
        ];
        let bad = only_bad(&f);
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[0].status, Status::Problem);
        assert!(bad[0].message.contains("every user") && bad[0].message.contains("644"));
        assert_eq!(bad[0].fix.as_deref(), Some("chmod 600 /h/.aws/credentials"));
        assert_eq!(bad[1].status, Status::Warning);
        assert!(bad[1].message.contains("its group"));
    }

    #[test]
    fn backups_holding_secrets_or_open_to_others_are_reported() {
        let mut f = clean();
        f.backups = vec![
            BackupFact {
                path: "/h/config.keyless-backup-1".into(),
                holds_secret: true,
                mode: Some(0o600),
            },
            BackupFact {
                path: "/h/config.keyless-backup-2".into(),
                holds_secret: false,
                mode: Some(0o644),
            },
            BackupFact {
                path: "/h/config.keyless-backup-3".into(),
                holds_secret: false,
                mode: Some(0o600),
            },
        ];
        let bad = only_bad(&f);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!(bad[0].status, Status::Problem);
        assert!(bad[0].fix.as_deref().unwrap().contains("rm /h/config.keyless-backup-1"));
        assert_eq!(bad[1].fix.as_deref(), Some("chmod 600 /h/config.keyless-backup-2"));
    }

    #[test]
    fn clock_skew_thresholds() {
        let mut f = clean();
        for (skew, status) in [(5, Status::Ok), (-90, Status::Warning), (600, Status::Problem)] {
            f.clock = ClockFact::Measured { endpoint: "e".into(), skew_secs: skew };
            let c = findings(&f).into_iter().find(|x| x.check == "clock").unwrap();
            assert_eq!(c.status, status, "{skew}");
        }
        f.clock = ClockFact::Unreachable { endpoint: "e".into(), reason: "offline".into() };
        assert!(!needs_attention(&findings(&f)));
    }

    #[test]
    fn an_unusable_store_names_the_fix() {
        let mut f = clean();
        f.store = StoreFact::Unusable {
            name: "secret-service".into(),
            message: "locked".into(),
            fix: "unlock it".into(),
        };
        let bad = only_bad(&f);
        assert_eq!(bad[0].fix.as_deref(), Some("unlock it"));
    }

    #[test]
    fn http_dates_parse() {
        assert_eq!(parse_http_date("Sun, 22 Nov 2026 02:59:17 GMT"), Some(NOW));
        assert_eq!(parse_http_date("Sun, 6 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("garbage"), None);
    }

    #[test]
    fn the_report_has_fixes_and_a_verdict() {
        let mut f = clean();
        f.env.secret_access_key_set = true;
        let text = render(&findings(&f));
        assert!(text.contains("warning  environment"), "{text}");
        assert!(text.contains("fix: unset AWS_SECRET_ACCESS_KEY"), "{text}");
        assert!(text.contains("Verdict: 0 problems and 1 warning to fix."), "{text}");
    }
}
