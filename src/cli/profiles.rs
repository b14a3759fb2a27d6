//! `keyless profiles sync`: a profile for every account and role the signed-in user has,
//! shown as a diff first. New accounts are added; with `--prune`, keyless profiles whose
//! assignment is gone are removed. Profiles keyless did not write are never touched.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::aws_config::edit::{Backup, ConfigEdit};
use crate::aws_config::paths;
use crate::error::Error;
use crate::provision;
use crate::sso::{fanout, inventory, token};
use crate::team::TeamFile;
use crate::ui::{self, Prompter};

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// Create or refresh a profile for every account and role you have (shows a diff).
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The SSO session to list (optional when there is only one, or with --team).
    #[arg(long)]
    pub session: Option<String>,
    /// A team file: its session, account names, environments, regions and name template.
    #[arg(long, value_name = "FILE")]
    pub team: Option<PathBuf>,
    /// Profile name template; variables {account_name}, {account_id}, {role}, {env}.
    /// Default: `{account_name}-{role}`.
    #[arg(long, value_name = "TEMPLATE")]
    pub template: Option<String>,
    /// Also remove keyless profiles of this session whose account or role you no longer have.
    #[arg(long)]
    pub prune: bool,
    /// Print the diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Write credential_process lines even though the keyless binary, or a directory above
    /// it, can be written by other users (who could then replace it and get your credentials).
    #[arg(long)]
    pub allow_binary_writable_by_others: bool,
}

pub fn run(cmd: ProfilesCommand) -> anyhow::Result<i32> {
    match cmd {
        ProfilesCommand::Sync(args) => sync(args),
    }
}

fn sync(args: SyncArgs) -> anyhow::Result<i32> {
    let prompter = Prompter::new(args.yes);
    if !args.dry_run && !args.yes && !ui::can_prompt() {
        return Err(Error::user(
            "keyless profiles sync asks before writing, but there is no terminal to ask on",
        )
        .hint("pass --yes to write without asking, or --dry-run to only see the diff")
        .into());
    }
    let team = args.team.as_deref().map(TeamFile::load).transpose()?;
    let session = super::login::session_for(args.session.as_deref(), team.as_ref())?;
    let template = args
        .template
        .clone()
        .or_else(|| team.as_ref().map(|t| t.name_template.clone()))
        .unwrap_or_else(|| provision::DEFAULT_SYNC_TEMPLATE.to_string());
    if let Err(e) = provision::render_name(&template, Some("dev"), "111111111111", "a", "R") {
        return Err(Error::usage(
            crate::error::find(&e).map_or_else(|| e.to_string(), |k| k.message.clone()),
        )
        .into());
    }
    let binary = crate::exe::for_profiles(args.allow_binary_writable_by_others)?;
    let store = crate::store::open()?;
    let token = crate::util::block_on(token::valid_token(store.as_ref(), &session.name, false))?;

    let started = std::time::Instant::now();
    ui::note(format!("Listing your accounts and roles in `{}`…", session.name));
    let (have, report) = crate::util::block_on(inventory::list(
        &session.region,
        &session.name,
        &token.access_token,
        &fanout::Options::default(),
    ))?;
    let roles: usize = have.iter().map(|a| a.roles.len()).sum();
    ui::note(format!(
        "{} role(s) in {} account(s), listed in {:.1} s ({} calls, {} throttled and retried).",
        roles,
        have.len(),
        started.elapsed().as_secs_f64(),
        report.calls,
        report.throttled
    ));

    let (wanted, skipped) =
        provision::every_role_or_skip(&have, &template, team.as_ref(), Some(&session.region))?;
    // One role that cannot be written does not stop the others: it is named, the rest is
    // written, and the exit code says something was left out.
    for s in &skipped {
        ui::note(format!("skipped role `{}` in account {}: {}", s.role, s.account_id, s.reason));
    }
    let code = i32::from(!skipped.is_empty());
    let skipped_note = if skipped.is_empty() {
        String::new()
    } else {
        format!(", {} role(s) skipped (named above)", skipped.len())
    };
    let config_path = paths::config_path()?;
    let credentials_path = paths::credentials_path()?;
    let mut edit = ConfigEdit::open(&config_path)?;
    let credentials = crate::aws_config::read_document(&credentials_path)?;
    let clashes = provision::collisions(
        &wanted,
        edit.document(),
        &config_path,
        &credentials,
        &credentials_path,
        &BTreeSet::new(),
    );
    if !clashes.is_empty() {
        return Err(provision::collision_error(&clashes, "use --template"));
    }
    let changes = provision::apply(
        edit.document_mut(),
        &session,
        &binary,
        &wanted,
        args.prune.then_some(have.as_slice()),
    )?;
    let diff = edit.diff();
    let summary = format!(
        "{} added, {} updated, {} unchanged, {} removed",
        changes.added.len(),
        changes.updated.len(),
        changes.unchanged.len(),
        changes.removed.len()
    );
    if diff.is_empty() {
        ui::note(format!("{} is up to date ({summary}{skipped_note}).", config_path.display()));
        return Ok(code);
    }
    if args.dry_run {
        super::print_stdout(&diff);
        ui::note(format!("Dry run: {summary}{skipped_note}; nothing was written."));
        return Ok(code);
    }
    ui::note(abridged(&diff, 60));
    if !prompter.confirm(&format!("Write these changes to {}?", config_path.display()), true)? {
        ui::note("Nothing was written.");
        return Ok(1);
    }
    let done = edit.commit(Backup::Keep)?;
    ui::note(format!(
        "Written: {summary}{skipped_note}.{}",
        done.backup
            .map(|b| format!(" The previous file is saved as {}.", b.display()))
            .unwrap_or_default()
    ));
    if !args.prune {
        let stale = stale_count(&config_path, &session.name, &have)?;
        if stale > 0 {
            ui::note(format!(
                "{stale} keyless profile(s) point at roles you no longer have; `--prune` removes them."
            ));
        }
    }
    Ok(code)
}

/// Keyless profiles of `session` whose account and role are not in `have`.
fn stale_count(
    config_path: &std::path::Path,
    session: &str,
    have: &[inventory::Assignment],
) -> anyhow::Result<usize> {
    let doc = crate::aws_config::read_document(config_path)?;
    Ok(crate::aws_config::profiles::managed_profiles(&doc)
        .iter()
        .filter(|(_, cp)| {
            cp.session == session
                && !have.iter().any(|a| a.account_id == cp.account && a.roles.contains(&cp.role))
        })
        .count())
}

/// The first `max` lines of a diff, and how many more there are: a thousand new profiles
/// make a diff nobody reads on a terminal (`--dry-run` prints all of it).
fn abridged(diff: &str, max: usize) -> String {
    let lines: Vec<&str> = diff.trim_end().lines().collect();
    if lines.len() <= max {
        return lines.join("\n");
    }
    format!(
        "{}\n… {} more line(s); `keyless profiles sync --dry-run` prints the whole diff",
        lines[..max].join("\n"),
        lines.len() - max
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_diffs_are_abridged() {
        let d = (0..100).map(|i| format!("+l{i}\n")).collect::<String>();
        let a = super::abridged(&d, 60);
        assert_eq!(a.lines().count(), 61);
        assert!(
            a.ends_with("40 more line(s); `keyless profiles sync --dry-run` prints the whole diff")
        );
        assert_eq!(super::abridged("+a\n", 60), "+a");
    }
}
