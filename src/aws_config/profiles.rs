//! What keyless reads and writes in the two files: profiles, the `credential_process` line it
//! owns, the `[sso-session]` section, and static access keys. Pure functions on a
//! [`Document`].
//!
//! A profile is *managed by keyless* when its `credential_process` is an absolute path to a
//! binary named `keyless` followed by `credential-process`; keyless edits only those (and the
//! sections the user asks it to create).

use std::fmt;
use std::path::{Path, PathBuf};

use super::ini::{Document, Header, Property, is_valid_identifier};
use crate::error::Error;
use crate::secret::Secret;

/// A profile with the properties of every section that defines it, in file order.
#[derive(Debug, Clone)]
pub struct Profile<'a> {
    pub name: String,
    pub header: Header,
    /// 1-based line of its (first) header.
    pub line_number: usize,
    pub properties: Vec<Property<'a>>,
}

impl<'a> Profile<'a> {
    /// The value of `key` as botocore reads it (last one wins).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.properties.iter().rev().find(|p| p.key.eq_ignore_ascii_case(key)).map(|p| p.value)
    }

    /// The keyless command this profile runs, if it is managed by keyless.
    pub fn managed(&self) -> Option<CredentialProcess> {
        parse_credential_process(self.get("credential_process")?)
    }

    pub fn is_managed(&self) -> bool {
        self.managed().is_some()
    }
}

/// The header keyless writes for a profile in the config file: `[default]` for `default`
/// (botocore and the Rust SDK both read it), else `[profile NAME]`.
pub fn config_header(name: &str) -> Header {
    if name == "default" { Header::Default } else { Header::Profile(name.to_string()) }
}

/// The header of a profile in the credentials file: `[NAME]`.
pub fn credentials_header(name: &str) -> Header {
    if name == "default" { Header::Default } else { Header::Bare(name.to_string()) }
}

fn collect<'a>(doc: &'a Document, name_of: impl Fn(&Header) -> Option<&str>) -> Vec<Profile<'a>> {
    let mut out: Vec<Profile<'a>> = Vec::new();
    // Where each header already is in `out`: one lookup per section keeps a file with
    // thousands of profiles linear.
    let mut index: std::collections::HashMap<Header, usize> = std::collections::HashMap::new();
    for section in doc.sections() {
        let Some(name) = name_of(&section.header).map(str::to_string) else { continue };
        match index.get(&section.header) {
            Some(&i) => out[i].properties.extend(section.properties),
            None => {
                index.insert(section.header.clone(), out.len());
                out.push(Profile {
                    name,
                    header: section.header,
                    line_number: section.line_number,
                    properties: section.properties,
                });
            }
        }
    }
    out
}

/// The profiles of a config file (`[default]` and `[profile NAME]`), in file order, each
/// section written twice merged into one. If both `[default]` and `[profile default]` exist
/// both are listed (the Rust SDK uses `[profile default]`).
pub fn config_profiles(doc: &Document) -> Vec<Profile<'_>> {
    collect(doc, |h| match h {
        Header::Default => Some("default"),
        Header::Profile(n) => Some(n),
        _ => None,
    })
}

/// The profiles of a credentials file (`[NAME]`), in file order.
pub fn credentials_profiles(doc: &Document) -> Vec<Profile<'_>> {
    collect(doc, |h| match h {
        Header::Default => Some("default"),
        Header::Bare(n) => Some(n),
        _ => None,
    })
}

/// A config-file profile by name (`[profile default]` preferred over `[default]`, as the Rust
/// SDK does).
pub fn config_profile<'a>(doc: &'a Document, name: &str) -> Option<Profile<'a>> {
    let all = config_profiles(doc);
    let mut matching: Vec<_> = all.into_iter().filter(|p| p.name == name).collect();
    matching.sort_by_key(|p| p.header == Header::Default);
    matching.into_iter().next()
}

/// The profiles keyless manages, with their commands.
pub fn managed_profiles<'a>(doc: &'a Document) -> Vec<(Profile<'a>, CredentialProcess)> {
    config_profiles(doc).into_iter().filter_map(|p| p.managed().map(|c| (p, c))).collect()
}

