//! `keyless exec` and `keyless env`: short-term credentials for a profile in a child
//! process's environment, or printed for a shell to evaluate. Credentials never go on a
//! command line.

use std::io::IsTerminal;
use std::process::Command;

use clap::{Args, ValueEnum};

use crate::error::Error;
use crate::identity;
use crate::ui;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The profile whose credentials the command gets (default: AWS_PROFILE; on a terminal,
    /// pick one).
    #[arg(long)]
    pub profile: Option<String>,
    /// Give the command a local credentials endpoint instead of keys, so its SDKs refresh
    /// through keyless and it can outlive one role session (keyless profiles only).
    #[arg(long)]
    pub server: bool,
    /// The region for this run (AWS_REGION and AWS_DEFAULT_REGION in the child), instead of
    /// the profile's.
    #[arg(long, value_name = "REGION", value_parser = super::parse_region)]
    pub region: Option<String>,
    /// The command and its arguments.
    #[arg(required = true, last = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Sh,
    Fish,
    Powershell,
    Json,
    /// `KEY=VALUE` lines for a `.env` file (no `export`).
    Dotenv,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The profile (default: AWS_PROFILE; on a terminal, pick one).
    #[arg(long)]
    pub profile: Option<String>,
    /// The region for this run (AWS_REGION and AWS_DEFAULT_REGION), instead of the profile's.
    #[arg(long, value_name = "REGION", value_parser = super::parse_region)]
    pub region: Option<String>,
    /// Output syntax.
    #[arg(long, value_enum, default_value = "sh")]
    pub format: Format,
}

/// The variables a child needs: credentials, expiry and region (`region` when given, else
/// the profile's).
fn variables(profile: &str, region: Option<&str>) -> anyhow::Result<Vec<(&'static str, String)>> {
    let (creds, config) = crate::util::block_on(identity::credentials(profile, region))?;
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", creds.access_key_id().to_string()),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key().to_string()),
    ];
    if let Some(t) = creds.session_token() {
        vars.push(("AWS_SESSION_TOKEN", t.to_string()));
    }
    if let Some(exp) = creds.expiry() {
        let secs = exp.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        vars.push(("AWS_CREDENTIAL_EXPIRATION", crate::time::rfc3339(secs)));
    }
    if let Some(r) = config.region() {
        vars.push(("AWS_REGION", r.to_string()));
        vars.push(("AWS_DEFAULT_REGION", r.to_string()));
    }
    Ok(vars)
}

/// Variables that would make the child pick other credentials than the ones we give it.
const CLEARED: &[&str] = &["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN"];

pub fn run_exec(args: ExecArgs) -> anyhow::Result<i32> {
    let profile = super::resolve_profile(args.profile, "exec")?;
    if args.server {
        return super::serve::exec_with_server(&profile, args.region.as_deref(), &args.command);
    }
    let vars = variables(&profile, args.region.as_deref())?;
    crate::recent::record(&profile);
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut cmd = Command::new(program);
    cmd.args(rest);
    for k in CLEARED {
        cmd.env_remove(k);
    }
    cmd.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
    // For shell prompts (starship's aws module reads AWS_PROFILE) and scripts. The credentials
    // in the environment still win over the profile in every AWS SDK.
    cmd.env("AWS_PROFILE", &profile).env("KEYLESS_PROFILE", &profile);
    let status = cmd.status().map_err(|e| {
        Error::user(format!("could not run `{program}`: {e}"))
            .hint("check the command name and your PATH")
    })?;
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return Ok(128 + sig);
    }
    Ok(status.code().unwrap_or(1))
}

