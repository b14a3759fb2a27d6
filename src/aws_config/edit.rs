//! The IO edge: one locked read-modify-write of a config or credentials file.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use keyless::aws_config::{edit::{Backup, ConfigEdit}, ini::Header, paths};
//! let mut edit = ConfigEdit::open(paths::config_path()?)?;
//! edit.document_mut().upsert_section(&Header::Profile("dev".into()), &[("region", "eu-west-1")])?;
//! let diff = edit.diff(); // show it, ask, then:
//! edit.commit(Backup::Keep)?;
//! # Ok(()) }
//! ```
//!
//! [`ConfigEdit::open`] takes an exclusive lock on a sibling file (`config.keyless.lock`), so
//! two keyless processes never interleave their edits; the lock is released when the edit is
//! committed or dropped. [`ConfigEdit::commit`] writes nothing when nothing changed; otherwise
//! it keeps a backup of the previous content (if asked; secrets redacted, mode 0600), then
//! writes a temp file in the same directory, syncs it and renames it over the file, so a
//! reader sees the old file or the new one, never half of one. The file keeps its permissions; a new file gets 0600 and a new
//! directory 0700. A symlinked file (dotfile managers) is edited through the link: the target
//! is replaced, the link stays.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::diff;
use super::ini::Document;
use crate::error::Error;

/// How many backups of each file are kept; older ones are deleted.
pub const BACKUPS_KEPT: usize = 5;

/// How long [`ConfigEdit::open`] waits for another keyless to finish its edit.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether [`ConfigEdit::commit`] keeps a copy of the previous content.
///
/// A backup is how a user recovers from an edit they did not want: use [`Backup::Keep`]. A
/// backup never holds a secret (`aws_secret_access_key` and session-token lines are replaced
/// by a comment, in the config file as in the credentials file) and is always written 0600.
/// Edits that only remove keys use [`Backup::None`]: with the secret gone, a backup would
/// hold nothing the new file does not. The choice is the caller's, and explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backup {
    Keep,
    None,
}

/// What [`ConfigEdit::commit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Whether the file was written (false when the edit changed nothing).
    pub changed: bool,
    /// Where the previous content was saved, if a backup was taken.
    pub backup: Option<PathBuf>,
}

/// A locked, in-progress edit of one file. `Debug` shows no content: a credentials file
/// holds secrets.
pub struct ConfigEdit {
    /// The path as given (shown to the user).
    path: PathBuf,
    /// The file actually written: `path`, or the target of the symlink at `path`.
    target: PathBuf,
    original: String,
    existed: bool,
    document: Document,
    _lock: File,
}

impl std::fmt::Debug for ConfigEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigEdit")
            .field("path", &self.path)
            .field("existed", &self.existed)
            .field("changed", &self.is_changed())
            .finish()
    }
}

fn io_error(action: &str, path: &Path, err: io::Error) -> anyhow::Error {
    let hint = match err.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            format!("check that you can write to {}", path.display())
        }
        _ => format!("check {}", path.display()),
    };
    Error::user(format!("cannot {action} {}: {err}", path.display())).hint(hint).into()
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned())
}