/// The arguments of a keyless `credential_process` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialProcess {
    pub binary: PathBuf,
    pub session: String,
    pub account: String,
    pub role: String,
    /// `--login-if-needed`, which a user may add by hand for interactive shells; kept when
    /// keyless rewrites the line.
    pub login_if_needed: bool,
}

impl CredentialProcess {
    /// The `credential_process` value for these arguments (see [`credential_process_command`]).
    pub fn command(&self) -> anyhow::Result<String> {
        let line =
            credential_process_command(&self.binary, &self.session, &self.account, &self.role)?;
        Ok(if self.login_if_needed { format!("{line} --login-if-needed") } else { line })
    }
}

impl fmt::Display for CredentialProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session {}, account {}, role {}", self.session, self.account, self.role)
    }
}

/// Characters that mean the same thing, unquoted, to botocore (`shlex.split`, no shell), to
/// `sh -c` (the Rust SDK on Unix) and to `cmd.exe /C` (the Rust SDK on Windows).
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-/.@:+=,".contains(c) || (cfg!(windows) && c == '\\')
}

/// Where to put keyless so that its path reads the same to every AWS tool.
const PLAIN_PATH_HINT: &str = if cfg!(windows) {
    "install keyless where its path has only ASCII letters, digits, spaces and _ - \\ . @ : + = , (with `cargo install --locked --path .`, into %USERPROFILE%\\.cargo\\bin)"
} else {
    "install keyless where its path has only ASCII letters, digits, spaces and _ - / . @ : + = , (somewhere like /usr/local/bin or ~/.local/bin)"
};

/// What a session or role name may hold in a `credential_process` line.
const PLAIN_NAME_HINT: &str = if cfg!(windows) {
    "use only ASCII letters, digits, spaces and _ - \\ . @ : + = ,"
} else {
    "use only ASCII letters, digits, spaces and _ - / . @ : + = ,"
};

/// One argument, quoted if it has spaces; an error names the first unsafe character.
fn quote(arg: &str, what: &str) -> anyhow::Result<String> {
    if arg.is_empty() {
        return Err(Error::user(format!("{what} is empty")).into());
    }
    if let Some(bad) = arg.chars().find(|&c| !is_plain(c) && c != ' ') {
        let shown = if bad.is_control() { format!("{:?}", bad) } else { format!("`{bad}`") };
        return Err(Error::user(format!(
            "{what} `{arg}` contains {shown}, which the AWS CLI and the AWS SDKs read differently \
             in a credential_process command"
        ))
        .hint(if what == "the path to keyless" { PLAIN_PATH_HINT } else { PLAIN_NAME_HINT })
        .into());
    }
    Ok(if arg.contains(' ') { format!("\"{arg}\"") } else { arg.to_string() })
}

/// The `credential_process` value for a profile:
/// `/abs/path/keyless credential-process --session S --account ID --role R`.
///
/// botocore splits the line with `shlex` and runs it without a shell; the Rust SDK runs it with
/// `sh -c` (`cmd.exe /C` on Windows). So the line uses only characters that read the same in
/// all of them, with double quotes around an argument that contains spaces, and anything else
/// is refused with an error rather than written as a line one SDK would run differently.
pub fn credential_process_command(
    binary: &Path,
    session: &str,
    account: &str,
    role: &str,
) -> anyhow::Result<String> {
    let bin = binary_argument(binary)?;
    if !crate::sso::is_account_id(account) {
        return Err(Error::user(format!("`{account}` is not a 12-digit AWS account ID")).into());
    }
    Ok(format!(
        "{bin} credential-process {} --account {account} {}",
        flag("--session", &quote(session, "the session name")?),
        flag("--role", &quote(role, "the role name")?),
    ))
}

/// An error unless `binary` can start a `credential_process` line: checked before signing in,
/// so that nothing is asked of the user for profiles that could not be written.
pub fn check_binary_path(binary: &Path) -> anyhow::Result<()> {
    binary_argument(binary).map(|_| ())
}

