//! The command line: one file per subcommand, each thin (parse, call the core, render).
//!
//! This module owns the only mapping from outcomes to exit codes.

use clap::{Parser, Subcommand};

use crate::error;

pub mod completions;
pub mod console;
pub mod credential_process;
pub mod demo;
pub mod doctor;
pub mod emulator;
pub mod exec;
pub mod login;
pub mod logout;
pub mod migrate;
pub mod onboard;
pub mod profiles;
pub mod serve;
pub mod status;
pub mod whoami;

/// Short-lived AWS credentials from IAM Identity Center, with the SSO tokens in the OS keychain.
#[derive(Debug, Parser)]
#[command(name = "keyless", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The day-one wizard: sign in, write a profile per account and role, verify them, and
    /// retire long-lived access keys.
    Onboard(onboard::OnboardArgs),
    /// Manage keyless profiles in the AWS config.
    #[command(subcommand)]
    Profiles(profiles::ProfilesCommand),
    /// Replace the long-lived access keys in ~/.aws/credentials with SSO profiles of the same
    /// name, then deactivate the keys.
    Migrate(migrate::MigrateArgs),
    /// The whole onboarding against the built-in Identity Center, in a throwaway home.
    Demo(demo::DemoArgs),
    /// Sign in to an SSO session (browser with PKCE, or a device code).
    Login(login::LoginArgs),
    /// Sign out: end the session at Identity Center and delete its tokens and credentials.
    Logout(logout::LogoutArgs),
    /// Show every session: token expiry, refreshability, cached role credentials.
    Status(status::StatusArgs),
    /// Show who a profile's credentials belong to (STS GetCallerIdentity) and when they expire.
    Whoami(whoami::WhoamiArgs),
    /// Run a command with a profile's short-term credentials in its environment.
    Exec(exec::ExecArgs),
    /// Print a profile's short-term credentials as shell variables.
    Env(exec::EnvArgs),
    /// Serve role credentials to AWS SDKs from a local endpoint (the container credentials
    /// provider), for long runs and containers; prints the two variables SDKs need.
    Serve(serve::ServeArgs),
    /// Print short-term role credentials as `credential_process` JSON (used by AWS SDKs).
    CredentialProcess(credential_process::CredentialProcessArgs),
    /// The local IAM Identity Center used by tests, benchmarks and the demo.
    #[command(subcommand)]
    Emulator(emulator::EmulatorCommand),
    /// Open the AWS Management Console signed in as a profile's role.
    Console(console::ConsoleArgs),
    /// Check this machine's AWS setup (stray access keys, environment, profiles, sessions,
    /// secure store, clock, file permissions) and say how to fix each finding.
    Doctor(doctor::DoctorArgs),
    /// Print shell completions (bash, zsh, fish, powershell, elvish) to stdout.
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), or write every page into a directory with `--out`.
    Man(completions::ManArgs),
}

/// Parses the command line, runs it, prints any error, and returns the exit code.
pub fn main() -> i32 {
    // Before anything reads a secret into memory.
    crate::hardening::no_core_dumps();
    // The hot path skips building the whole clap command tree: `credential_process` lines
    // keyless writes always have this exact shape. Anything else goes through clap.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match credential_process::fast_parse(&args) {
        Some(args) => Cli { command: Command::CredentialProcess(args) },
        None => match Cli::try_parse_from(&args) {
            Ok(cli) => cli,
            Err(e) => {
                let code = if e.use_stderr() { 2 } else { 0 };
                let _ = e.print();
                return code;
            }
        },
    };
    finish(run(cli))
}

fn finish(outcome: anyhow::Result<i32>) -> i32 {
    match outcome {
        Ok(code) => code,
        Err(err) => {
            crate::ui::note(error::render(&err));
            error::exit_code(&err)
        }
    }
}

/// Runs one parsed command. `Ok` carries the exit code (commands like `exec` pass a child's on).
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Onboard(args) => onboard::run(args),
        Command::Profiles(cmd) => profiles::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Login(args) => login::run(args),
        Command::Logout(args) => logout::run(args),
        Command::Status(args) => status::run(args),
        Command::Whoami(args) => whoami::run(args),
        Command::Exec(args) => exec::run_exec(args),
        Command::Env(args) => exec::run_env(args),
        Command::Serve(args) => serve::run(args),
        Command::CredentialProcess(args) => {
            // stdout is the protocol: while keyless works, fd 1 points at stderr, so a stray
            // print anywhere (ours or a library's) cannot corrupt the JSON document.
            let protocol_out = divert_stdout();
            credential_process::run(args).map(|json| {
                write_protocol(protocol_out, &json);
                0
            })
        }
        Command::Emulator(cmd) => emulator::run(cmd),
        Command::Console(args) => console::run(args).map(|url| {
            if let Some(url) = url {
                print_stdout(&url);
            }
            0
        }),
        Command::Doctor(args) => doctor::run(&args).map(|(report, code)| {
            print_stdout(&report);
            code
        }),
        Command::Completions(args) => completions::completions(&args).map(|s| {
            print_stdout(&s);
            0
        }),
        Command::Man(args) => completions::man(&args).map(|s| {
            print_stdout(&s);
            0
        }),
    }
}