fn quote_sh(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// A fish single-quoted string: inside `'…'` fish reads `\'` as a quote and `\\` as one
/// backslash, so both are escaped (a lone backslash before anything else is literal, but an
/// unescaped one before a quote or another backslash would change the value).
fn quote_fish(v: &str) -> String {
    format!("'{}'", v.replace('\\', r"\\").replace('\'', r"\'"))
}

/// A `.env` value: bare when it has only characters every dotenv reader takes literally
/// (credentials are base64: letters, digits, `+`, `/`, `=`), else in single quotes (taken
/// literally, no `$` expansion), else in double quotes with backslashes, `"` and line breaks
/// escaped.
fn quote_dotenv(v: &str) -> String {
    let bare = |c: char| c.is_ascii_alphanumeric() || "_-./+=:@,".contains(c);
    if !v.is_empty() && v.chars().all(bare) {
        v.to_string()
    } else if !v.contains(['\'', '\n', '\r']) {
        format!("'{v}'")
    } else {
        let escaped =
            v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").replace('\r', "\\r");
        format!("\"{escaped}\"")
    }
}

fn render(vars: &[(&str, String)], format: Format) -> String {
    match format {
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect();
            serde_json::to_string_pretty(&map).expect("strings serialize")
        }
        Format::Sh => {
            let mut out = String::new();
            for k in CLEARED {
                out.push_str(&format!("unset {k}\n"));
            }
            for (k, v) in vars {
                out.push_str(&format!("export {k}={}\n", quote_sh(v)));
            }
            out
        }
        Format::Fish => {
            let mut out = String::new();
            for k in CLEARED {
                out.push_str(&format!("set -e {k};\n"));
            }
            for (k, v) in vars {
                out.push_str(&format!("set -gx {k} {};\n", quote_fish(v)));
            }
            out
        }
        Format::Dotenv => {
            let mut out = String::new();
            for (k, v) in vars {
                out.push_str(&format!("{k}={}\n", quote_dotenv(v)));
            }
            out
        }
        Format::Powershell => {
            let mut out = String::new();
            for k in CLEARED {
                out.push_str(&format!("Remove-Item Env:{k} -ErrorAction SilentlyContinue\n"));
            }
            for (k, v) in vars {
                out.push_str(&format!("$Env:{k} = '{}'\n", v.replace('\'', "''")));
            }
            out
        }
    }
}

pub fn run_env(args: EnvArgs) -> anyhow::Result<i32> {
    let profile = super::resolve_profile(args.profile, "env")?;
    let vars = variables(&profile, args.region.as_deref())?;
    crate::recent::record(&profile);
    if std::io::stdout().is_terminal() {
        ui::note(
            "warning: these are live credentials; prefer `eval \"$(keyless env ...)\"` or `keyless exec` over printing them to a terminal",
        );
    }
    super::print_stdout(&render(&vars, args.format));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_formats_quote_values() {
        let vars = vec![("AWS_SESSION_TOKEN", "a'b c".to_string())];
        assert!(render(&vars, Format::Sh).ends_with("export AWS_SESSION_TOKEN='a'\\''b c'\n"));
        assert!(render(&vars, Format::Fish).ends_with("set -gx AWS_SESSION_TOKEN 'a\\'b c';\n"));
        assert!(render(&vars, Format::Powershell).ends_with("$Env:AWS_SESSION_TOKEN = 'a''b c'\n"));
        assert_eq!(render(&vars, Format::Json), "{\n  \"AWS_SESSION_TOKEN\": \"a'b c\"\n}");
        assert_eq!(render(&vars, Format::Dotenv), "AWS_SESSION_TOKEN=\"a'b c\"\n");
    }

    #[test]
    fn fish_escapes_backslashes_and_quotes() {
        // A value ending in a backslash would otherwise escape the closing quote.
        assert_eq!(quote_fish(r"a\b\\c'd\"), r"'a\\b\\\\c\'d\\'");
        let vars = vec![("AWS_SESSION_TOKEN", r"x\".to_string())];
        assert!(render(&vars, Format::Fish).ends_with("set -gx AWS_SESSION_TOKEN 'x\\\\';\n"));
    }

    #[test]
    fn dotenv_quotes_only_what_needs_it() {
        assert_eq!(quote_dotenv("IQoJb3JpZ2luX2VjE+/abc=="), "IQoJb3JpZ2luX2VjE+/abc==");
        assert_eq!(quote_dotenv("2026-11-22T05:00:00Z"), "2026-11-22T05:00:00Z");
        assert_eq!(quote_dotenv("a b#c$HOME"), "'a b#c$HOME'");
        assert_eq!(quote_dotenv(""), "''");
        assert_eq!(quote_dotenv("it's \\ \"x\"\n"), "\"it's \\\\ \\\"x\\\"\\n\"");
        let vars = vec![("AWS_REGION", "eu-west-1".to_string())];
        assert_eq!(render(&vars, Format::Dotenv), "AWS_REGION=eu-west-1\n");
    }
}