/// `binary` as the first word of a `credential_process` line.
fn binary_argument(binary: &Path) -> anyhow::Result<String> {
    // keyless writes the path of its own executable, which the OS gives in full.
    if !binary.is_absolute() {
        return Err(Error::internal(format!(
            "the path to keyless, `{}`, is not absolute",
            binary.display()
        ))
        .into());
    }
    let Some(bin) = binary.to_str() else {
        return Err(Error::user(format!(
            "the path to keyless, `{}`, is not valid UTF-8",
            binary.display()
        ))
        .hint(PLAIN_PATH_HINT)
        .into());
    };
    quote(bin, "the path to keyless")
}

/// `--flag value`, or `--flag=value` for a value that starts with `-` (IAM allows role names
/// like `-Ops`), which would otherwise read as a flag of its own.
fn flag(name: &str, value: &str) -> String {
    if value.starts_with('-') { format!("{name}={value}") } else { format!("{name} {value}") }
}

/// Whether a role name can go into a `credential_process` line ([`credential_process_command`]
/// refuses it otherwise, with the same error).
pub fn check_role_name(role: &str) -> anyhow::Result<()> {
    quote(role, "the role name").map(|_| ())
}

/// Splits a command line the way the AWS tools on this platform will: on Unix, where
/// `shlex.split` (botocore) and `sh` (the Rust SDK) agree, whitespace between words and single
/// or double quotes around a word; on Windows, where botocore splits like
/// `CommandLineToArgvW` and the Rust SDK hands the line to `cmd.exe`, only double quotes group,
/// and a backslash is an ordinary character (as in `C:\Users\me\keyless.exe`) unless a quote
/// follows it. Anything needing more (`$`, escapes, single quotes on Windows, …) is `None`:
/// keyless never writes it.
fn split_words(s: &str, windows: bool) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' if windows => return None,
            '"' | '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        q if q == c => break,
                        '\\' if windows && chars.peek() != Some(&'"') => word.push('\\'),
                        '\\' | '$' | '`' if c == '"' => return None,
                        '%' if windows => return None,
                        other => word.push(other),
                    }
                }
            }
            '\\' if windows && chars.peek() != Some(&'"') => {
                in_word = true;
                word.push(c);
            }
            '\\' | '$' | '`' | '|' | '&' | ';' | '<' | '>' | '(' | ')' | '*' | '?' | '#' | '~' => {
                return None;
            }
            '%' | '^' | '!' if windows => return None,
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Reads a `credential_process` value back into its arguments, if it runs keyless: an
/// absolute path to a binary named `keyless` then `credential-process`, with `--session`,
/// `--account` and `--role` (in any order, `--flag value` or `--flag=value`).
pub fn parse_credential_process(value: &str) -> Option<CredentialProcess> {
    let words = split_words(value, cfg!(windows))?;
    let (bin, rest) = words.split_first()?;
    let binary = PathBuf::from(bin);
    let name = binary.file_name()?.to_str()?;
    if !binary.is_absolute() && !bin.starts_with('/') || !matches!(name, "keyless" | "keyless.exe")
    {
        return None;
    }
    let (sub, args) = rest.split_first()?;
    if sub != "credential-process" {
        return None;
    }
    let a = parse_process_args(args.iter().map(String::as_str))?;
    Some(CredentialProcess {
        binary,
        session: a.session,
        account: a.account,
        role: a.role,
        login_if_needed: a.login_if_needed,
    })
}

/// The arguments after `credential-process`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessArgs {
    pub session: String,
    pub account: String,
    pub role: String,
    pub login_if_needed: bool,
}

