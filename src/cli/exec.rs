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
    /// The profile whose credentials the command gets (default: AWS_PROFILE, else `default`).
    #[arg(long)]
    pub profile: Option<String>,
    /// Give the command a local credentials endpoint instead of keys, so its SDKs refresh
    /// through keyless and it can outlive one role session (keyless profiles only).
    #[arg(long)]
    pub server: bool,
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
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The profile (default: AWS_PROFILE, else `default`).
    #[arg(long)]
    pub profile: Option<String>,
    /// Output syntax.
    #[arg(long, value_enum, default_value = "sh")]
    pub format: Format,
}

/// The variables a child needs: credentials, expiry and region.
fn variables(profile: &str) -> anyhow::Result<Vec<(&'static str, String)>> {
    let (creds, config) = crate::util::block_on(identity::credentials(profile))?;
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
    let profile = args.profile.unwrap_or_else(identity::default_profile);
    if args.server {
        return super::serve::exec_with_server(&profile, &args.command);
    }
    let vars = variables(&profile)?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut cmd = Command::new(program);
    cmd.args(rest).env("KEYLESS_PROFILE", &profile);
    for k in CLEARED {
        cmd.env_remove(k);
    }
    cmd.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
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
                out.push_str(&format!("set -gx {k} {};\n", quote_sh(v).replace(r"'\''", r"\'")));
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
    let profile = args.profile.unwrap_or_else(identity::default_profile);
    let vars = variables(&profile)?;
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
    }
}
