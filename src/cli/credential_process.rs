//! `keyless credential-process`: the helper every AWS SDK and CLI runs for short-term role
//! credentials. stdout carries exactly one JSON document on success and nothing otherwise;
//! every message goes to stderr.

use clap::Args;

use crate::credentials::{self, RoleRef};

#[derive(Debug, Args)]
pub struct CredentialProcessArgs {
    /// The SSO session (the `[sso-session NAME]` you signed in to).
    #[arg(long)]
    pub session: String,
    /// The 12-digit AWS account ID.
    #[arg(long)]
    pub account: String,
    /// The role (permission set) name.
    #[arg(long)]
    pub role: String,
    /// When the session needs a sign-in, start one (browser, or device code) instead of
    /// failing. Meant for interactive shells; concurrent callers share one sign-in.
    #[arg(long)]
    pub login_if_needed: bool,
}

/// Parses exactly `credential-process --session S --account A --role R [--login-if-needed]`
/// (flags in any order, `--flag value` or `--flag=value`) without clap. `None` for anything
/// else, which then gets clap's full parsing, help and error messages.
pub fn fast_parse(args: &[std::ffi::OsString]) -> Option<CredentialProcessArgs> {
    let args: Vec<&str> = args.iter().skip(1).map(|a| a.to_str()).collect::<Option<_>>()?;
    let (sub, rest) = args.split_first()?;
    if *sub != "credential-process" {
        return None;
    }
    let a = crate::aws_config::profiles::parse_process_args(rest.iter().copied())?;
    Some(CredentialProcessArgs {
        session: a.session,
        account: a.account,
        role: a.role,
        login_if_needed: a.login_if_needed,
    })
}

/// Whether an error means "sign in to this session again" (its marker, not its wording).
fn needs_login(err: &anyhow::Error, session: &str) -> bool {
    crate::error::find(err).and_then(|e| e.sign_in.as_deref()) == Some(session)
}

/// Returns the JSON document; the caller writes it to stdout, the only write there.
pub fn run(args: CredentialProcessArgs) -> anyhow::Result<String> {
    if !crate::sso::is_account_id(&args.account) {
        return Err(crate::error::Error::usage(format!(
            "`{}` is not a 12-digit AWS account ID",
            args.account
        ))
        .hint("fix --account in the profile's credential_process line (`keyless profiles sync` rewrites it)")
        .into());
    }
    let store = crate::store::open()?;
    let r = RoleRef { session: args.session, account: args.account, role: args.role };
    let creds = match credentials::get(store.as_ref(), &r) {
        Err(e) if args.login_if_needed && needs_login(&e, &r.session) => {
            sign_in_once(store.as_ref(), &r)?;
            credentials::get(store.as_ref(), &r)?
        }
        other => other?,
    };
    Ok(credentials::process_json(&creds, &r.account))
}

/// One sign-in for all concurrent callers: whoever takes the lock signs in; the others find
/// a valid session when they get it. A token that only looks valid (the portal refused it
/// moments ago, and that verdict still counts) is no valid session.
fn sign_in_once(store: &dyn crate::store::Store, r: &RoleRef) -> anyhow::Result<()> {
    use crate::sso::login::{self, LoginOptions};
    use crate::sso::token;
    let timeout = std::time::Duration::from_secs(180);
    let _lock = crate::lock::acquire(&format!("login:{}", r.session), timeout)?;
    match crate::util::block_on(token::valid_token(store, &r.session, false)) {
        Ok(_) => {
            let epoch = crate::verdict::epoch(&r.session);
            match crate::verdict::check(&token::lock_name(&r.session), &epoch) {
                Some(e) if needs_login(&e, &r.session) => {}
                _ => return Ok(()),
            }
        }
        Err(e) if needs_login(&e, &r.session) => {}
        Err(e) => return Err(e),
    }
    let session = crate::sessions::load(&r.session)?;
    let (flow, _) = login::auto_flow();
    crate::ui::note(format!(
        "keyless: signing in to `{}` for an AWS tool that needs credentials",
        r.session
    ));
    let opts = LoginOptions { flow, open_browser: true, timeout };
    crate::util::block_on(login::login(store, &session, &opts))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Option<(String, String, String, bool)> {
        let args: Vec<std::ffi::OsString> = line.split(' ').map(Into::into).collect();
        fast_parse(&args).map(|a| (a.session, a.account, a.role, a.login_if_needed))
    }

    #[test]
    fn only_a_marked_error_starts_a_sign_in() {
        let marked: anyhow::Error = crate::sso::sign_in_again("acme", "expired").into();
        assert!(needs_login(&marked, "acme"));
        assert!(!needs_login(&marked, "other"));
        // The same hint on another failure (an unexpected portal error) is advice, not a
        // reason to open a browser.
        let advice: anyhow::Error = crate::error::Error::user("getting role credentials failed")
            .hint(crate::sso::login_hint("acme"))
            .into();
        assert!(!needs_login(&advice, "acme"));
    }

    #[test]
    fn fast_parse_takes_only_the_exact_shape() {
        let want = Some(("acme".into(), "111111111111".into(), "Dev".into(), false));
        assert_eq!(
            parse("keyless credential-process --session acme --account 111111111111 --role Dev"),
            want
        );
        assert_eq!(
            parse("keyless credential-process --role=Dev --session=acme --account 111111111111"),
            want
        );
        assert_eq!(
            parse("k credential-process --session a --account 1 --role R --login-if-needed")
                .map(|p| p.3),
            Some(true)
        );
        // Everything else is left to clap (help, errors, other commands).
        assert_eq!(parse("keyless credential-process --session acme --account 111111111111"), None);
        assert_eq!(
            parse("keyless credential-process --session a --session b --account 1 --role R"),
            None
        );
        assert_eq!(parse("keyless credential-process --help"), None);
        assert_eq!(parse("keyless credential-process --session --account 1 --role R"), None);
        assert_eq!(parse("keyless status --json"), None);
        assert_eq!(
            parse("keyless credential-process --session a --account 1 --role R --verbose"),
            None
        );
    }
}
