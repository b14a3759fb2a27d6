//! `keyless console --profile P [--print]`: open the AWS Management Console signed in as the
//! profile's role.

use clap::Args;

use crate::console;
use crate::error::Error;
use crate::ui;

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The profile whose role to sign in as (a keyless profile, or any profile with temporary
    /// credentials).
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: String,
    /// Print the sign-in URL on stdout instead of opening a browser. The URL is a credential:
    /// anyone who has it can use the console as this role for 15 minutes.
    #[arg(long)]
    pub print: bool,
    /// How long the console session lasts, in seconds (900 to 43200).
    #[arg(long, value_name = "SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u32).range(900..=43_200))]
    pub duration: u32,
    /// The console page to land on.
    #[arg(long, value_name = "URL", default_value = console::DEFAULT_DESTINATION)]
    pub destination: String,
}

/// Signs in and opens (or returns, with `--print`) the login URL. `Ok(Some(url))` is what to
/// print on stdout.
pub fn run(args: ConsoleArgs) -> anyhow::Result<Option<String>> {
    let (creds, what) = console::profile_credentials(&args.profile)?;
    let federation = console::federation_url();
    let token = crate::util::block_on(console::signin_token(&federation, args.duration, &creds))?;
    let url = console::login_url(&federation, &args.destination, &token);
    if args.print {
        ui::note(format!(
            "warning: this URL signs in to the AWS console as {what}. Anyone who has it can \
             use it for the next 15 minutes: do not paste it into chats, tickets or logs."
        ));
        return Ok(Some(url.into_inner()));
    }
    ui::note(format!("Opening the AWS console as {what} in your browser."));
    webbrowser::open(url.expose()).map_err(|e| {
        Error::user(format!("could not open a browser: {e}")).hint(format!(
            "run `keyless console --print --profile {}` and open the URL yourself",
            args.profile
        ))
    })?;
    Ok(None)
}
