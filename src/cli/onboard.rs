//! `keyless onboard`: the day-one wizard. Looks at the machine, signs in to Identity Center,
//! writes one `credential_process` profile per chosen account and role (after showing the
//! diff), proves every profile with STS GetCallerIdentity, and retires long-lived keys.
//!
//! With `--team FILE --yes` it asks nothing; without a terminal and without `--yes` it stops
//! before doing anything. Running it again with the same inputs changes nothing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::aws_config::edit::{Backup, ConfigEdit};
use crate::aws_config::{Document, paths, profiles};
use crate::error::Error;
use crate::provision::{self, Wanted};
use crate::sso::inventory::{self, Assignment};
use crate::sso::login::{self, Flow, LoginOptions};
use crate::sso::{SessionConfig, fanout, token};
use crate::store::Store;
use crate::team::TeamFile;
use crate::ui::{self, Prompter};

#[derive(Debug, Args)]
pub struct OnboardArgs {
    /// Your platform team's team file (Identity Center, environments, profile names).
    #[arg(long, value_name = "FILE")]
    pub team: Option<PathBuf>,
    /// The AWS access portal URL (instead of a team file).
    #[arg(long, value_name = "URL", conflicts_with = "team", requires = "region")]
    pub start_url: Option<String>,
    /// The IAM Identity Center region (with --start-url).
    #[arg(long, value_name = "REGION", conflicts_with = "team", requires = "start_url")]
    pub region: Option<String>,
    /// Name of the `[sso-session]` to write (with --start-url).
    #[arg(long, value_name = "NAME", conflicts_with = "team")]
    pub session: Option<String>,
    /// Answer yes to every confirmation and ask nothing else (needs --team or --start-url).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Sign in with the device code flow (a URL and a code to enter on any device).
    #[arg(long)]
    pub device_code: bool,
    /// Do not open a browser; only print the address.
    #[arg(long)]
    pub no_browser: bool,
    /// Retire the long-lived access keys in ~/.aws/credentials and ~/.aws/config (without asking).
    #[arg(long, overrides_with = "no_migrate")]
    pub migrate: bool,
    /// Leave long-lived access keys alone.
    #[arg(long)]
    pub no_migrate: bool,
    /// Write credential_process lines even though the keyless binary, or a directory above
    /// it, can be written by other users (who could then replace it and get your credentials).
    #[arg(long)]
    pub allow_binary_writable_by_others: bool,
    /// Seconds to wait for the sign-in to complete.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub timeout: u64,
}

/// What the machine looks like before onboarding.
struct Survey {
    config_path: PathBuf,
    credentials_path: PathBuf,
    config: Document,
    credentials: Document,
}

fn survey() -> anyhow::Result<Survey> {
    let config_path = paths::config_path()?;
    let credentials_path = paths::credentials_path()?;
    let s = Survey {
        config: crate::aws_config::read_document(&config_path)?,
        credentials: crate::aws_config::read_document(&credentials_path)?,
        config_path,
        credentials_path,
    };
    let all = profiles::config_profiles(&s.config);
    let managed = all.iter().filter(|p| p.is_managed()).count();
    let keys = crate::migrate::long_lived_everywhere(&s.credentials, &s.config);
    ui::note(format!(
        "{} {}: {} profile(s), {} written by keyless",
        ui::bold("Your AWS config"),
        s.config_path.display(),
        all.len(),
        managed
    ));
    if keys.is_empty() {
        ui::note(format!(
            "No long-lived access keys in {} or {}.",
            s.credentials_path.display(),
            s.config_path.display()
        ));
    } else {
        ui::note(format!(
            "{} long-lived access key(s): {}",
            keys.len(),
            keys.iter().map(crate::migrate::describe).collect::<Vec<_>>().join(", ")
        ));
    }
    if crate::identity::env_credentials_present() {
        ui::note(
            "warning: AWS_ACCESS_KEY_ID is set in your environment; AWS tools use it before any \
             profile. Unset it (and remove it from your shell startup files) after onboarding.",
        );
    }
    Ok(s)
}

