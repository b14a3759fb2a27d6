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
}

/// Returns the JSON document; the caller writes it to stdout, the only write there.
pub fn run(args: CredentialProcessArgs) -> anyhow::Result<String> {
    if args.account.len() != 12 || !args.account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(crate::error::Error::usage(format!(
            "`{}` is not a 12-digit AWS account ID",
            args.account
        ))
        .into());
    }
    let store = crate::store::open()?;
    let r = RoleRef { session: args.session, account: args.account, role: args.role };
    let creds = credentials::get(store.as_ref(), &r)?;
    Ok(credentials::process_json(&creds, &r.account))
}
