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