/// The session to sign in to: from the team file, the flags, or questions.
fn session_config(
    args: &OnboardArgs,
    team: Option<&TeamFile>,
    prompter: &Prompter,
) -> anyhow::Result<SessionConfig> {
    if let Some(t) = team {
        return Ok(SessionConfig {
            name: t.sso.session.clone(),
            start_url: t.sso.start_url.clone(),
            region: t.sso.region.clone(),
            scopes: t.sso.registration_scopes.clone(),
        });
    }
    let start_url = match &args.start_url {
        Some(u) => u.clone(),
        None => prompter.input(
            "AWS access portal URL (e.g. https://d-1234567890.awsapps.com/start)",
            None,
            crate::team::check_start_url,
        )?,
    };
    let region = match &args.region {
        Some(r) => r.clone(),
        None => prompter.input("IAM Identity Center region (e.g. us-east-1)", None, |r| {
            if crate::team::is_region(r) {
                Ok(())
            } else {
                Err(format!("{r:?} is not an AWS region like us-east-1"))
            }
        })?,
    };
    let suggested = default_session_name(&start_url);
    let name = match (&args.session, prompter.interactive()) {
        (Some(n), _) => n.clone(),
        (None, true) => prompter.input("Name for this SSO session", Some(&suggested), |n| {
            if crate::team::is_session_name(n) {
                Ok(())
            } else {
                Err("use letters, digits, - _ . only".into())
            }
        })?,
        (None, false) => suggested,
    };
    let session = SessionConfig { name, start_url, region, scopes: Vec::new() };
    crate::sessions::validate(&session)?;
    Ok(session)
}

/// `d-1234567890` from `https://d-1234567890.awsapps.com/start`; `sso` otherwise.
fn default_session_name(start_url: &str) -> String {
    let host = start_url.trim_start_matches("https://").split(['/', '.', ':']).next().unwrap_or("");
    if crate::team::is_session_name(host) { host.to_string() } else { "sso".to_string() }
}

/// Signs in unless a valid token for this session (same start URL) is already stored.
pub fn sign_in(
    store: &dyn Store,
    session: &SessionConfig,
    device_code: bool,
    no_browser: bool,
    timeout: Duration,
) -> anyhow::Result<crate::secret::Secret<String>> {
    if let Ok(t) = crate::util::block_on(token::valid_token(store, &session.name, false))
        && t.start_url == session.start_url
        && t.region == session.region
    {
        ui::note(format!(
            "Already signed in to `{}` ({} left).",
            session.name,
            crate::time::human_remaining(t.expires_at - crate::time::now())
        ));
        return Ok(t.access_token);
    }
    let flow = if device_code {
        Flow::DeviceCode
    } else {
        let (flow, why) = login::auto_flow();
        if let Some(why) = why {
            ui::note(format!("Using the device code sign-in because {why}."));
        }
        flow
    };
    ui::note(format!("{} {}", ui::bold("Signing in to"), session.start_url));
    let opts = LoginOptions { flow, open_browser: !no_browser, timeout };
    let t = crate::util::block_on(login::login(store, session, &opts))?;
    ui::note(format!(
        "Signed in; the session lasts {}.",
        crate::time::human_remaining(t.expires_at - crate::time::now())
    ));
    Ok(t.access_token)
}

/// Every account and role of the signed-in user.
pub fn assignments(
    session: &SessionConfig,
    access_token: &crate::secret::Secret<String>,
) -> anyhow::Result<Vec<Assignment>> {
    ui::note("Listing your accounts and roles…");
    let (have, report) = crate::util::block_on(inventory::list(
        &session.region,
        &session.name,
        access_token,
        &fanout::Options::default(),
    ))?;
    let roles: usize = have.iter().map(|a| a.roles.len()).sum();
    ui::note(format!(
        "You have {} role(s) in {} account(s){}.",
        roles,
        have.len(),
        if report.throttled > 0 {
            format!(" ({} throttled call(s) retried)", report.throttled)
        } else {
            String::new()
        }
    ));
    Ok(have)
}