#[cfg(unix)]
fn create_dir_private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_dir_private(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

impl ConfigEdit {
    /// Locks `path` against other keyless processes (waiting up to [`LOCK_TIMEOUT`]) and
    /// reads it. A missing file reads as empty; its directory is created (0700) to hold the
    /// lock.
    pub fn open(path: impl Into<PathBuf>) -> anyhow::Result<ConfigEdit> {
        Self::open_with_timeout(path, LOCK_TIMEOUT)
    }

    /// [`ConfigEdit::open`] with a chosen lock wait.
    pub fn open_with_timeout(
        path: impl Into<PathBuf>,
        timeout: Duration,
    ) -> anyhow::Result<ConfigEdit> {
        let path = path.into();
        let target = match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(&path).map_err(|e| io_error("follow the link", &path, e))?
            }
            _ => path.clone(),
        };
        let dir = parent_of(&target);
        if !dir.exists() {
            create_dir_private(dir).map_err(|e| io_error("create the directory", dir, e))?;
        }
        let lock = lock_file(&target, timeout)?;
        let (original, existed) = match fs::read(&target) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    Error::user(format!(
                        "{} is not valid UTF-8; keyless will not edit it",
                        path.display()
                    ))
                    .hint("neither AWS SDK reads such a file: fix or re-save it as UTF-8")
                })?;
                (text, true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (String::new(), false),
            Err(e) => return Err(io_error("read", &path, e)),
        };
        let document = Document::parse(&original);
        Ok(ConfigEdit { path, target, original, existed, document, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file existed when the edit was opened.
    pub fn existed(&self) -> bool {
        self.existed
    }

    pub fn document(&self) -> &Document {
        &self.document
    }

    pub fn document_mut(&mut self) -> &mut Document {
        &mut self.document
    }

    /// The content as read, before any change.
    pub fn original(&self) -> &str {
        &self.original
    }

    pub fn is_changed(&self) -> bool {
        self.document.to_string() != self.original
    }

    /// A unified diff of the file as read against the edited document (3 lines of context);
    /// empty when nothing changed. Secret values (`aws_secret_access_key`, session tokens) are
    /// masked on both sides: the diff is printed, and a terminal's scrollback is no place for
    /// a key, not even one that is being removed.
    pub fn diff(&self) -> String {
        let shown = self.path.display().to_string();
        let old = super::ini::mask_secret_values(&self.original);
        let new = super::ini::mask_secret_values(&self.document.to_string());
        diff::unified(&old, &new, &shown, &shown, 3)
    }

    /// Writes the edited document (when it differs from what was read), then releases the
    /// lock. On failure the file is left as it was and no temp file is left behind.
    pub fn commit(self, backup: Backup) -> anyhow::Result<Commit> {
        let new = self.document.to_string();
        if new == self.original {
            return Ok(Commit { changed: false, backup: None });
        }
        let dir = parent_of(&self.target);
        if !dir.exists() {
            create_dir_private(dir).map_err(|e| io_error("create the directory", dir, e))?;
        }
        let mode = current_mode(&self.target);
        let saved = match backup {
            Backup::Keep if self.existed => {
                Some(write_backup(&self.target, &backup_content(&self.original)).with_context(
                    || format!("backing up {} before editing it", self.path.display()),
                )?)
            }
            _ => None,
        };
        write_atomic(&self.target, new.as_bytes(), mode)?;
        if saved.is_some() {
            // Pruning is housekeeping: a failure to delete an old backup does not undo the edit.
            let _ = prune_backups(&self.target, BACKUPS_KEPT);
        }
        Ok(Commit { changed: true, backup: saved })
    }
}

/// The lock file for `path`: `<dir>/<name>.keyless.lock`. It is never deleted (deleting a lock
/// file races with a process about to lock it); the OS releases the lock when the process exits.
/// Reads an AWS config or credentials file for inspection (no lock): a missing file is an
/// empty document, any other read failure an error naming the path. Never treat an unreadable
/// file as empty: decisions (collisions, keys to retire) would be made on nothing.
pub fn read_document(path: &Path) -> anyhow::Result<Document> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Document::parse(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Document::parse("")),
        // Not a permissions problem: say what is wrong with the file.
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(Error::user(format!(
            "{} is not valid UTF-8; keyless will not read it",
            path.display()
        ))
        .hint("neither AWS SDK reads such a file: fix or re-save it as UTF-8")
        .into()),
        Err(e) => Err(Error::user(format!("cannot read {}: {e}", path.display()))
            .hint(format!("check the permissions of {}", path.display()))
            .into()),
    }
}

pub fn lock_path(path: &Path) -> PathBuf {
    parent_of(path).join(format!("{}.keyless.lock", file_name(path)))
}

fn lock_file(target: &Path, timeout: Duration) -> anyhow::Result<File> {
    let lock_path = lock_path(target);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_error("create the lock file", &lock_path, e))?;
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::user(format!(
                    "another keyless process is editing {} (it holds {})",
                    target.display(),
                    lock_path.display()
                ))
                .hint("wait for the other keyless command to finish, then run this one again")
                .into());
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_error("lock", &lock_path, e)),
        }
    }
}

