//! `keyless logout`: ends the session at Identity Center (refreshing an expired access token
//! first, since the session lives on there while its refresh token works), then deletes its
//! token, registration and cached role credentials from the secure store.

use clap::Args;

use crate::error::Error;
use crate::sso::records::{self, Registration, Token};
use crate::sso::{clients, portal, token};
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

/// The token to end the session with at Identity Center: the stored one while it is valid;
/// once it has expired, a refreshed one if the refresh token still works (the session lives on
/// at Identity Center until it is ended or runs out); `None` when there is nothing to end.
fn session_token(store: &dyn Store, name: &str) -> anyhow::Result<Option<Token>> {
    let now = crate::time::now();
    let Some(t) = records::load::<Token>(store, &records::token_key(name))? else {
        return Ok(None);
    };
    if t.expires_at > now {
        return Ok(Some(t));
    }
    let reg: Option<Registration> = records::load(store, &records::registration_key(name))?;
    if !token::refreshable(&t, reg.as_ref(), now) {
        return Ok(None);
    }
    match crate::util::block_on(token::valid_token(store, name, false)) {
        Ok(fresh) => Ok(Some(fresh)),
        // The refresh token was refused: the session is over at Identity Center already.
        Err(e) if crate::error::find(&e).is_some_and(|k| k.sign_in.is_some()) => Ok(None),
        Err(e) => Err(e),
    }
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
        let token = match session_token(store.as_ref(), &name) {
            Ok(t) => t,
            Err(e) => {
                // The reason alone: an `error:` and a `hint:` inside the parentheses would read
                // as two more messages.
                ui::note(format!(
                    "warning: could not end `{name}` at Identity Center ({e:#}); the local copy is removed anyway"
                ));
                failed = true;
                None
            }
        };
        if let Some(t) = &token {
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
