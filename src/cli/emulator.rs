//! `keyless emulator serve`: runs the local Identity Center until SIGINT/SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::emulator::{self, Config, Org};
use crate::error::Error;

#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Serve SSO-OIDC, the SSO portal, STS and IAM on one loopback URL (printed first on stdout).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: String,
    /// Org file (TOML) with accounts, users and access keys; a built-in sample org otherwise.
    #[arg(long, value_name = "FILE", conflicts_with = "generate_accounts")]
    pub org: Option<PathBuf>,
    /// Approve device codes and browser sign-ins at once, without a person.
    #[arg(long)]
    pub auto_approve: bool,
    /// Generate an org with this many accounts (for scale tests).
    #[arg(long, value_name = "N")]
    pub generate_accounts: Option<usize>,
    /// Roles per generated account.
    #[arg(long, value_name = "R", default_value_t = 3, requires = "generate_accounts")]
    pub roles_per_account: usize,
    /// Lifetime in seconds of access tokens issued with a refresh token (scoped
    /// registrations); one hour, as on AWS.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub token_ttl: i64,
    /// Lifetime in seconds of access tokens for legacy unscoped registrations, which get no
    /// refresh token; eight hours, AWS's default session length.
    #[arg(long, value_name = "SECS", default_value_t = 8 * 3600)]
    pub legacy_token_ttl: i64,
    /// Lifetime of role credentials in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub role_ttl: i64,
    /// Lifetime of device codes in seconds. 0 answers `expiresIn: 0`, as a response without
    /// the field reads, and keeps the code for the 600 s clients then assume.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub device_code_ttl: i64,
    /// Device-code polling interval in seconds. 0 answers `interval: 0`, as a response without
    /// the field reads, and enforces the 5 s clients then assume (SlowDown if faster).
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub poll_interval: i64,
    /// Delay every AWS response by this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Throttle AWS operations beyond this many per second (across all services).
    #[arg(long, value_name = "PER_SEC")]
    pub rate_limit: Option<f64>,
    /// Answer this fraction (0.0-1.0) of AWS requests with a 500 internal error.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Shift the `Date` header of every response by this many seconds (a server clock that is
    /// off, to exercise clock checks).
    #[arg(long, value_name = "SECS", default_value_t = 0, allow_hyphen_values = true)]
    pub clock_offset: i64,
}

impl ServeArgs {
    fn config(&self) -> anyhow::Result<Config> {
        let addr = self.addr.parse().map_err(|_| {
            Error::usage(format!("--addr {:?} is not an address like 127.0.0.1:0", self.addr))
        })?;
        let org = match (&self.org, self.generate_accounts) {
            (Some(path), _) => Org::load(path).map_err(|e| {
                Error::user(format!("{e:#}")).hint(
                    "the format is in profiles/demo-org.toml; without --org the emulator serves that sample org",
                )
            })?,
            (None, Some(n)) => Org::generated(n, self.roles_per_account),
            (None, None) => Org::sample(),
        };
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(Error::usage("--fault-rate must be between 0.0 and 1.0").into());
        }
        if self.rate_limit.is_some_and(|r| r.is_nan() || r <= 0.0) {
            return Err(Error::usage("--rate-limit must be a positive number").into());
        }
        if self.token_ttl <= 0
            || self.legacy_token_ttl <= 0
            || self.role_ttl <= 0
            || self.device_code_ttl < 0
        {
            return Err(Error::usage("the TTLs must be positive numbers of seconds").into());
        }
        if self.poll_interval < 0 {
            return Err(Error::usage("--poll-interval must be 0 or more seconds").into());
        }
        Ok(Config {
            addr,
            org,
            auto_approve: self.auto_approve,
            token_ttl: self.token_ttl,
            legacy_token_ttl: self.legacy_token_ttl,
            role_ttl: self.role_ttl,
            device_code_ttl: self.device_code_ttl,
            poll_interval: self.poll_interval,
            latency: Duration::from_millis(self.latency_ms),
            rate_limit: self.rate_limit,
            fault_rate: self.fault_rate,
            clock_offset: self.clock_offset,
        })
    }
}

pub fn run(cmd: EmulatorCommand) -> anyhow::Result<i32> {
    match cmd {
        EmulatorCommand::Serve(args) => serve(&args),
    }
}

fn serve(args: &ServeArgs) -> anyhow::Result<i32> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("building the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr).await.map_err(|e| {
            Error::user(format!("cannot listen on {}: {e}", config.addr))
                .hint("pick another --addr (port 0 picks a free port)")
        })?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip([127, 0, 0, 1].into());
        }
        // Ready for a signal before announcing the URL.
        let shutdown = crate::net::shutdown_signal();
        // The base URL is the one line scripts read from stdout.
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "http://{addr}")?;
        stdout.flush()?;
        drop(stdout);
        emulator::serve(listener, config, shutdown).await
    })?;
    Ok(0)
}