/// Parses the arguments after `credential-process`: `--session`, `--account` and `--role`,
/// each exactly once, in any order, as `--flag value` or `--flag=value`, and the optional
/// `--login-if-needed`. `None` for anything else. The one parser for both the hot path and
/// the config reader, so they always agree on what a keyless line is.
pub fn parse_process_args<'a>(mut args: impl Iterator<Item = &'a str>) -> Option<ProcessArgs> {
    let (mut session, mut account, mut role, mut login_if_needed) = (None, None, None, false);
    while let Some(arg) = args.next() {
        if arg == "--login-if-needed" {
            login_if_needed = true;
            continue;
        }
        // A value may start with `-` only in the `--flag=value` form, the form keyless writes
        // for such values.
        let (flag, value) = match arg.split_once('=') {
            Some((f, v)) => (f, v),
            None => (arg, args.next().filter(|v| !v.starts_with('-'))?),
        };
        if value.is_empty() {
            return None;
        }
        let slot = match flag {
            "--session" => &mut session,
            "--account" => &mut account,
            "--role" => &mut role,
            _ => return None,
        };
        if slot.replace(value.to_string()).is_some() {
            return None;
        }
    }
    Some(ProcessArgs { session: session?, account: account?, role: role?, login_if_needed })
}

/// Keys that would make an SDK pick another credential source before (or instead of)
/// `credential_process`; keyless removes them from the profiles it writes.
pub const CONFLICTING_KEYS: &[&str] = &[
    "sso_session",
    "sso_account_id",
    "sso_role_name",
    "sso_start_url",
    "sso_region",
    "role_arn",
    "source_profile",
    "credential_source",
    "web_identity_token_file",
    "role_session_name",
    "login_session",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// Settings that make a profile get its credentials some other way than a static key:
/// keyless replacing the profile would drop them. A keyless `credential_process` is not one.
pub const OTHER_CREDENTIAL_KEYS: &[&str] = &[
    "role_arn",
    "source_profile",
    "credential_source",
    "role_session_name",
    "web_identity_token_file",
    "sso_session",
    "sso_account_id",
    "sso_role_name",
    "sso_start_url",
    "sso_region",
    "login_session",
    "credential_process",
];

/// The settings of `profile` that say how it gets credentials other than a static key or a
/// keyless `credential_process`, in file order: what replacing it would silently drop.
pub fn other_credential_settings(profile: &Profile<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in &profile.properties {
        let key = p.key.to_ascii_lowercase();
        if !OTHER_CREDENTIAL_KEYS.contains(&key.as_str()) || out.contains(&key) {
            continue;
        }
        if key == "credential_process" && profile.is_managed() {
            continue;
        }
        out.push(key);
    }
    out
}

/// [`set_managed_profile`], but leaving the profile's static key lines in place: key
/// migration keeps a key in the config file until its replacement has proved itself, then
/// removes it on its own.
pub fn set_managed_profile_keeping_keys(
    doc: &mut Document,
    name: &str,
    process: &CredentialProcess,
    region: Option<&str>,
) -> anyhow::Result<bool> {
    set_managed(doc, name, process, region, true)
}

/// Writes (or refreshes) a managed profile in a config document: `credential_process` and,
/// if given, `region`, and removes keys that would shadow the process. Other keys the user
/// added to the profile (`output`, `s3 = …`) stay. Returns whether anything changed.
pub fn set_managed_profile(
    doc: &mut Document,
    name: &str,
    process: &CredentialProcess,
    region: Option<&str>,
) -> anyhow::Result<bool> {
    set_managed(doc, name, process, region, false)
}

fn set_managed(
    doc: &mut Document,
    name: &str,
    process: &CredentialProcess,
    region: Option<&str>,
    keep_keys: bool,
) -> anyhow::Result<bool> {
    check_profile_name(name)?;
    let command = process.command()?;
    let header = config_header(name);
    let mut changed = doc.upsert_section(&header, &managed_entries(&command, region))?;
    let drop: Vec<&str> = CONFLICTING_KEYS
        .iter()
        .copied()
        .filter(|k| !(keep_keys && STATIC_KEY_KEYS.contains(k)))
        .collect();
    changed |= doc.remove_keys(&header, &drop);
    Ok(changed)
}

/// An error unless keyless can write a profile called `name`.
pub fn check_profile_name(name: &str) -> anyhow::Result<()> {
    if is_valid_identifier(name) {
        return Ok(());
    }
    Err(Error::user(format!("`{name}` is not a valid profile name"))
        .hint("use only letters, digits and _ - / . % @ : +")
        .into())
}

/// The keys keyless sets in a profile it manages: `credential_process` and, if given, `region`.
pub fn managed_entries<'a>(command: &'a str, region: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut entries = vec![("credential_process", command)];
    if let Some(region) = region {
        entries.push(("region", region));
    }
    entries
}

