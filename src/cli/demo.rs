//! `keyless demo`: the whole day-one story against the built-in Identity Center, in a
//! throwaway home directory. It starts the emulator in this process, seeds a long-lived key
//! so the migration has something to retire, runs `keyless onboard` with the demo team file
//! as a child process (its environment points every AWS tool at the emulator and the
//! throwaway files), proves the dev and prod profiles with `keyless whoami`, and cleans up:
//! the throwaway directory, the emulator and the keychain entries (a random namespace, so
//! the user's own entries are never touched). The user's `~/.aws` is never read or written.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use clap::Args;

use crate::emulator::{self, Org};
use crate::error::Error;
use crate::ui;

const DEMO_ORG: &str = include_str!("../../profiles/demo-org.toml");
const DEMO_TEAM: &str = include_str!("../../profiles/demo-team.toml");
/// The demo org's long-lived key (see profiles/demo-org.toml).
const DEMO_KEY_ID: &str = "AKIAACMEDEV000000001";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run without questions (the onboarding answers yes and migrates the demo key).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Keep the throwaway directory (its path is printed) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
}

/// The throwaway directory, removed on drop unless kept.
struct Scratch {
    dir: PathBuf,
    keep: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            ui::note(format!("Kept the demo directory {}.", self.dir.display()));
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Environment variables a child must not inherit: they would point AWS tools at the user's
/// own credentials, profiles or endpoints.
const CLEARED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ENDPOINT_URL_SIGNIN",
    // With the emulator's endpoints these would only make the SDKs refuse the custom endpoint.
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
];

struct Sandbox {
    exe: PathBuf,
    env: Vec<(String, String)>,
}

impl Sandbox {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args);
        for k in CLEARED {
            c.env_remove(k);
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<()> {
        let status = self
            .command(args)
            .status()
            .with_context(|| format!("running keyless {}", args.join(" ")))?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::user(format!(
                "`keyless {}` failed in the demo ({status})",
                args.first().copied().unwrap_or("")
            ))
            .hint("the messages above say why; run `keyless demo --keep` to look at the files")
            .into())
        }
    }
}

pub fn run(args: DemoArgs) -> anyhow::Result<i32> {
    if !args.yes && !ui::can_prompt() {
        return Err(Error::user("keyless demo is interactive, but there is no terminal")
            .hint("pass --yes to run it without questions")
            .into());
    }
    // Who can write the binary is not checked: the demo's profiles live in a scratch HOME
    // that is deleted when it ends, and it may well be run from a Downloads folder.
    let exe = crate::exe::current()?;
    let org = Org::from_toml(DEMO_ORG).context("the built-in demo org")?;
    let secret = org
        .access_keys
        .iter()
        .find(|k| k.id == DEMO_KEY_ID)
        .map(|k| k.secret.clone())
        .context("the demo org has no demo key")?;
    let running = emulator::start(emulator::Config {
        org,
        auto_approve: true,
        ..emulator::Config::default()
    })?;
    let url = running.base_url().to_string();

    let id = crate::util::random_hex(6);
    let scratch =
        Scratch { dir: std::env::temp_dir().join(format!("keyless-demo-{id}")), keep: args.keep };
    let home = scratch.dir.join("home");
    let aws = home.join(".aws");
    create_private_dir(&aws)?;
    let team = scratch.dir.join("demo-team.toml");
    std::fs::write(&team, DEMO_TEAM).context("writing the demo team file")?;
    // The "before" picture: a new hire with a long-lived key as their default profile.
    write_private(
        &aws.join("credentials"),
        &format!(
            "# Long-lived IAM user key, as handed out before SSO.\n[default]\naws_access_key_id = {DEMO_KEY_ID}\naws_secret_access_key = {secret}\n"
        ),
    )?;
    write_private(
        &aws.join("config"),
        "# My AWS config.\n[default]\nregion = ap-northeast-2\noutput = json\n",
    )?;

    let mut env: Vec<(String, String)> = vec![
        ("HOME".into(), home.display().to_string()),
        ("AWS_CONFIG_FILE".into(), aws.join("config").display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE".into(), aws.join("credentials").display().to_string()),
        ("KEYLESS_STORE_NAMESPACE".into(), format!("keyless-demo-{id}")),
        ("AWS_ENDPOINT_URL".into(), url.clone()),
    ];
    // keyless honours only the per-service variables for identity traffic.
    for service in ["SSO_OIDC", "SSO", "STS", "IAM", "SIGNIN"] {
        env.push((format!("AWS_ENDPOINT_URL_{service}"), url.clone()));
    }
    // The user's keychain choice lives in their settings file under the real HOME.
    if std::env::var_os("XDG_CONFIG_HOME").is_none()
        && let Some(real) = crate::settings::path()
        && let Some(dir) = real.parent().and_then(Path::parent)
    {
        env.push(("XDG_CONFIG_HOME".into(), dir.display().to_string()));
    }
    let sandbox = Sandbox { exe, env };

    ui::note(format!(
        "{}\n  Identity Center: the built-in emulator at {url} (organisation \"Acme\", user alice)\n  \
         Home directory:  {} (throwaway; your own ~/.aws is not touched)\n  \
         Already there:   a long-lived access key {DEMO_KEY_ID} in ~/.aws/credentials\n",
        ui::bold("keyless demo: a new hire's first day"),
        home.display()
    ));

    let team_arg = team.display().to_string();
    // The scratch HOME's profiles go away with it: run from wherever the demo was started.
    let mut onboard = vec![
        "onboard",
        "--team",
        &team_arg,
        "--device-code",
        "--no-browser",
        "--migrate",
        crate::exe::OVERRIDE_FLAG,
    ];
    if args.yes {
        onboard.push("--yes");
    }
    let result = sandbox.run(&onboard).and_then(|()| {
        ui::note(ui::bold("\nProving both profiles with `keyless whoami`:"));
        let mut profiles = vec!["acme-dev", "acme-prod"];
        if running_status(&url) == "inactive" {
            profiles.push("default");
        }
        for profile in profiles {
            ui::note(format!("$ keyless whoami --profile {profile}"));
            sandbox.run(&["whoami", "--profile", profile])?;
        }
        Ok(())
    });

    let status = running_status(&url);
    // Sign out, which deletes the demo's tokens and credentials from the keychain.
    let _ = sandbox.command(&["logout", "--all"]).stdout(std::process::Stdio::null()).status();
    running.shutdown();
    result?;
    ui::note(format!(
        "\n{}\n  The demo key {DEMO_KEY_ID} is now {status}; ~/.aws/credentials holds no key.\n  \
         Every AWS tool gets short-lived role credentials from `keyless credential-process`.\n\n  \
         To do this for real: keyless onboard --team your-team.toml",
        ui::bold("Done.")
    ));
    Ok(0)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    use std::io::Write;
    o.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// The demo key's status as the emulator sees it.
fn running_status(url: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let get = || -> std::io::Result<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        write!(
            s,
            "GET /_emulator/access-keys/{DEMO_KEY_ID} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    };
    match get() {
        Ok(r) if r.contains("\"Inactive\"") => "inactive".into(),
        Ok(r) if r.contains("\"Active\"") => "still active".into(),
        _ => "in an unknown state".into(),
    }
}
