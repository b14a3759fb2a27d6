//! `keyless completions SHELL` and `keyless man`: shell completions and manual pages, both
//! generated from the same clap definitions as the parser, so they never drift from it.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory};

use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `keyless.1` and one page per subcommand (`keyless-login.1`, ...) into this
    /// directory instead of printing `keyless.1` to stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The completion script for `shell`.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<String> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "keyless", &mut out);
    String::from_utf8(out).context("the completion script is not UTF-8")
}

/// Renders one page with roff.
fn render(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out).context("rendering the manual page")?;
    Ok(out)
}

/// `keyless.1` as text, or, with `--out`, every page written to the directory (the paths
/// written are returned, one per line).
pub fn man(args: &ManArgs) -> anyhow::Result<String> {
    let mut cmd = Cli::command();
    cmd.build();
    let Some(dir) = &args.out else {
        return String::from_utf8(render(cmd)?).context("the manual page is not UTF-8");
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    let mut write = |name: String, page: Vec<u8>| -> anyhow::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.display().to_string());
        Ok(())
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        let name = format!("keyless-{}", sub.get_name());
        let page = render(sub.clone().display_name(name.clone()).bin_name(name.clone()))?;
        write(format!("{name}.1"), page)?;
    }
    write("keyless.1".into(), render(cmd)?)?;
    Ok(written.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        use clap::ValueEnum;
        for shell in clap_complete::Shell::value_variants() {
            let script = completions(&CompletionsArgs { shell: *shell }).unwrap();
            assert!(script.contains("credential-process"), "{shell}: {script}");
        }
    }

    #[test]
    fn the_man_page_is_roff_for_keyless() {
        let page = man(&ManArgs { out: None }).unwrap();
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{}", &page[..80]);
        assert!(page.contains(".TH keyless 1"), "{page}");
        assert!(page.contains("completions"));
    }
}
