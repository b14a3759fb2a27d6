//! keyless's own settings file: `$XDG_CONFIG_HOME/keyless/config.toml` (default
//! `~/.config/keyless/config.toml`). Optional; today it only chooses the secure store.
//!
//! ```toml
//! store = "secret-service"   # keychain | wincred | secret-service | keyutils
//! ```

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub store: Option<String>,
}

/// The settings file path, whether or not it exists.
pub fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("keyless").join("config.toml"))
}

impl Settings {
    /// Loads the settings; a missing file is the defaults, a malformed one an error.
    pub fn load() -> anyhow::Result<Settings> {
        let Some(p) = path() else { return Ok(Settings::default()) };
        let fix = || format!("fix or remove {} (it only holds `store = \"...\"`)", p.display());
        match std::fs::read_to_string(&p) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                crate::error::Error::user(format!("{} is not valid: {}", p.display(), e.message()))
                    .hint(fix())
                    .into()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(crate::error::Error::user(format!("cannot read {}: {e}", p.display()))
                .hint(fix())
                .into()),
        }
    }
}
