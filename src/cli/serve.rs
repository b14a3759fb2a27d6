//! `keyless serve` and `keyless exec --server`: role credentials from a local
//! container-credentials endpoint, for tools that run longer than one role session and for
//! containers, which cannot run `credential_process` on the host.

use std::net::SocketAddr;
use std::process::Command;

use anyhow::Context;
use clap::Args;

use crate::error::Error;
use crate::server::{self, ENV_FULL_URI, ENV_TOKEN, Endpoint, Route};
use crate::ui;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A keyless profile to serve; repeat for several (each gets its own path). The env-file
    /// lines point at the first.
    #[arg(long = "profile", value_name = "PROFILE", required = true)]
    pub profiles: Vec<String>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Allow an --addr that is not loopback. The token then crosses a network in plain http;
    /// anyone who can read it there gets the role's credentials.
    #[arg(long)]
    pub allow_non_loopback: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("building the async runtime")
}

fn describe(r: &Route) -> String {
    format!("role {} in account {}, SSO session `{}`", r.role.role, r.role.account, r.role.session)
}

pub fn run(args: ServeArgs) -> anyhow::Result<i32> {
    let routes = server::routes(&args.profiles)?;
    let listener = server::bind(args.addr, args.allow_non_loopback)?;
    let addr = listener.local_addr()?;
    let endpoint = Endpoint::new(server::new_token(), routes);
    let first = server::url(addr, &endpoint.routes()[0].path);
    // Ready for SIGTERM before announcing the endpoint: whoever reads the lines may stop it at
    // once, and should see it stop cleanly.
    let runtime = runtime()?;
    let shutdown = {
        let _context = runtime.enter();
        crate::net::shutdown_signal()
    };
    // stdout is an env file (`docker run --env-file`): these two lines, then nothing.
    super::print_stdout(&format!(
        "{ENV_FULL_URI}={first}\n{ENV_TOKEN}={}\n",
        endpoint.token().expose()
    ));
    // Closing stdout tells a reader (`--env-file <(keyless serve ...)`) the file is complete;
    // anything printed later lands on stderr.
    super::close_stdout();
    if !addr.ip().is_loopback() {
        ui::note(format!(
            "keyless: warning: listening on {addr}, which is not loopback: the token travels in plain http, and anyone who has it can take the role's credentials"
        ));
    }
    if !server::sdk_accepts(server::url_ip(addr)) {
        ui::note(format!(
            "keyless: warning: AWS SDKs refuse a plain-http credentials endpoint at {}; they accept loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23 (see \"What SDKs accept\" in docs/getting-started.md)",
            server::url_ip(addr)
        ));
    }
    for r in endpoint.routes() {
        ui::note(format!(
            "keyless: serving profile `{}` ({}) at {}",
            r.profile,
            describe(r),
            server::url(addr, &r.path)
        ));
        // Say now, not at the first request, if a profile cannot be served yet.
        if let Err(e) = server::credentials_for(r) {
            ui::note(format!(
                "keyless: warning: profile `{}` cannot be served yet: {}",
                r.profile,
                crate::error::render(&e)
            ));
        }
    }
    ui::note("keyless: serving until Ctrl-C or SIGTERM");
    runtime.block_on(server::serve(listener, endpoint, shutdown))?;
    ui::note("keyless: stopped");
    Ok(0)
}

/// `keyless exec --server`: runs `command` with the endpoint's variables (and no keys) and
/// serves it until it exits; returns its exit code.
pub fn exec_with_server(
    profile: &str,
    region: Option<&str>,
    command: &[String],
) -> anyhow::Result<i32> {
    let routes = server::routes(&[profile.to_string()])?;
    // Fail before the command starts, as `exec` does, when there are no credentials to serve.
    server::credentials_for(&routes[0])?;
    if let Some(why) = server::default_profile_shadows() {
        ui::note(format!(
            "keyless: warning: {why}; SDKs in the command use those before the endpoint"
        ));
    }
    let listener = server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), false)?;
    let url = server::url(listener.local_addr()?, &routes[0].path);
    let profile_region = routes[0].region.clone();
    let endpoint = Endpoint::new(server::new_token(), routes);
    let runtime = runtime()?;
    runtime.spawn({
        let endpoint = endpoint.clone();
        async move {
            if let Err(e) = server::serve(listener, endpoint, std::future::pending()).await {
                ui::note(format!("keyless: the credentials endpoint stopped: {e:#}"));
            }
        }
    });
    let (program, rest) = command.split_first().expect("clap requires a command");
    let mut cmd = Command::new(program);
    cmd.args(rest).env("KEYLESS_PROFILE", profile);
    for k in server::SHADOWING {
        cmd.env_remove(k);
    }
    cmd.env(ENV_FULL_URI, &url).env(ENV_TOKEN, endpoint.token().expose());
    // `--region` wins; else a region already in the environment stays; else the profile's.
    let region_set = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    let region = region.map(str::to_string).or(profile_region.filter(|_| !region_set));
    if let Some(r) = region {
        cmd.env("AWS_REGION", &r).env("AWS_DEFAULT_REGION", &r);
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::user(format!("could not run `{program}`: {e}"))
            .hint("check the command name and your PATH")
    })?;
    runtime.spawn(relay_signals(&child));
    let status = child.wait().context("waiting for the command")?;
    runtime.shutdown_background();
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return Ok(128 + sig);
    }
    Ok(status.code().unwrap_or(1))
}

/// Keeps keyless (and so the endpoint) alive while the command handles a signal. SIGINT and
/// SIGHUP come from the terminal, which sends them to the command as well; SIGTERM is sent to
/// keyless alone (`kill`, a CI runner), so it is passed on to the command.
#[cfg(unix)]
fn relay_signals(child: &std::process::Child) -> impl std::future::Future<Output = ()> + use<> {
    use rustix::process::{Pid, Signal, kill_process};
    use tokio::signal::unix::{SignalKind, signal};
    let pid = Pid::from_child(child);
    crate::ui::interrupt::handled_elsewhere();
    async move {
        let (Ok(mut int), Ok(mut hup), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = hup.recv() => {}
                _ = term.recv() => {
                    let _ = kill_process(pid, Signal::TERM);
                }
            }
        }
    }
}

/// Ctrl-C reaches every process on the console: keyless outlives it so the command can finish.
#[cfg(not(unix))]
fn relay_signals(_child: &std::process::Child) -> impl std::future::Future<Output = ()> + use<> {
    async {
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
        }
    }
}