/// `--region`: a region name, which also goes into console host names, so nothing else.
pub fn parse_region(s: &str) -> Result<String, String> {
    if crate::team::is_region(s) {
        Ok(s.to_string())
    } else {
        Err(format!("`{s}` is not an AWS region (e.g. us-east-1, eu-west-2)"))
    }
}

/// The profile a command runs as: `--profile`, else `AWS_PROFILE`, else one the user picks
/// on a terminal (most recently used first). Without a terminal nothing is asked: the error
/// names the flag. `command` is the subcommand, for that message.
pub fn resolve_profile(explicit: Option<String>, command: &str) -> anyhow::Result<String> {
    if let Some(p) = explicit.filter(|p| !p.is_empty()) {
        return Ok(p);
    }
    if let Some(p) = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()) {
        return Ok(p);
    }
    if !crate::ui::can_prompt() {
        return Err(error::Error::usage(format!(
            "keyless {command} needs a profile: --profile is missing (and AWS_PROFILE is not set)"
        ))
        .hint(format!(
            "run `keyless {command} --profile NAME`, or run it in a terminal to pick one"
        ))
        .into());
    }
    let config = crate::aws_config::read_document(&crate::aws_config::paths::config_path()?)?;
    let creds = crate::aws_config::read_document(&crate::aws_config::paths::credentials_path()?)?;
    let mut names: Vec<String> = Vec::new();
    let mut details: std::collections::HashMap<String, String> = Default::default();
    for p in crate::aws_config::profiles::config_profiles(&config) {
        if let Some(m) = p.managed() {
            details.insert(p.name.clone(), format!("role {} in {}", m.role, m.account));
        } else if let (Some(a), Some(r)) = (p.get("sso_account_id"), p.get("sso_role_name")) {
            details.insert(p.name.clone(), format!("role {} in {}", r.trim(), a.trim()));
        }
        names.push(p.name);
    }
    names.extend(
        crate::aws_config::profiles::credentials_profiles(&creds).into_iter().map(|p| p.name),
    );
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    if names.is_empty() {
        return Err(error::Error::user("there are no AWS profiles to pick from")
            .hint("run `keyless onboard` (or `keyless profiles sync`) to create them")
            .into());
    }
    let ordered = crate::recent::order(&names, &crate::recent::load());
    let width = ordered.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let items: Vec<String> = ordered
        .iter()
        .map(|n| match details.get(n) {
            Some(d) => format!("{n:width$}  {d}"),
            None => n.clone(),
        })
        .collect();
    let i = crate::ui::fuzzy_pick("Which profile?", &items)?;
    let chosen = ordered[i].clone();
    crate::ui::note(format!("Using profile `{chosen}` (next time: --profile {chosen})"));
    Ok(chosen)
}

/// The one place keyless writes command output to stdout (a broken pipe is a quiet exit).
/// Control characters are escaped as in every message ([`crate::ui::escape`]): reports carry
/// account and role names and service messages.
pub fn print_stdout(text: &str) {
    use std::io::Write;
    let text = crate::ui::escape(text);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Points fd 1 at stderr and returns the original stdout for the one protocol write.
#[cfg(unix)]
pub(crate) fn divert_stdout() -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::AsFd;
    let original = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    rustix::stdio::dup2_stdout(std::io::stderr().as_fd()).ok()?;
    Some(original)
}

#[cfg(not(unix))]
pub(crate) fn divert_stdout() -> Option<()> {
    None
}

/// Closes stdout for good after a command's last output, so a reader sees the end of it even
/// though keyless keeps running (later stray output goes to stderr). Unix only.
pub(crate) fn close_stdout() {
    #[cfg(unix)]
    drop(divert_stdout());
}

/// Writes the protocol document to the saved stdout (or stdout itself when it was not
/// diverted).
#[cfg(unix)]
fn write_protocol(original: Option<std::os::fd::OwnedFd>, text: &str) {
    use std::io::Write;
    match original {
        Some(fd) => {
            let mut f = std::fs::File::from(fd);
            let _ = f.write_all(format!("{text}\n").as_bytes());
        }
        None => print_stdout(text),
    }
}

#[cfg(not(unix))]
fn write_protocol(_original: Option<()>, text: &str) {
    print_stdout(text);
}
