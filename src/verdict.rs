//! Single flight for failures: when the process holding a session's or a role's lock gets an
//! answer from AWS that another try cannot change (the session was revoked and its refresh
//! refused, the role is not assigned), it leaves that verdict next to the lock for a few
//! seconds. The processes that were waiting on the lock print the same message instead of
//! asking AWS again, so a burst of 50 callers costs AWS one call, not 50.
//!
//! A verdict holds only what a person sees (the message and its hint): never a token, a key or
//! anything else secret. Transient failures (throttling, server errors, the network) are never
//! recorded. Each verdict is bound to the session's *epoch*, a random value that every sign-in
//! and sign-out replaces, so a user who signs in again is never told they are still signed out,
//! not even by a process that was still working with the old token.

use std::io::{Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::error::{Error, Kind};

/// How long a verdict is reused: long enough for a burst of waiters to see it, short enough
/// that a fix made by an administrator (assigning the role) shows within seconds.
pub const TTL_MS: i64 = 10_000;

/// The most `KEYLESS_VERDICT_TTL_MS` may ask for: a verdict is kept seconds, never minutes.
const MAX_TTL_MS: i64 = 60_000;

/// [`TTL_MS`], or `KEYLESS_VERDICT_TTL_MS` (0 turns sharing failures off).
fn ttl_ms() -> i64 {
    std::env::var("KEYLESS_VERDICT_TTL_MS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(TTL_MS, |v| v.clamp(0, MAX_TTL_MS))
}

/// What a session's verdicts are bound to; read before the AWS call whose answer it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epoch(String);

#[derive(Serialize, Deserialize)]
struct Record {
    /// Epoch milliseconds when the verdict was recorded.
    at_ms: i64,
    epoch: String,
    kind: String,
    message: String,
    hint: Option<String>,
    sign_in: Option<String>,
}

/// The file for `name` in the lock directory (created and checked private by `lock::dir`).
fn file(name: &str, ext: &str) -> std::io::Result<PathBuf> {
    let dir = crate::lock::dir().map_err(|e| std::io::Error::other(e.to_string()))?;
    let digest = Sha1::digest(format!("{}\0{name}", crate::store::namespace()).as_bytes());
    Ok(dir.join(format!("{}.{ext}", &hex::encode(digest)[..20])))
}

/// Opens a file for reading without following a symlink planted in its place.
fn read_small(path: &PathBuf) -> Option<Vec<u8>> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut o,
        rustix::fs::OFlags::NOFOLLOW.bits() as i32,
    );
    let f = o.open(path).ok()?;
    let mut buf = Vec::new();
    f.take(16 * 1024).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// Writes `bytes` to `path` in one step (a private temporary file, then a rename).
fn write_atomic(path: &PathBuf, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", crate::util::random_hex(6)));
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let result = o
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The session's current epoch (empty before its first sign-in with this version).
pub fn epoch(session: &str) -> Epoch {
    let raw = file(&format!("epoch:{session}"), "epoch")
        .ok()
        .and_then(|p| read_small(&p))
        .unwrap_or_default();
    Epoch(String::from_utf8_lossy(&raw).trim().to_string())
}

/// Starts a new epoch for `session`: every verdict recorded so far stops counting at once.
/// Called after a sign-in has stored its token and after a sign-out.
pub fn new_epoch(session: &str) -> std::io::Result<()> {
    write_atomic(
        &file(&format!("epoch:{session}"), "epoch")?,
        crate::util::random_hex(16).as_bytes(),
    )
}

/// Whether a recorded verdict still counts now.
fn fresh(rec: &Record, epoch: &Epoch, now_ms: i64, ttl_ms: i64) -> bool {
    rec.epoch == epoch.0 && (0..ttl_ms).contains(&(now_ms - rec.at_ms))
}

/// The verdict recorded for the lock `name`, if one still counts.
pub fn check(name: &str, epoch: &Epoch) -> Option<anyhow::Error> {
    let raw = read_small(&file(name, "verdict").ok()?)?;
    let rec: Record = serde_json::from_slice(&raw).ok()?;
    if !fresh(&rec, epoch, crate::time::now_millis(), ttl_ms()) {
        return None;
    }
    let kind = match rec.kind.as_str() {
        "user" => Kind::User,
        "usage" => Kind::Usage,
        _ => Kind::Internal,
    };
    Some(Error { kind, message: rec.message, hint: rec.hint, sign_in: rec.sign_in }.into())
}

/// Records `err` as the verdict for the lock `name`, which the caller holds. Only a bare
/// keyless [`Error`] is recorded (what a waiter prints is then exactly what this process
/// prints). Best effort: a verdict that cannot be written only costs the waiters a call.
pub fn record(name: &str, epoch: &Epoch, err: &anyhow::Error) {
    if err.chain().count() != 1 {
        return;
    }
    let Some(e) = err.downcast_ref::<Error>() else { return };
    let rec = Record {
        at_ms: crate::time::now_millis(),
        epoch: epoch.0.clone(),
        kind: match e.kind {
            Kind::User => "user",
            Kind::Usage => "usage",
            Kind::Internal => "internal",
        }
        .into(),
        message: e.message.clone(),
        hint: e.hint.clone(),
        sign_in: e.sign_in.clone(),
    };
    if let Ok(bytes) = serde_json::to_vec(&rec)
        && let Ok(path) = file(name, "verdict")
    {
        let _ = write_atomic(&path, &bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at_ms: i64, epoch: &str) -> Record {
        Record {
            at_ms,
            epoch: epoch.into(),
            kind: "user".into(),
            message: "m".into(),
            hint: None,
            sign_in: None,
        }
    }

    #[test]
    fn a_verdict_counts_for_a_few_seconds_and_only_in_its_epoch() {
        let e = Epoch("a1".into());
        assert!(fresh(&rec(1_000, "a1"), &e, 1_000, TTL_MS));
        assert!(fresh(&rec(1_000, "a1"), &e, 1_000 + TTL_MS - 1, TTL_MS));
        assert!(!fresh(&rec(1_000, "a1"), &e, 1_000 + TTL_MS, TTL_MS));
        // A sign-in since (a new epoch) voids it, and so does a clock that went backwards.
        assert!(!fresh(&rec(1_000, "a0"), &e, 1_000, TTL_MS));
        assert!(!fresh(&rec(5_000, "a1"), &e, 1_000, TTL_MS));
        // Turned off.
        assert!(!fresh(&rec(1_000, "a1"), &e, 1_000, 0));
    }
}
