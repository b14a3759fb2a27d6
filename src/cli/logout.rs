//! `keyless logout`: ends the session at Identity Center, then deletes its token,
//! registration and cached role credentials from the secure store.

use clap::Args;

use crate::error::Error;
use crate::sso::records::{self, Token};
use crate::sso::{clients, portal};
use crate::store::Store;
use crate::ui;

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The SSO session to sign out of. Optional when there is one.
    #[arg(long, conflicts_with = "all")]
    pub session: Option<String>,
    /// Sign out of every session keyless holds.
    #[arg(long)]
    pub all: bool,
}

/// Session names that have anything in the store.
pub fn stored_sessions(store: &dyn Store) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = store
        .list("")
        .map_err(Error::from)?
        .iter()
        .filter_map(|k| {
            let mut parts = k.splitn(3, ':');
            match (parts.next(), parts.next()) {
                (Some("token" | "registration" | "role"), Some(name)) => Some(name.to_string()),
                _ => None,
            }
        })
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

pub fn run(args: LogoutArgs) -> anyhow::Result<i32> {
    let store = crate::store::open()?;
    let names = if args.all {
        stored_sessions(store.as_ref())?
    } else {
        let name = match args.session {
            Some(n) => n,
            None => {
                let stored = stored_sessions(store.as_ref())?;
                match stored.as_slice() {
                    [one] => one.clone(),
                    _ => super::login::pick_session(None)?,
                }
            }
        };
        vec![name]
    };
    if names.is_empty() {
        ui::note("No session is signed in; nothing to do.");
        return Ok(0);
    }
    let mut failed = false;
    for name in names {
        let token: Option<Token> = records::load(store.as_ref(), &records::token_key(&name))?;
        if let Some(t) = &token
            && t.expires_at > crate::time::now()
        {
            let client = clients::portal(&t.region)?;
            if let Err(e) = crate::util::block_on(portal::logout(&client, &t.access_token)) {
                ui::note(format!("warning: {e}; the local copy is removed anyway"));
                failed = true;
            }
        }
        let n = records::delete_session(store.as_ref(), &name)?;
        let _ = crate::verdict::new_epoch(&name);
        ui::note(format!(
            "Signed out of `{name}`: removed {n} entr{} from the {} keychain.",
            if n == 1 { "y" } else { "ies" },
            store.name()
        ));
    }
    Ok(if failed { 1 } else { 0 })
}
