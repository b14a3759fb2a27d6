//! The only place that talks to a person: messages on stderr, the progress spinner, and
//! whether a prompt is possible. stdout belongs to command output (and, for
//! `credential-process`, to the one JSON document).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether stderr is a terminal that may show a spinner and colour.
pub fn fancy_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether keyless may ask a question: stdin and stderr are terminals.
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Writes one line to stderr.
pub fn note(msg: impl AsRef<str>) {
    let _ = writeln!(std::io::stderr().lock(), "{}", msg.as_ref());
}

/// `text` in bold when colour is allowed.
pub fn bold(text: &str) -> String {
    if fancy_stderr() { format!("\x1b[1m{text}\x1b[0m") } else { text.to_string() }
}

/// A spinner with the time left, on stderr, while a future runs. Silent when stderr is not a
/// terminal or `NO_COLOR` is set.
pub struct Spinner {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    pub fn start(message: &str, deadline: Instant) -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        if !fancy_stderr() {
            return Spinner { stop, thread: None };
        }
        let flag = stop.clone();
        let message = message.to_string();
        let thread = std::thread::spawn(move || {
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                let left = deadline.saturating_duration_since(Instant::now()).as_secs();
                let _ = write!(
                    std::io::stderr().lock(),
                    "\r\x1b[2K{} {message} ({}:{:02} left)",
                    FRAMES[i % FRAMES.len()],
                    left / 60,
                    left % 60
                );
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        });
        Spinner { stop, thread: Some(thread) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Questions to a person, through the one gate that knows whether asking is possible.
///
/// With `assume_yes` every confirmation is answered yes and nothing else may be asked (the
/// caller must have the answers from flags or a team file). Without a terminal every question
/// is an error that names `--yes`: keyless never waits on a prompt nobody can see.
#[derive(Debug, Clone, Copy)]
pub struct Prompter {
    assume_yes: bool,
    interactive: bool,
}

impl Prompter {
    /// A prompter for this process: interactive when stdin and stderr are terminals.
    pub fn new(assume_yes: bool) -> Prompter {
        Prompter { assume_yes, interactive: can_prompt() }
    }

    /// Whether questions can be put to a person (not `--yes`, and a terminal).
    pub fn interactive(&self) -> bool {
        self.interactive && !self.assume_yes
    }

    pub fn assume_yes(&self) -> bool {
        self.assume_yes
    }

    /// The error for a question that cannot be asked.
    fn cannot_ask(&self, question: &str) -> anyhow::Error {
        let (message, hint) = if self.assume_yes {
            (
                format!(
                    "keyless needs an answer to \"{question}\", and --yes answers only yes/no questions"
                ),
                "give the answer with a flag or in the team file (--team FILE)",
            )
        } else {
            (
                format!(
                    "keyless needs an answer to \"{question}\" but there is no terminal to ask on"
                ),
                "run it in a terminal, or pass --yes (with --team FILE) to run without questions",
            )
        };
        crate::error::Error::user(message).hint(hint).into()
    }

    fn theme(&self) -> Box<dyn dialoguer::theme::Theme> {
        if fancy_stderr() {
            Box::new(dialoguer::theme::ColorfulTheme::default())
        } else {
            Box::new(dialoguer::theme::SimpleTheme)
        }
    }

    /// A yes/no question; `--yes` answers yes.
    pub fn confirm(&self, question: &str, default: bool) -> anyhow::Result<bool> {
        if self.assume_yes {
            return Ok(true);
        }
        if !self.interactive {
            return Err(self.cannot_ask(question));
        }
        dialoguer::Confirm::with_theme(self.theme().as_ref())
            .with_prompt(question)
            .default(default)
            .wait_for_newline(true)
            .interact()
            .map_err(prompt_error)
    }

    /// A line of text, checked by `validate` (asked again until it passes).
    pub fn input(
        &self,
        question: &str,
        default: Option<&str>,
        validate: impl Fn(&str) -> Result<(), String> + 'static,
    ) -> anyhow::Result<String> {
        if !self.interactive() {
            return Err(self.cannot_ask(question));
        }
        let theme = self.theme();
        let mut input = dialoguer::Input::<String>::with_theme(theme.as_ref())
            .with_prompt(question)
            .validate_with(move |s: &String| validate(s.trim()));
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        input.interact_text().map(|s| s.trim().to_string()).map_err(prompt_error)
    }

    /// Pick any number of `items` (space toggles, enter accepts); returns their indexes.
    pub fn multi_select(
        &self,
        question: &str,
        items: &[String],
        chosen: &[bool],
    ) -> anyhow::Result<Vec<usize>> {
        if !self.interactive() {
            return Err(self.cannot_ask(question));
        }
        dialoguer::MultiSelect::with_theme(self.theme().as_ref())
            .with_prompt(format!("{question} (space to toggle, enter to accept)"))
            .items(items)
            .defaults(chosen)
            .max_length(15)
            .interact()
            .map_err(prompt_error)
    }

    /// Pick one of `items`; returns its index.
    pub fn select(
        &self,
        question: &str,
        items: &[String],
        default: usize,
    ) -> anyhow::Result<usize> {
        if !self.interactive() {
            return Err(self.cannot_ask(question));
        }
        dialoguer::Select::with_theme(self.theme().as_ref())
            .with_prompt(question)
            .items(items)
            .default(default)
            .max_length(15)
            .interact()
            .map_err(prompt_error)
    }
}

fn prompt_error(e: dialoguer::Error) -> anyhow::Error {
    let dialoguer::Error::IO(io) = e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        crate::error::Error::user("cancelled").into()
    } else {
        crate::error::Error::user(format!("cannot read the answer from the terminal: {io}")).into()
    }
}