#[cfg(unix)]
fn current_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn current_mode(_path: &Path) -> u32 {
    0o600
}

/// Creates `path` (which must not exist) with exactly `mode`, writes `bytes` and syncs.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // Set after creation so the umask cannot narrow or the open widen it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Temp file in the same directory, synced, renamed over `path`; the directory is synced too.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = parent_of(path);
    let tmp = dir.join(format!(".{}.keyless-tmp-{}", file_name(path), crate::util::random_hex(6)));
    let result = write_new(&tmp, bytes, mode).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("write", path, e));
    }
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

const BACKUP_MARK: &str = ".keyless-backup-";

/// Mode of every backup, whatever the mode of the file it copies: a backup is for its owner.
pub const BACKUP_MODE: u32 = 0o600;

/// What a backup keeps of `original`: everything but secrets. SDKs read access keys from the
/// config file too, so any file keyless edits may hold one; each secret line becomes a
/// comment saying it was removed (see [`Document::redact_secrets`]).
fn backup_content(original: &str) -> String {
    let mut doc = Document::parse(original);
    if doc.redact_secrets() == 0 {
        return original.to_string();
    }
    doc.to_string()
}

/// Saves `content` as `<name>.keyless-backup-<UTC time>` (mode [`BACKUP_MODE`]), with `-N`
/// after the highest number already used in that second (so names keep sorting oldest first
/// after pruning).
fn write_backup(target: &Path, content: &str) -> anyhow::Result<PathBuf> {
    let stamp = crate::time::amz_date(crate::time::now());
    let base = parent_of(target).join(format!("{}{BACKUP_MARK}{stamp}", file_name(target)));
    let mut n = backup_entries(target)
        .into_iter()
        .filter(|(s, _, _)| *s == stamp)
        .map(|(_, n, _)| n + 1)
        .max()
        .unwrap_or(0);
    loop {
        let candidate =
            if n == 0 { base.clone() } else { PathBuf::from(format!("{}-{n}", base.display())) };
        match write_new(&candidate, content.as_bytes(), BACKUP_MODE) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(io_error("write the backup", &candidate, e)),
        }
    }
}

/// The backups of `target`, oldest first.
pub fn backups(target: &Path) -> Vec<PathBuf> {
    backup_entries(target).into_iter().map(|(_, _, p)| p).collect()
}

/// (timestamp, number, path) of each backup, sorted oldest first.
fn backup_entries(target: &Path) -> Vec<(String, u64, PathBuf)> {
    let prefix = format!("{}{BACKUP_MARK}", file_name(target));
    let mut found: Vec<(String, u64, PathBuf)> = fs::read_dir(parent_of(target))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(&prefix)?;
            let (stamp, n) = match rest.split_once('-') {
                Some((stamp, n)) => (stamp.to_string(), n.parse().ok()?),
                None => (rest.to_string(), 0),
            };
            Some((stamp, n, entry.path()))
        })
        .collect();
    found.sort();
    found
}

fn prune_backups(target: &Path, keep: usize) -> io::Result<()> {
    let all = backups(target);
    for old in &all[..all.len().saturating_sub(keep)] {
        fs::remove_file(old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_document_treats_only_a_missing_file_as_empty() {
        let dir = std::env::temp_dir().join(format!("keyless-read-{}", crate::util::random_hex(4)));
        fs::create_dir_all(&dir).unwrap();
        assert!(read_document(&dir.join("missing")).unwrap().is_empty());
        fs::write(dir.join("config"), "[profile a]\nregion = x\n").unwrap();
        assert_eq!(
            read_document(&dir.join("config")).unwrap().to_string(),
            "[profile a]\nregion = x\n"
        );
        // Something that exists but cannot be read (here a directory) is an error naming it,
        // not an empty file on which to decide what to write or retire.
        let err = read_document(&dir).unwrap_err();
        assert!(crate::error::render(&err).contains(&dir.display().to_string()), "{err}");
        assert_eq!(crate::error::exit_code(&err), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
