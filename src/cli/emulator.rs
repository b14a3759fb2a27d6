//! `keyless emulator serve`: runs the local Identity Center until SIGINT/SIGTERM.

use clap::{Args, Subcommand};

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
}

pub fn run(cmd: EmulatorCommand) -> anyhow::Result<i32> {
    match cmd {
        EmulatorCommand::Serve(_args) => {
            anyhow::bail!("the emulator is not built yet")
        }
    }
}
