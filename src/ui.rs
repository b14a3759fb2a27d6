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

/// Writes one line to stderr, with control characters escaped (see [`escape`]).
pub fn note(msg: impl AsRef<str>) {
    let _ = writeln!(std::io::stderr().lock(), "{}", escape(msg.as_ref()));
}

/// An error unless a browser may be sent to `url`: `https`, or `http` to this machine (the local
/// Identity Center). Addresses that come from servers or from configuration, such as a device
/// sign-in's verification page, must not reach a file, another scheme's handler, a plain-http
/// page elsewhere, or a host hidden behind `user@`; a person is not told to open them either.
pub fn check_browsable(url: &str) -> anyhow::Result<()> {
    if crate::sso::endpoints::browsable(url) {
        return Ok(());
    }
    Err(crate::error::Error::user(format!(
        "keyless will not open `{url}` in a browser: it opens only https addresses (and http to this machine)"
    ))
    .hint("do not open it yourself unless you know where it leads: keyless builds it from the SSO start URL in your AWS config (`sso_start_url`) and the endpoint variables (AWS_ENDPOINT_URL_*) if you set any, so check those")
    .into())
}

/// Opens `url` in the user's browser, only if [`check_browsable`] allows it.
/// `no_browser_hint` is the next step when no browser can be started.
pub fn open_in_browser(url: &str, no_browser_hint: &str) -> anyhow::Result<()> {
    check_browsable(url)?;
    webbrowser::open(url).map_err(|e| {
        crate::error::Error::user(format!("could not open a browser: {e}"))
            .hint(no_browser_hint)
            .into()
    })
}

/// keyless's own styling: the only escape sequences [`escape`] lets through.
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// `text` in bold when colour is allowed.
pub fn bold(text: &str) -> String {
    if fancy_stderr() { format!("{BOLD}{text}{RESET}") } else { text.to_string() }
}

/// Text made safe for a terminal. Much of what keyless shows comes from elsewhere: service
/// error messages, account and role names, team-file values, a browser's callback. A control
/// character in it could move the cursor, rewrite earlier lines, retitle the window or hide
/// text, so every control character (C0 except newline and tab, DEL, C1) and every Unicode
/// bidirectional override is shown as a visible `\u{..}` escape instead. The exceptions are
/// keyless's own bold and reset sequences from [`bold`], which change nothing but weight.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(style) = [BOLD, RESET].into_iter().find(|s| rest.starts_with(s)) {
            out.push_str(style);
            rest = &rest[style.len()..];
            continue;
        }
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
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
        let message = escape(message).into_owned();
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
        theme()
    }

    /// A yes/no question; `--yes` answers yes.
    pub fn confirm(&self, question: &str, default: bool) -> anyhow::Result<bool> {
        if self.assume_yes {
            return Ok(true);
        }
        if !self.interactive {
            return Err(self.cannot_ask(question));
        }
        ask(|| {
            dialoguer::Confirm::with_theme(self.theme().as_ref())
                .with_prompt(escape(question))
                .default(default)
                .wait_for_newline(true)
                .interact()
        })
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
            .with_prompt(escape(question))
            .validate_with(move |s: &String| validate(s.trim()));
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        ask(|| input.interact_text()).map(|s| s.trim().to_string())
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
        ask(|| {
            dialoguer::MultiSelect::with_theme(self.theme().as_ref())
                .with_prompt(escape(&format!("{question} (space to toggle, enter to accept)")))
                .items(items.iter().map(|i| escape(i)))
                .defaults(chosen)
                .max_length(15)
                .interact()
        })
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
        ask(|| {
            dialoguer::Select::with_theme(self.theme().as_ref())
                .with_prompt(escape(question))
                .items(items.iter().map(|i| escape(i)))
                .default(default)
                .max_length(15)
                .interact()
        })
    }
}

