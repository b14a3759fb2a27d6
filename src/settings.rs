//! keyless's own settings file, `keyless/config.toml` in the platform's configuration
//! directory: `$XDG_CONFIG_HOME` when set (on every platform), else `~/.config` on Linux,
//! `~/Library/Application Support` on macOS and `%APPDATA%` (the roaming application data
//! folder) on Windows. Optional; today it only chooses the secure store.
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
    path_in(std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from), dirs::config_dir())
}

/// The pure part of [`path`]: `XDG_CONFIG_HOME` when set and not empty, else the platform's
/// configuration directory (`dirs::config_dir`: `~/.config`, `~/Library/Application Support`,
/// `%APPDATA%`).
fn path_in(xdg_config_home: Option<PathBuf>, platform: Option<PathBuf>) -> Option<PathBuf> {
    let base = xdg_config_home.filter(|p| !p.as_os_str().is_empty()).or(platform)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_config_home_wins_on_every_platform() {
        let p = path_in(Some("cfg".into()), Some("platform".into()));
        assert_eq!(p, Some(PathBuf::from("cfg").join("keyless").join("config.toml")));
    }

    #[test]
    fn the_platform_directory_is_the_default() {
        let p = path_in(Some("".into()), Some("platform".into()));
        assert_eq!(p, Some(PathBuf::from("platform").join("keyless").join("config.toml")));
        assert_eq!(path_in(None, None), None);
    }

    #[test]
    fn the_platform_directory_is_the_one_each_system_documents() {
        let dir = dirs::config_dir().expect("a configuration directory");
        if cfg!(windows) {
            assert_eq!(Some(dir.into_os_string()), std::env::var_os("APPDATA"));
        } else if cfg!(target_os = "macos") {
            assert!(dir.ends_with("Library/Application Support"), "{}", dir.display());
        } else if std::env::var_os("XDG_CONFIG_HOME").is_none() {
            assert!(dir.ends_with(".config"), "{}", dir.display());
        }
    }
}
