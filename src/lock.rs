//! Cross-process locks (single flight): one lock file per session or role, held with an OS
//! advisory lock, so the kernel releases it when a holder crashes. Waiting is bounded.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use sha1::{Digest, Sha1};

/// A held lock; released on drop (and by the OS if the process dies).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// The directory for lock files: `$XDG_RUNTIME_DIR/keyless`, else `~/.cache/keyless/locks`.
/// Lock files are empty; they carry no secret.
pub fn dir() -> PathBuf {
    if let Some(rt) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(rt).join("keyless");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("keyless").join("locks")
}

fn path_for(name: &str) -> PathBuf {
    let digest = Sha1::digest(format!("{}\0{name}", crate::store::namespace()).as_bytes());
    dir().join(format!("{}.lock", &hex::encode(digest)[..20]))
}

fn create_dir(dir: &PathBuf) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Takes the lock called `name`, waiting at most `timeout`.
pub fn acquire(name: &str, timeout: Duration) -> anyhow::Result<FileLock> {
    let path = path_for(name);
    let dir = dir();
    create_dir(&dir).with_context(|| format!("creating the lock directory {}", dir.display()))?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FileLock { _file: file }),
            Err(TryLockError::WouldBlock) => {
                if start.elapsed() >= timeout {
                    return Err(crate::error::Error::user(format!(
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