/// Writes (or refreshes) `[sso-session NAME]`. `scopes` is written as
/// `sso_registration_scopes` (comma-separated) when not empty.
pub fn set_sso_session(
    doc: &mut Document,
    name: &str,
    start_url: &str,
    region: &str,
    scopes: &[String],
) -> anyhow::Result<bool> {
    let joined = scopes.join(",");
    let mut entries = vec![("sso_start_url", start_url), ("sso_region", region)];
    if !scopes.is_empty() {
        entries.push(("sso_registration_scopes", joined.as_str()));
    }
    doc.upsert_section(&Header::SsoSession(name.to_string()), &entries)
}

/// Which of the two files a key was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFile {
    /// `~/.aws/credentials`: `[NAME]` sections.
    Credentials,
    /// `~/.aws/config`: `[profile NAME]` and `[default]`; SDKs read keys there too.
    Config,
}

/// The lines that make up a static key in a profile.
pub const STATIC_KEY_KEYS: &[&str] =
    &["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token"];

/// Long-lived (or session) keys found in a credentials (or config) document.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    pub file: KeyFile,
    pub profile: String,
    pub header: Header,
    pub line_number: usize,
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Option<Secret<String>>,
}

/// Every profile of a credentials document holding `aws_access_key_id` and
/// `aws_secret_access_key`. Secrets stay wrapped in [`Secret`].
pub fn static_keys(doc: &Document) -> Vec<StaticKeys> {
    keys_in(credentials_profiles(doc), KeyFile::Credentials)
}

/// The same for a config document: botocore and the Rust SDK read `aws_access_key_id` and
/// `aws_secret_access_key` from config profiles as well.
pub fn config_static_keys(doc: &Document) -> Vec<StaticKeys> {
    keys_in(config_profiles(doc), KeyFile::Config)
}

