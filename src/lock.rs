//! Cross-process locks (single flight): one lock file per session or role, held with an OS
//! advisory lock, so the kernel releases it when a holder crashes. Waiting is bounded.
//!
//! The lock directory belongs to this user alone. Whoever can write into it can pre-create lock
//! files (and hold them, blocking every sign-in and refresh) or plant symlinks that keyless would
//! follow, so keyless only uses a directory that is owned by this user and closed to group and
//! others, never follows a symlink to a lock file, and stops with an error naming the fix
//! otherwise. There is no fallback to a shared directory such as `/tmp`.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use sha1::{Digest, Sha1};

use crate::error::Error;

/// A held lock; released on drop (and by the OS if the process dies).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// Where lock files go, before any check: `$XDG_RUNTIME_DIR/keyless` on Linux and other Unix
/// systems that have it, else `keyless/locks` in the per-user cache directory
/// (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
/// Windows). `None` when this user has no such directory.
fn location() -> Option<PathBuf> {
    if let Some(rt) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty())
        && cfg!(unix)
    {
        return Some(PathBuf::from(rt).join("keyless"));
    }
    Some(dirs::cache_dir()?.join("keyless").join("locks"))
}

/// The lock directory, created if needed (mode 0700 on Unix) and checked: a real directory (not
/// a symlink), owned by this user, with no access for group or others. Lock files are empty and
/// carry no secret; other per-user state that must not be shared can live here too.
pub fn dir() -> anyhow::Result<PathBuf> {
    let dir = location().ok_or_else(|| {
        Error::user("there is no private directory for keyless's lock files: neither XDG_RUNTIME_DIR nor a home directory is set")
            .hint("set HOME (or XDG_RUNTIME_DIR) to a directory that belongs to you")
    })?;
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(&dir).map_err(|e| {
        Error::user(format!("cannot create the lock directory {}: {e}", dir.display()))
            .hint("check the permissions of its parent directory, or set XDG_RUNTIME_DIR to a directory of yours")
    })?;
    check_private(&dir)?;
    Ok(dir)
}

/// Refuses a lock directory that someone else could write into.
#[cfg(unix)]
fn check_private(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("checking the lock directory {}", dir.display()))?;
    let problem = if !meta.file_type().is_dir() {
        Some("is not a directory (a symlink or a file is in its place)".to_string())
    } else if meta.uid() != rustix::process::geteuid().as_raw() {
        Some(format!("belongs to another user (uid {})", meta.uid()))
    } else if meta.mode() & 0o077 != 0 {
        Some(format!("is open to other users (mode {:o})", meta.mode() & 0o777))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(Error::user(format!(
            "the lock directory {} {p}; keyless only keeps its locks in a directory that is yours alone",
            dir.display()
        ))
        .hint(if meta.uid() == rustix::process::geteuid().as_raw() && meta.file_type().is_dir()
        {
            format!("run `chmod 700 {}`", dir.display())
        } else {
            format!(
                "remove {} (or ask the person who created it to), or set XDG_RUNTIME_DIR to a directory of yours",
                dir.display()
            )
        })
        .into()),
    }
}

/// On Windows the per-user local application data directory is private to the user through its
/// inherited access control list.
#[cfg(not(unix))]
fn check_private(dir: &Path) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("checking the lock directory {}", dir.display()))?;
    if meta.file_type().is_dir() {
        Ok(())
    } else {
        Err(Error::user(format!("the lock directory {} is not a directory", dir.display()))
            .hint(format!("remove {}", dir.display()))
            .into())
    }
}

/// Opens (creating) a lock file without following a symlink in its place.
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
        o.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    // FILE_FLAG_OPEN_REPARSE_POINT: open a symlink itself rather than what it points to.
    #[cfg(windows)]
    std::os::windows::fs::OpenOptionsExt::custom_flags(&mut o, 0x0020_0000);
    o.open(path)
}

/// The lock file for `name` in `dir` (its name is a digest: it says nothing about the session).
pub fn path_in(dir: &Path, name: &str) -> PathBuf {
    let digest = Sha1::digest(format!("{}\0{name}", crate::store::namespace()).as_bytes());
    dir.join(format!("{}.lock", &hex::encode(digest)[..20]))
}

/// Takes the lock called `name`, waiting at most `timeout`.
pub fn acquire(name: &str, timeout: Duration) -> anyhow::Result<FileLock> {
    let path = path_in(&dir()?, name);
    let file = open_lock_file(&path).map_err(|e| {
        if path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
            Error::user(format!(
                "the lock file {} is a symlink; keyless does not follow links in its lock directory",
                path.display()
            ))
            .hint(format!("delete {} (keyless recreates it)", path.display()))
            .into()
        } else {
            anyhow::Error::from(e).context(format!("opening the lock file {}", path.display()))
        }
    })?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FileLock { _file: file }),
            Err(TryLockError::WouldBlock) => {
                if start.elapsed() >= timeout {
                    return Err(Error::user(format!(
                        "another keyless process has held the lock for `{name}` for {}s",
                        timeout.as_secs()
                    ))
                    .hint(format!(
                        "wait for it to finish; if none is running, delete {}",
                        path.display()
                    ))
                    .into());
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
    }
}