/// Without a team file: every role, or the ones the user picks.
fn choose(have: &[Assignment], prompter: &Prompter, region: &str) -> anyhow::Result<Vec<Wanted>> {
    let all = provision::every_role(have, provision::DEFAULT_SYNC_TEMPLATE, None, Some(region))?;
    if !prompter.interactive() || all.is_empty() {
        return Ok(all);
    }
    let items: Vec<String> = all
        .iter()
        .map(|w| format!("{} ({}) {} -> profile {}", w.account_name, w.account_id, w.role, w.name))
        .collect();
    let chosen = prompter.multi_select(
        "Which roles do you want profiles for?",
        &items,
        &vec![all.len() <= 4; all.len()],
    )?;
    Ok(chosen.into_iter().map(|i| all[i].clone()).collect())
}

/// Verifies every profile concurrently with GetCallerIdentity through the AWS SDK (which
/// runs keyless as the credential_process). Returns (profile, result) in input order.
pub fn verify(names: &[String]) -> Vec<(String, anyhow::Result<crate::identity::Identity>)> {
    crate::util::block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, name) in names.iter().enumerate() {
            let name = name.clone();
            set.spawn(async move { (i, crate::identity::for_profile_async(&name).await) });
        }
        let mut out: Vec<Option<anyhow::Result<crate::identity::Identity>>> =
            (0..names.len()).map(|_| None).collect();
        while let Some(done) = set.join_next().await {
            match done {
                Ok((i, r)) => out[i] = Some(r),
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        names.iter().cloned().zip(out.into_iter().map(|r| r.expect("joined"))).collect()
    })
}