fn keys_in(profiles: Vec<Profile<'_>>, file: KeyFile) -> Vec<StaticKeys> {
    profiles
        .into_iter()
        .filter_map(|p| {
            Some(StaticKeys {
                file,
                access_key_id: p.get("aws_access_key_id")?.to_string(),
                secret_access_key: Secret::new(p.get("aws_secret_access_key")?.to_string()),
                session_token: p.get("aws_session_token").map(|t| Secret::new(t.to_string())),
                profile: p.name,
                header: p.header,
                line_number: p.line_number,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIN: &str = "/home/me/.local/bin/keyless";

    /// `unix`, made absolute for this platform (under `C:` with backslashes on Windows).
    fn abs(unix: &str) -> String {
        if cfg!(windows) { format!("C:{}", unix.replace('/', "\\")) } else { unix.to_string() }
    }

    fn cp(bin: &str) -> CredentialProcess {
        CredentialProcess {
            binary: bin.into(),
            session: "acme".into(),
            account: "111111111111".into(),
            role: "Developer".into(),
            login_if_needed: false,
        }
    }

    #[test]
    fn login_if_needed_is_part_of_a_keyless_line() {
        let line = format!(
            "{} credential-process --session acme --account 111111111111 --role Developer --login-if-needed",
            abs("/usr/local/bin/keyless")
        );
        let parsed = parse_credential_process(&line).expect("a keyless line");
        assert!(parsed.login_if_needed);
        assert_eq!(parsed.command().unwrap(), line);
        assert_eq!(
            parse_credential_process(&format!(
                "{} credential-process --session acme --account 1 --role R --verbose",
                abs("/usr/local/bin/keyless")
            )),
            None
        );
    }

    #[test]
    fn builds_and_parses_the_command() {
        let line = cp(&abs(BIN)).command().unwrap();
        assert_eq!(
            line,
            format!(
                "{} credential-process --session acme --account 111111111111 --role Developer",
                abs(BIN)
            )
        );
        assert_eq!(parse_credential_process(&line), Some(cp(&abs(BIN))));

        let jane = abs("/Users/Jane Doe/bin/keyless");
        let spaced = cp(&jane).command().unwrap();
        assert_eq!(
            spaced,
            format!(
                "\"{jane}\" credential-process --session acme --account 111111111111 --role Developer"
            )
        );
        assert_eq!(parse_credential_process(&spaced), Some(cp(&jane)));
    }

    #[test]
    fn a_role_name_starting_with_a_dash_reads_back() {
        let mut p = cp(&abs(BIN));
        p.role = "-Ops".into();
        let line = p.command().unwrap();
        assert_eq!(
            line,
            format!(
                "{} credential-process --session acme --account 111111111111 --role=-Ops",
                abs(BIN)
            )
        );
        assert_eq!(parse_credential_process(&line), Some(p));
        // The separate form stays refused: `--role --account` is not a role named `--account`.
        assert_eq!(
            parse_credential_process(
                "/usr/bin/keyless credential-process --session s --account 111111111111 --role -Ops"
            ),
            None
        );
    }

    #[test]
    fn refuses_what_would_run_differently() {
        for bad in [
            "/tmp/$HOME/keyless",
            "/tmp/a;b/keyless",
            "/tmp/it's/keyless",
            "/tmp/josé/keyless",
            "/a\"b/keyless",
        ] {
            let bad = abs(bad);
            let err = cp(&bad).command().unwrap_err();
            assert_eq!(crate::error::exit_code(&err), 1);
            assert!(err.to_string().contains("contains"), "{err}");
            assert!(err.to_string().contains(&bad), "{err}");
        }
        assert!(cp("keyless").command().unwrap_err().to_string().contains("not absolute"));
        let mut p = cp(&abs(BIN));
        p.account = "2222".into();
        assert!(p.command().unwrap_err().to_string().contains("12-digit"));
    }

    #[test]
    fn recognizes_only_keyless_commands() {
        let bin = abs("/usr/bin/keyless");
        let spaced = abs("/opt/my tools/keyless");
        for (line, managed) in [
            (format!("{bin} credential-process --role R --account 1 --session s"), true),
            (format!("\"{spaced}\" credential-process --session=s --account=1 --role=R"), true),
            // Single quotes group on Unix only (botocore and cmd.exe on Windows keep them).
            (
                format!("'{spaced}' credential-process --session s --account 1 --role R"),
                !cfg!(windows),
            ),
            ("keyless credential-process --session s --account 1 --role R".into(), false),
            (format!("{} credential-process --profile x", abs("/usr/bin/granted")), false),
            (format!("{bin} whoami --session s --account 1 --role R"), false),
            (format!("{bin} credential-process --session s --account 1"), false),
            (format!("{bin} credential-process --session s --account 1 --role R # note"), false),
            (format!("{bin} credential-process --session s --account 1 --role R --x y"), false),
        ] {
            assert_eq!(parse_credential_process(&line).is_some(), managed, "{line}");
        }
    }

    #[test]
    fn splits_words_as_the_tools_of_each_platform_do() {
        let words = |v: &[&str]| Some(v.iter().map(|w| w.to_string()).collect::<Vec<_>>());
        // Unix: shlex and sh agree on these; a backslash is never written.
        assert_eq!(split_words("'/a b/keyless' x", false), words(&["/a b/keyless", "x"]));
        assert_eq!(split_words("\"/a b/keyless\" x", false), words(&["/a b/keyless", "x"]));
        assert_eq!(split_words("/a\\b/keyless x", false), None);
        // Windows: backslashes are path separators, only double quotes group.
        assert_eq!(
            split_words(r#""C:\Program Files\keyless\keyless.exe" credential-process"#, true),
            words(&[r"C:\Program Files\keyless\keyless.exe", "credential-process"])
        );
        assert_eq!(
            split_words(r"C:\Users\me\keyless.exe x", true),
            words(&[r"C:\Users\me\keyless.exe", "x"])
        );
        for bad in [r"'C:\a b\keyless.exe' x", r#""C:\a\" x"#, r"C:\%USERPROFILE%\k.exe x"] {
            assert_eq!(split_words(bad, true), None, "{bad}");
        }
    }

    #[test]
    fn lists_profiles_and_which_are_managed() {
        let text = format!(
            "[default]\nregion = a\n[profile dev]\ncredential_process = {}\n[sso-session acme]\nsso_region = r\n[profile dev]\nregion = b\n[profile hand]\ncredential_process = /bin/other\n",
            cp(&abs(BIN)).command().unwrap()
        );
        let doc = Document::parse(&text);
        let all = config_profiles(&doc);
        let names: Vec<_> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["default", "dev", "hand"]);
        assert_eq!(all[1].get("region"), Some("b"));
        let managed = managed_profiles(&doc);
        assert_eq!(managed.len(), 1);
        assert_eq!(managed[0].0.name, "dev");
        assert_eq!(managed[0].1, cp(&abs(BIN)));
    }

    #[test]
    fn a_managed_profile_drops_keys_that_would_shadow_it() {
        let mut doc = Document::parse(
            "[profile dev]\nsso_session = acme\nsso_account_id = 111111111111\nsso_role_name = Developer\noutput = json\nregion = us-east-1\n",
        );
        assert!(
            set_managed_profile(&mut doc, "dev", &cp(&abs(BIN)), Some("ap-northeast-2")).unwrap()
        );
        assert_eq!(
            doc.to_string(),
            format!(
                "[profile dev]\noutput = json\nregion = ap-northeast-2\ncredential_process = {}\n",
                cp(&abs(BIN)).command().unwrap()
            )
        );
        assert!(
            !set_managed_profile(&mut doc, "dev", &cp(&abs(BIN)), Some("ap-northeast-2")).unwrap()
        );
        assert!(set_managed_profile(&mut doc, "bad name", &cp(&abs(BIN)), None).is_err());
    }

    #[test]
    fn keys_in_config_profiles_and_other_credential_settings_are_found() {
        let text = format!(
            "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s\nregion = x\n[profile ops]\nrole_arn = arn\nSource_Profile = default\nrole_arn = arn2\n[profile mine]\ncredential_process = {}\nsso_session = acme\n[profile other]\ncredential_process = /bin/other\n",
            cp(&abs(BIN)).command().unwrap()
        );
        let doc = Document::parse(&text);
        let keys = config_static_keys(&doc);
        assert_eq!(keys.len(), 1);
        assert_eq!((keys[0].file, keys[0].profile.as_str()), (KeyFile::Config, "default"));
        let others = |n: &str| other_credential_settings(&config_profile(&doc, n).unwrap());
        assert!(others("default").is_empty());
        assert_eq!(others("ops"), ["role_arn", "source_profile"]);
        // A keyless credential_process is not "another way"; anything else is.
        assert_eq!(others("mine"), ["sso_session"]);
        assert_eq!(others("other"), ["credential_process"]);
    }

    #[test]
    fn keeping_keys_leaves_the_key_lines_for_later() {
        let mut doc = Document::parse(
            "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s\nsso_role_name = x\n",
        );
        set_managed_profile_keeping_keys(&mut doc, "default", &cp(&abs(BIN)), None).unwrap();
        assert_eq!(
            doc.to_string(),
            format!(
                "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s\ncredential_process = {}\n",
                cp(&abs(BIN)).command().unwrap()
            )
        );
    }

    #[test]
    fn static_keys_keep_the_secret_wrapped() {
        let doc = Document::parse(
            "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3t\n[other]\nregion = x\n[tmp]\naws_access_key_id = ASIA1\naws_secret_access_key = s2\naws_session_token = tok\n",
        );
        let keys = static_keys(&doc);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].profile, "default");
        assert_eq!(keys[0].access_key_id, "AKIAEXAMPLE");
        assert_eq!(keys[0].secret_access_key.expose(), "s3cr3t");
        assert_eq!(keys[1].profile, "tmp");
        let shown = format!("{keys:?}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("tok\""), "{shown}");
    }
}
