//! `keyless login`: sign in to an SSO session (PKCE in the browser by default; the device
//! code over SSH, WSL, containers, with no display, or on request).

use std::time::Duration;

use clap::Args;

use crate::error::Error;
use crate::sessions;
use crate::sso::SessionConfig;
use crate::sso::login::{self, Flow, LoginOptions};
use crate::ui;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The SSO session (`[sso-session NAME]` in the AWS config). Optional when there is one.
    #[arg(long)]
    pub session: Option<String>,
    /// Create or update the session with this AWS access portal URL (needs --region).
    #[arg(long, requires = "region")]
    pub start_url: Option<String>,
    /// The IAM Identity Center region (with --start-url).
    #[arg(long, requires = "start_url")]
    pub region: Option<String>,
    /// Use the device code flow (a URL and a code to enter on any device).
    #[arg(long, conflicts_with = "pkce")]
    pub device_code: bool,
    /// Use the browser flow (authorization code with PKCE) even where keyless would pick the
    /// device code.
    #[arg(long)]
    pub pkce: bool,
    /// Do not open a browser; only print the address.
    #[arg(long)]
    pub no_browser: bool,
    /// Seconds to wait for the sign-in to complete.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// The session named on the command line, or the only one configured.
/// The session for commands that also take a team file: `--session`, else the team file's
/// session, else the only one configured. Loaded from the AWS config.
pub fn session_for(
    name: Option<&str>,
    team: Option<&crate::team::TeamFile>,
) -> anyhow::Result<SessionConfig> {
    let name = match (name, team) {
        (Some(n), _) => n.to_string(),
        (None, Some(t)) => t.sso.session.clone(),
        (None, None) => pick_session(None)?,
    };
    sessions::load(&name)
}

pub fn pick_session(name: Option<&str>) -> anyhow::Result<String> {
    if let Some(n) = name {
        return Ok(n.to_string());
    }
    let all = sessions::list()?;
    match all.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(Error::user("no SSO session is configured")
            .hint("run `keyless onboard`, or `keyless login --session NAME --start-url URL --region REGION`")
            .into()),
        many => Err(Error::usage("several SSO sessions are configured; name one with --session")
            .hint(format!("sessions: {}", many.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")))
            .into()),
    }
}

pub fn run(args: LoginArgs) -> anyhow::Result<i32> {
    let session = match (&args.start_url, &args.region) {
        (Some(url), Some(region)) => {
            let name = args.session.clone().ok_or_else(|| {
                Error::usage("--start-url needs --session NAME")
                    .hint("for example `--session acme`")
            })?;
            let scopes = sessions::load(&name).map(|s| s.scopes).unwrap_or_default();
            let cfg =
                SessionConfig { name, start_url: url.clone(), region: region.clone(), scopes };
            sessions::validate(&cfg)?;
            (cfg, true)
        }
        _ => (sessions::load(&pick_session(args.session.as_deref())?)?, false),
    };
    let (session, write_config) = session;
    let flow = if args.device_code {
        Flow::DeviceCode
    } else if args.pkce {
        Flow::Pkce
    } else {
        let (flow, why) = login::auto_flow();
        if let Some(why) = why {
            ui::note(format!(
                "Using the device code sign-in because {why} (use --pkce to override)."
            ));
        }
        flow
    };
    let store = crate::store::open()?;
    let opts = LoginOptions {
        flow,
        open_browser: !args.no_browser,
        timeout: Duration::from_secs(args.timeout),
    };
    let token = crate::util::block_on(login::login(store.as_ref(), &session, &opts))?;
    // The config is written only once the sign-in worked: a failed login leaves no trace.
    if write_config {
        let diff = sessions::save(&session)?;
        if !diff.is_empty() {
            ui::note(format!("Updated [sso-session {}] in the AWS config:\n{diff}", session.name));
        }
    }
    let left = token.expires_at - crate::time::now();
    let refresh = if token.refresh_token.is_some() {
        "it refreshes silently until Identity Center ends the session"
    } else {
        "it cannot be refreshed; sign in again when it ends"
    };
    ui::note(format!(
        "Signed in to `{}` ({}). The token is valid for {} (until {}); {refresh}. Stored in the {} keychain.",
        session.name,
        session.start_url,
        crate::time::human_remaining(left),
        crate::time::rfc3339(token.expires_at),
        store.name()
    ));
    Ok(0)
}
