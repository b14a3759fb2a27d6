//! The profiles used most recently, so the profile picker can list them first.
//!
//! The list holds profile names only (no secret, nothing an AWS file does not already hold),
//! one per line, most recent first, in `$XDG_STATE_HOME/keyless/recent-profiles` (default
//! `~/.local/state/keyless/`; `%LOCALAPPDATA%\keyless\` on Windows). Keeping it is best
//! effort: a list that cannot be read or written never fails a command.

use std::path::PathBuf;

/// How many names the list keeps.
const KEEP: usize = 50;

/// The file, whether or not it exists.
pub fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            if cfg!(windows) {
                std::env::var_os("LOCALAPPDATA").filter(|v| !v.is_empty()).map(PathBuf::from)
            } else {
                None
            }
        })
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("keyless").join("recent-profiles"))
}

/// The names in the list, most recent first (empty when there is none).
pub fn load() -> Vec<String> {
    path().and_then(|p| std::fs::read_to_string(p).ok()).map(|t| parse(&t)).unwrap_or_default()
}

fn parse(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// `list` with `name` moved to the front, at most [`KEEP`] long.
fn bump(mut list: Vec<String>, name: &str) -> Vec<String> {
    list.retain(|n| n != name);
    list.insert(0, name.to_string());
    list.truncate(KEEP);
    list
}

/// Records that `name` was just used. Errors are ignored: the list is a convenience.
pub fn record(name: &str) {
    // A name with a line break would corrupt the list; such a profile cannot be picked anyway.
    if name.is_empty() || name.contains(['\n', '\r']) {
        return;
    }
    let Some(p) = path() else { return };
    let list = bump(load(), name);
    if let Some(dir) = p.parent() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        if b.create(dir).is_err() {
            return;
        }
    }
    let mut text = list.join("\n");
    text.push('\n');
    let _ = crate::aws_config::edit::write_atomic(&p, text.as_bytes(), 0o600);
}

/// `names` ordered for the picker: those in `recent` first (most recent first), then the rest
/// in their own order. Names in `recent` that are not in `names` are left out.
pub fn order(names: &[String], recent: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in recent.iter().filter(|r| names.contains(r)).chain(names) {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_most_recent_use_goes_first_once() {
        let list = bump(v(&["a", "b", "c"]), "c");
        assert_eq!(list, v(&["c", "a", "b"]));
        assert_eq!(bump(list, "new"), v(&["new", "c", "a", "b"]));
    }

    #[test]
    fn the_list_stays_bounded() {
        let mut list = Vec::new();
        for i in 0..(KEEP + 10) {
            list = bump(list, &format!("p{i}"));
        }
        assert_eq!(list.len(), KEEP);
        assert_eq!(list[0], format!("p{}", KEEP + 9));
    }

    #[test]
    fn recent_profiles_come_first_and_gone_ones_are_dropped() {
        let names = v(&["default", "dev", "prod", "sandbox"]);
        let recent = v(&["prod", "deleted", "sandbox"]);
        assert_eq!(order(&names, &recent), v(&["prod", "sandbox", "default", "dev"]));
        assert_eq!(parse("prod\n\n  dev \n"), v(&["prod", "dev"]));
    }
}
