//! `keyless migrate`: retire the long-lived access keys in `~/.aws/credentials` (and in
//! `~/.aws/config` profiles) after
//! onboarding (the same steps as `keyless onboard --migrate`): each profile keeps its name and
//! gets an SSO role in the key's account, is verified, and only then is the key removed from
//! the file and deactivated.

use std::path::PathBuf;

use clap::Args;

use crate::error::Error;
use crate::team::TeamFile;
use crate::ui::{self, Prompter};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SSO session whose roles replace the keys (optional when there is only one).
    #[arg(long)]
    pub session: Option<String>,
    /// A team file: the role of the environment each key's account is in.
    #[arg(long, value_name = "FILE")]
    pub team: Option<PathBuf>,
    /// Ask nothing: keys whose account the team file does not map are kept.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Write credential_process lines even though the keyless binary, or a directory above
    /// it, can be written by other users (who could then replace it and get your credentials).
    #[arg(long)]
    pub allow_binary_writable_by_others: bool,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<i32> {
    let prompter = Prompter::new(args.yes);
    if !args.yes && !ui::can_prompt() {
        return Err(Error::user("keyless migrate asks questions, but there is no terminal")
            .hint("pass --yes (with --team FILE to map accounts to roles)")
            .into());
    }
    // Before anything else: the path every migrated profile will run.
    let binary = crate::exe::for_profiles(args.allow_binary_writable_by_others)?;
    let team = args.team.as_deref().map(TeamFile::load).transpose()?;
    let session = super::login::session_for(args.session.as_deref(), team.as_ref())?;
    let keys = crate::migrate::find_long_lived()?;
    if keys.is_empty() {
        ui::note("No long-lived access keys to retire.");
        return Ok(0);
    }
    if !prompter.confirm(
        &format!(
            "Replace {} long-lived key(s) with SSO profiles of the same name, then deactivate them?",
            keys.len()
        ),
        true,
    )? {
        return Ok(1);
    }
    let store = crate::store::open()?;
    let token = crate::util::block_on(crate::sso::token::valid_token(
        store.as_ref(),
        &session.name,
        false,
    ))?;
    let have = super::onboard::assignments(&session, &token.access_token)?;
    let cx = crate::migrate::Context {
        session: &session,
        binary: &binary,
        team: team.as_ref(),
        have: &have,
        prompter,
    };
    let outcomes = crate::migrate::run(&cx)?;
    for line in crate::migrate::summary(&outcomes) {
        ui::note(line);
    }
    Ok(0)
}