/// Pick one of `items` by typing part of it (fuzzy match); returns its index. Only on a
/// terminal: the caller says which flag replaces the question when there is none.
pub fn fuzzy_pick(question: &str, items: &[String]) -> anyhow::Result<usize> {
    ask(|| {
        dialoguer::FuzzySelect::with_theme(theme().as_ref())
            .with_prompt(escape(&format!(
                "{question} (type to filter, enter to choose, esc to cancel)"
            )))
            .items(items.iter().map(|i| escape(i)))
            .default(0)
            .max_length(15)
            .interact_opt()
    })?
    .ok_or_else(|| crate::error::Error::user("cancelled").into())
}

fn theme() -> Box<dyn dialoguer::theme::Theme> {
    if fancy_stderr() {
        Box::new(dialoguer::theme::ColorfulTheme::default())
    } else {
        Box::new(dialoguer::theme::SimpleTheme)
    }
}

/// Runs a prompt. On Ctrl-C the prompt library leaves the cursor hidden and raises SIGINT; while
/// the prompt is up that signal does not stop keyless, so the cursor is shown again first, and
/// then keyless stops by SIGINT after all, as any program does on Ctrl-C.
fn ask<T>(prompt: impl FnOnce() -> dialoguer::Result<T>) -> anyhow::Result<T> {
    let dialoguer::Error::IO(io) = match interrupt::held(prompt) {
        Ok(answer) => return Ok(answer),
        Err(e) => e,
    };
    if io.kind() == std::io::ErrorKind::Interrupted {
        let _ = dialoguer::console::Term::stderr().show_cursor();
        eprintln!();
        interrupt::stop();
    }
    Err(crate::error::Error::user(format!("cannot read the answer from the terminal: {io}")).into())
}

/// What SIGINT does: stop keyless (the default), except while a prompt holds it, and never where
/// a command handles it itself (`serve`, `exec --server`).
#[cfg(unix)]
pub mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::{Arc, OnceLock};

    use signal_hook::consts::SIGINT;

    /// Whether SIGINT stops keyless now: the action registered at the first prompt (none
    /// before, so until then SIGINT keeps its default).
    static STOPS: OnceLock<Option<Arc<AtomicBool>>> = OnceLock::new();
    static HANDLED_ELSEWHERE: AtomicBool = AtomicBool::new(false);

    /// Runs `f` with SIGINT held: it does not stop keyless until `f` returns.
    pub fn held<T>(f: impl FnOnce() -> T) -> T {
        let stops = STOPS.get_or_init(|| {
            let flag = Arc::new(AtomicBool::new(true));
            signal_hook::flag::register_conditional_default(SIGINT, flag.clone()).ok().map(|_| flag)
        });
        if let Some(s) = stops {
            s.store(false, SeqCst);
        }
        let out = f();
        if let Some(s) = stops {
            s.store(!HANDLED_ELSEWHERE.load(SeqCst), SeqCst);
        }
        out
    }

    /// The command handles SIGINT itself from now on: after a prompt, keyless must not stop on
    /// it behind the command's back.
    pub fn handled_elsewhere() {
        HANDLED_ELSEWHERE.store(true, SeqCst);
        if let Some(Some(s)) = STOPS.get() {
            s.store(false, SeqCst);
        }
    }

    /// Stops keyless by SIGINT, as the signal's default action would.
    pub fn stop() -> ! {
        let _ = signal_hook::low_level::emulate_default_handler(SIGINT);
        std::process::exit(130)
    }
}

#[cfg(not(unix))]
pub mod interrupt {
    pub fn held<T>(f: impl FnOnce() -> T) -> T {
        f()
    }

    pub fn handled_elsewhere() {}

    pub fn stop() -> ! {
        std::process::exit(130)
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape("plain text\nnext\tline"), "plain text\nnext\tline");
        assert_eq!(escape("a\x1b]0;title\x07b"), "a\\u{1b}]0;title\\u{7}b");
        assert_eq!(escape("x\ry\u{9b}2J\u{7f}"), "x\\u{d}y\\u{9b}2J\\u{7f}");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("\x1b[1mtitle\x1b[0m \x1b[2J"), "\x1b[1mtitle\x1b[0m \\u{1b}[2J");
    }
}
