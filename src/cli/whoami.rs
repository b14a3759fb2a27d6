//! `keyless whoami`: STS GetCallerIdentity for a profile, resolved as the AWS SDK resolves
//! it, plus the session and expiry details for keyless profiles.

use clap::Args;
use serde::Serialize;

use crate::aws_config::profiles;
use crate::identity::{self, Identity};
use crate::sso::records::{self, RoleCredentials, Token};
use crate::time::{human_remaining, now, rfc3339};
use crate::ui;

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// The profile (default: AWS_PROFILE; on a terminal, pick one).
    #[arg(long)]
    pub profile: Option<String>,
    /// Ask STS in this region instead of the profile's.
    #[arg(long, value_name = "REGION", value_parser = super::parse_region)]
    pub region: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct KeylessDetails {
    session: String,
    account: String,
    role: String,
    token_expires_at: Option<String>,
    credentials_expire_at: Option<String>,
}

#[derive(Debug, Serialize)]
struct Whoami {
    profile: String,
    /// The region STS was asked in.
    region: String,
    #[serde(flatten)]
    identity: Identity,
    credentials_from_environment: bool,
    keyless: Option<KeylessDetails>,
}

fn keyless_details(profile: &str) -> anyhow::Result<Option<KeylessDetails>> {
    let doc = crate::sessions::read_config()?;
    let Some(cp) = profiles::config_profile(&doc, profile).and_then(|p| p.managed()) else {
        return Ok(None);
    };
    let store = crate::store::open()?;
    let token: Option<Token> = records::load(store.as_ref(), &records::token_key(&cp.session))?;
    let creds: Option<RoleCredentials> =
        records::load(store.as_ref(), &records::role_key(&cp.session, &cp.account, &cp.role))?;
    Ok(Some(KeylessDetails {
        session: cp.session,
        account: cp.account,
        role: cp.role,
        token_expires_at: token.map(|t| rfc3339(t.expires_at)),
        credentials_expire_at: creds.map(|c| rfc3339(c.expiration)),
    }))
}

fn until(at: &Option<String>) -> String {
    match at.as_deref().and_then(crate::time::parse_rfc3339) {
        Some(t) => format!("{} (until {})", human_remaining(t - now()), rfc3339(t)),
        None => "unknown".into(),
    }
}

pub fn run(args: WhoamiArgs) -> anyhow::Result<i32> {
    let profile = super::resolve_profile(args.profile, "whoami")?;
    let from_env = identity::env_credentials_present();
    if from_env {
        ui::note(format!(
            "warning: AWS_ACCESS_KEY_ID is set in the environment; AWS SDKs use it instead of profile `{profile}`. Unset it (and AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) to use the profile."
        ));
    }
    let (id, region) =
        crate::util::block_on(identity::for_profile_in(&profile, args.region.as_deref()))?;
    crate::recent::record(&profile);
    let details = if from_env { None } else { keyless_details(&profile)? };
    let w = Whoami {
        profile: profile.clone(),
        region,
        identity: id,
        credentials_from_environment: from_env,
        keyless: details,
    };
    if args.json {
        super::print_stdout(&serde_json::to_string_pretty(&w)?);
        return Ok(0);
    }
    let mut out = format!(
        "Account   {}\nARN       {}\nUser ID   {}\nProfile   {}{}\nRegion    {}\n",
        w.identity.account,
        w.identity.arn,
        w.identity.user_id,
        w.profile,
        if from_env { " (overridden by environment credentials)" } else { "" },
        w.region,
    );
    if let Some(k) = &w.keyless {
        out.push_str(&format!("Session   {} (role {} in {})\n", k.session, k.role, k.account));
        out.push_str(&format!("Token     {}\n", until(&k.token_expires_at)));
        out.push_str(&format!("Role keys {}\n", until(&k.credentials_expire_at)));
    }
    super::print_stdout(&out);
    Ok(0)
}