pub fn run(args: OnboardArgs) -> anyhow::Result<i32> {
    let prompter = Prompter::new(args.yes);
    if !args.yes && !ui::can_prompt() {
        return Err(Error::user(
            "keyless onboard asks questions, but there is no terminal to ask them on",
        )
        .hint("run it in a terminal, or pass --yes with --team FILE (or --start-url URL --region REGION) to onboard without questions")
        .into());
    }
    if args.yes && args.team.is_none() && args.start_url.is_none() {
        return Err(Error::usage("--yes needs --team FILE or --start-url URL --region REGION")
            .hint("with --yes keyless cannot ask where your Identity Center is")
            .into());
    }
    // Check the inputs before anything else: a bad team file stops here.
    let team = args.team.as_deref().map(TeamFile::load).transpose()?;
    let binary = crate::exe::for_profiles(args.allow_binary_writable_by_others)?;

    ui::note(ui::bold("1. Looking at this machine"));
    let s = survey()?;

    ui::note(ui::bold("2. Your IAM Identity Center"));
    let session = session_config(&args, team.as_ref(), &prompter)?;
    ui::note(format!("Session `{}`: {} in {}", session.name, session.start_url, session.region));

    ui::note(ui::bold("3. Signing in"));
    let store = crate::store::open()?;
    let access_token = sign_in(
        store.as_ref(),
        &session,
        args.device_code,
        args.no_browser,
        Duration::from_secs(args.timeout),
    )?;

    ui::note(ui::bold("4. Your accounts and roles"));
    let have = assignments(&session, &access_token)?;
    let wanted = match &team {
        Some(t) => provision::from_team(t, &have)?,
        None => choose(&have, &prompter, &session.region)?,
    };
    for w in &wanted {
        ui::note(format!(
            "  {:<24} {} ({}) as {}{}",
            w.name,
            w.account_name,
            w.account_id,
            w.role,
            w.environment.as_deref().map(|e| format!(" [{e}]")).unwrap_or_default()
        ));
    }

    ui::note(ui::bold("5. Writing your AWS config"));
    // Names are checked against the files as they are now, under the lock, not as they were
    // before a sign-in that can take minutes: a profile written meanwhile is never replaced.
    let mut edit = ConfigEdit::open(&s.config_path)?;
    let credentials = crate::aws_config::read_document(&s.credentials_path)?;
    let clashes = provision::collisions(
        &wanted,
        edit.document(),
        &s.config_path,
        &credentials,
        &s.credentials_path,
        &BTreeSet::new(),
    );
    if !clashes.is_empty() {
        let where_ = if team.is_some() {
            "change [profiles] name in the team file"
        } else {
            "pick other roles"
        };
        return Err(provision::collision_error(&clashes, where_));
    }
    provision::apply(edit.document_mut(), &session, &binary, &wanted, None)?;
    let diff = edit.diff();
    if diff.is_empty() {
        ui::note(format!("{} is already up to date; nothing to write.", s.config_path.display()));
        drop(edit);
    } else {
        ui::note(diff.trim_end());
        if !prompter
            .confirm(&format!("Write these changes to {}?", s.config_path.display()), true)?
        {
            ui::note("Nothing was written.");
            return Ok(1);
        }
        let done = edit.commit(Backup::Keep)?;
        match done.backup {
            Some(b) => ui::note(format!("Written; the previous file is saved as {}.", b.display())),
            None => ui::note("Written."),
        }
    }

    ui::note(ui::bold("6. Checking every profile with STS GetCallerIdentity"));
    let names: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
    let mut failed = Vec::new();
    let mut table = String::new();
    for (name, r) in verify(&names) {
        match r {
            Ok(id) => table.push_str(&format!("{name:<24} {:<14} {}\n", id.account, id.arn)),
            Err(e) => {
                ui::note(format!("  {name}: {}", crate::error::render(&e)));
                failed.push(name);
            }
        }
    }
    if !table.is_empty() {
        super::print_stdout(&table);
    }
    if !failed.is_empty() {
        return Err(Error::user(format!(
            "{} profile(s) did not work: {}",
            failed.len(),
            failed.join(", ")
        ))
        .hint("run `keyless whoami --profile NAME` for details; no access key was touched")
        .into());
    }

    ui::note(ui::bold("7. Long-lived access keys"));
    let keys = crate::migrate::find_long_lived()?;
    let migrate = if keys.is_empty() {
        ui::note("None to retire.");
        false
    } else if args.no_migrate {
        ui::note("Left alone (--no-migrate).");
        false
    } else if args.migrate {
        true
    } else if prompter.interactive() {
        prompter.confirm(
            &format!(
                "Replace {} long-lived key(s) with SSO profiles of the same name, then deactivate them?",
                keys.len()
            ),
            true,
        )?
    } else {
        ui::note("Left alone; run `keyless onboard --migrate` to retire them.");
        false
    };
    if migrate {
        let cx = crate::migrate::Context {
            session: &session,
            binary: &binary,
            team: team.as_ref(),
            have: &have,
            prompter,
        };
        let outcomes = crate::migrate::run(&cx)?;
        for line in crate::migrate::summary(&outcomes) {
            ui::note(format!("  {line}"));
        }
    }

    ui::note(ui::bold("8. Next"));
    let example = names.first().map_or("PROFILE", String::as_str);
    let steps = [
        (
            format!("aws sts get-caller-identity --profile {example}"),
            "any AWS tool now works with these profiles",
        ),
        (format!("keyless whoami --profile {example}"), "who you are, and when the session ends"),
        ("keyless status".to_string(), "session and credential expiry"),
        (
            format!("keyless profiles sync --session {}", session.name),
            "a profile for every account and role",
        ),
    ];
    let width = steps.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    let lines: Vec<String> =
        steps.iter().map(|(c, why)| format!("  {c:<width$}   # {why}")).collect();
    ui::note(lines.join("\n"));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_default_to_the_directory_id() {
        assert_eq!(default_session_name("https://d-1234567890.awsapps.com/start"), "d-1234567890");
        assert_eq!(default_session_name("https://"), "sso");
    }
}
