//! keyless: short-lived AWS credentials from IAM Identity Center, with the SSO tokens kept in
//! the OS keychain.
//!
//! The data flows one way: `cli` (argument parsing and rendering) calls the core
//! (`sso`, `store`, `aws_config`), which talks to AWS or to the local `emulator`.

pub mod aws_config;
pub mod cli;
pub mod console;
pub mod credentials;
pub mod doctor;
pub mod emulator;
pub mod error;
pub mod exe;
pub mod hardening;
pub mod identity;
pub mod lock;
pub mod migrate;
pub mod net;
pub mod partition;
pub mod provision;
pub mod recent;
pub mod secret;
pub mod server;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod store;
pub mod team;
pub mod time;
pub mod ui;
pub mod util;
pub mod verdict;
