//! `keyless console [--profile P] [--service S] [--region R] [--federate] [--print]`: open the
//! AWS Management Console as the profile's role, through the access portal when an SSO
//! session backs the profile, else (or with `--federate`) through a federation sign-in.

use clap::Args;

use crate::console;
use crate::ui;

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The profile whose role to open the console as (default: AWS_PROFILE; on a terminal,
    /// pick one).
    #[arg(long)]
    pub profile: Option<String>,
    /// Print the URL on stdout instead of opening a browser. Through the access portal the URL
    /// holds no credential; with --federate it is one (valid for 15 minutes).
    #[arg(long)]
    pub print: bool,
    /// Sign in through the federation endpoint with the role's credentials instead of the
    /// access portal (always the case for profiles not backed by an SSO session).
    #[arg(long)]
    pub federate: bool,
    /// The console page of this service to land on (e.g. s3, ec2, cloudformation).
    #[arg(long, value_name = "SERVICE", value_parser = parse_service)]
    pub service: Option<String>,
    /// Land in this region instead of the profile's.
    #[arg(long, value_name = "REGION", value_parser = super::parse_region)]
    pub region: Option<String>,
    /// The console page to land on, as a full URL (instead of --service and --region).
    #[arg(long, value_name = "URL", conflicts_with_all = ["service", "region"])]
    pub destination: Option<String>,
    /// How long a federated console session lasts, in seconds (900 to 43200).
    #[arg(long, value_name = "SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u32).range(900..=43_200))]
    pub duration: u32,
}

fn parse_service(s: &str) -> Result<String, String> {
    if console::is_service(s) {
        Ok(s.to_string())
    } else {
        Err(format!("`{s}` is not a console service name (e.g. s3, ec2, lambda)"))
    }
}

/// Opens (or returns, with `--print`) the console URL. `Ok(Some(url))` is what to print on
/// stdout.
pub fn run(args: ConsoleArgs) -> anyhow::Result<Option<String>> {
    let profile = super::resolve_profile(args.profile, "console")?;
    let doc = crate::sessions::read_config()?;
    // A service page lands in the profile's region unless told otherwise; with neither flag
    // the console (or the portal's relay state) decides.
    let region = args
        .region
        .clone()
        .or_else(|| args.service.as_ref().and_then(|_| console::profile_region(&doc, &profile)));
    // Without a region, the console of the role's partition.
    let destination = |partition_region: &str| {
        args.destination.clone().or_else(|| {
            console::destination(partition_region, region.as_deref(), args.service.as_deref())
        })
    };

    if !args.federate
        && let Some(role) = console::portal_role(&doc, &profile)?
    {
        let url = console::portal_console_url(&role, destination(&role.sso_region).as_deref());
        crate::recent::record(&profile);
        let what = format!("role {} in account {}", role.role, role.account);
        if args.print {
            ui::note(format!(
                "This link opens the console as {what} through your AWS access portal. It holds no credential: whoever opens it signs in to the portal as themselves."
            ));
            return Ok(Some(url));
        }
        ui::note(format!(
            "Opening the AWS console as {what} through your AWS access portal (your browser signs in to the portal if it has not already)."
        ));
        ui::open_in_browser(
            &url,
            &format!("run `keyless console --print --profile {profile}` and open the URL yourself"),
        )?;
        return Ok(None);
    }

    // The sign-in and console hosts are those of the credentials' partition.
    let (creds, what, partition_region) = console::profile_credentials(&profile)?;
    let federation = console::federation_url(&partition_region)?;
    let token = crate::util::block_on(console::signin_token(&federation, args.duration, &creds))?;
    let destination = destination(&partition_region)
        .unwrap_or_else(|| console::default_destination(&partition_region));
    let url = console::login_url(&federation, &destination, &token);
    crate::recent::record(&profile);
    if args.print {
        ui::note(format!(
            "warning: this URL signs in to the AWS console as {what}. Anyone who has it can \
             use it for the next 15 minutes: do not paste it into chats, tickets or logs."
        ));
        return Ok(Some(url.into_inner()));
    }
    ui::note(format!("Opening the AWS console as {what} in your browser."));
    let print = format!("keyless console --federate --print --profile {profile}");
    let open = |loopback: &str| {
        ui::open_in_browser(loopback, &format!("run `{print}` and open the URL yourself"))
    };
    crate::util::block_on(console::hand_over(&url, open, console::HAND_OVER_WAIT, &print))?;
    Ok(None)
}
