//! Format-preserving editing of `~/.aws/config` and `~/.aws/credentials`.
//!
//! Parsing and editing are pure ([`ini`], [`profiles`]); the only IO is in [`edit`] (locking,
//! backups, atomic writes) and [`paths`] (where the files are).

pub mod diff;
pub mod edit;
pub mod ini;
pub mod paths;
pub mod profiles;

pub use edit::{Backup, Commit, ConfigEdit, read_document};
pub use ini::{Document, Header, LineEnding, Property, Section};
