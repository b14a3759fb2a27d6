//! The keyless binary that `credential_process` lines run, and whether it is safe to point
//! every AWS tool at it.
//!
//! A `credential_process` line makes every later AWS call run whatever sits at that path. If
//! the binary, or any directory above it, can be written by another user (a group-writable
//! folder, `/tmp` even with its sticky bit, a world-writable Downloads folder), that user can
//! put their own program there and receive every role's credentials. So keyless refuses to
//! write such a line unless the user passes [`OVERRIDE_FLAG`], and `doctor` reports profiles
//! that already point at such a path.
//!
//! The check reads Unix permission bits. On Windows, ACLs decide who may write a folder and
//! keyless does not judge them: the check finds nothing there (see docs/security-model.md).

use std::path::{Path, PathBuf};

use crate::error::Error;

/// The flag that writes a `credential_process` line to a binary others can replace.
pub const OVERRIDE_FLAG: &str = "--allow-binary-writable-by-others";

/// The absolute, symlink-free path of this keyless binary.
pub fn current() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::user(format!("cannot find the keyless binary's path: {e}")))?;
    Ok(plain_path(std::fs::canonicalize(&exe).unwrap_or(exe)))
}

/// Windows canonicalizes to a verbatim path (`\\?\C:\…`, `\\?\UNC\server\share\…`) that
/// `cmd.exe` and the AWS CLI do not run: back to `C:\…` and `\\server\share\…`.
fn plain_path(p: PathBuf) -> PathBuf {
    let Some(s) = p.to_str() else { return p };
    if let Some(rest) = s.strip_prefix(r"\\?\UNC\") {
        return PathBuf::from(format!(r"\\{rest}"));
    }
    match s.strip_prefix(r"\\?\") {
        Some(rest) if rest.as_bytes().get(1) == Some(&b':') => PathBuf::from(rest),
        _ => p,
    }
}

/// Why another user could replace what runs at `binary`: the first of the binary and the
/// directories above it that its group or every user may write, with its mode. `None` when
/// only its owner can (or on a system without Unix permission bits).
#[cfg(unix)]
pub fn writable_by_others(binary: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    for p in binary.ancestors() {
        let Ok(meta) = std::fs::metadata(p) else { continue };
        let mode = meta.permissions().mode();
        if mode & 0o022 == 0 {
            continue;
        }
        let who = if mode & 0o002 != 0 { "every user" } else { "its group" };
        let what = if p == binary { "the binary" } else { "the directory" };
        let sticky = if meta.is_dir() && mode & 0o1000 != 0 {
            " (its sticky bit does not stop another user from creating the path)"
        } else {
            ""
        };
        return Some(format!(
            "{what} {} is writable by {who} (mode {:o}){sticky}",
            p.display(),
            mode & 0o7777
        ));
    }
    None
}

/// On Windows, folder ACLs decide who may write; keyless does not judge them.
#[cfg(not(unix))]
pub fn writable_by_others(_binary: &Path) -> Option<String> {
    None
}

/// The path to write into `credential_process` lines: this binary, refused (nothing written
/// yet) when the AWS tools would read its path differently, or when another user could
/// replace it unless `allow` (the user passed [`OVERRIDE_FLAG`]).
pub fn for_profiles(allow: bool) -> anyhow::Result<PathBuf> {
    let binary = current()?;
    crate::aws_config::profiles::check_binary_path(&binary)?;
    check(&binary, allow)?;
    Ok(binary)
}

/// The refusal of [`for_profiles`], for a given path.
pub fn check(binary: &Path, allow: bool) -> anyhow::Result<()> {
    let Some(why) = writable_by_others(binary) else { return Ok(()) };
    if allow {
        crate::ui::note(format!(
            "warning: {why}; profiles will run {} anyway ({OVERRIDE_FLAG})",
            binary.display()
        ));
        return Ok(());
    }
    Err(Error::user(format!(
        "keyless will not point AWS tools at {}: {why}, so another user could replace it and receive your credentials",
        binary.display()
    ))
    .hint(format!(
        "install keyless where only you (or root) can write, e.g. `install -m 755 {} ~/.local/bin/` (then run that copy), or pass {OVERRIDE_FLAG} to accept the risk",
        binary.display()
    ))
    .into())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn binary_paths_lose_the_windows_verbatim_prefix() {
        for (canonical, plain) in [
            (r"\\?\C:\Program Files\keyless\keyless.exe", r"C:\Program Files\keyless\keyless.exe"),
            (r"\\?\UNC\server\share\keyless.exe", r"\\server\share\keyless.exe"),
            (r"\\?\Volume{0}\keyless.exe", r"\\?\Volume{0}\keyless.exe"),
            ("/usr/local/bin/keyless", "/usr/local/bin/keyless"),
        ] {
            assert_eq!(plain_path(PathBuf::from(canonical)), PathBuf::from(plain));
        }
    }
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_path_others_can_write_is_named() {
        let dir = std::env::temp_dir().join(format!("keyless-exe-{}", crate::util::random_hex(4)));
        let inner = dir.join("bin");
        std::fs::create_dir_all(&inner).unwrap();
        let bin = inner.join("keyless");
        std::fs::write(&bin, "").unwrap();
        let set = |p: &Path, m: u32| std::fs::set_permissions(p, PermissionsExt::from_mode(m));
        set(&bin, 0o755).unwrap();
        set(&inner, 0o755).unwrap();
        set(&dir, 0o700).unwrap();
        // Whatever is above the test's directory (a sticky /tmp) is judged too.
        let above = writable_by_others(&dir);
        if above.is_none() {
            assert_eq!(writable_by_others(&bin), None);
        }
        set(&inner, 0o775).unwrap();
        let why = writable_by_others(&bin).unwrap();
        assert!(why.contains(&inner.display().to_string()) && why.contains("its group"), "{why}");
        set(&bin, 0o777).unwrap();
        let why = writable_by_others(&bin).unwrap();
        assert!(why.starts_with("the binary") && why.contains("every user"), "{why}");
        let err = check(&bin, false).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 1);
        assert!(crate::error::render(&err).contains(OVERRIDE_FLAG));
        check(&bin, true).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_sticky_world_writable_directory_counts() {
        let why = writable_by_others(Path::new("/tmp/keyless-not-there/keyless"));
        // /tmp is 1777 on every Unix this runs on.
        let why = why.expect("/tmp is writable by every user");
        assert!(why.contains("/tmp") && why.contains("sticky"), "{why}");
    }
}
