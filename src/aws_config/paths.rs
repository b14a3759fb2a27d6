//! Where the shared config and credentials files are, resolved the way both SDKs do.

use std::path::PathBuf;

use crate::error::Error;

/// `$AWS_CONFIG_FILE`, else `~/.aws/config`.
pub fn config_path() -> anyhow::Result<PathBuf> {
    resolve(
        &|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()),
        "AWS_CONFIG_FILE",
        "config",
    )
}

/// `$AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
pub fn credentials_path() -> anyhow::Result<PathBuf> {
    resolve(
        &|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()),
        "AWS_SHARED_CREDENTIALS_FILE",
        "credentials",
    )
}

/// The pure part: `env` looks a variable up. A leading `~/` in the variable is expanded from
/// the home directory, as both SDKs do.
pub fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    var: &str,
    default_name: &str,
) -> anyhow::Result<PathBuf> {
    match env(var).filter(|v| !v.is_empty()) {
        Some(v) if v == "~" || v.starts_with("~/") || v.starts_with("~\\") => {
            Ok(home(env)?.join(v[1..].trim_start_matches(['/', '\\'])))
        }
        Some(v) => Ok(PathBuf::from(v)),
        None => Ok(home(env)?.join(".aws").join(default_name)),
    }
}

/// `HOME` (on Windows `USERPROFILE`, then `HOMEDRIVE` + `HOMEPATH`), read when called.
fn home(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<PathBuf> {
    let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
    let found = if cfg!(windows) {
        nonempty("HOME")
            .or_else(|| nonempty("USERPROFILE"))
            .or_else(|| Some(format!("{}{}", nonempty("HOMEDRIVE")?, nonempty("HOMEPATH")?)))
    } else {
        nonempty("HOME")
    };
    found.map(PathBuf::from).ok_or_else(|| {
        Error::user("cannot find your home directory: HOME is not set")
            .hint("set HOME, or point AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE at the files")
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn defaults_to_the_home_directory() {
        let e = env(&[("HOME", "/home/me")]);
        assert_eq!(
            resolve(&e, "AWS_CONFIG_FILE", "config").unwrap(),
            PathBuf::from("/home/me/.aws/config")
        );
    }

    #[test]
    fn the_variable_wins_and_tilde_is_expanded() {
        let e = env(&[("HOME", "/home/me"), ("AWS_CONFIG_FILE", "~/alt/config"), ("X", "/etc/c")]);
        assert_eq!(
            resolve(&e, "AWS_CONFIG_FILE", "config").unwrap(),
            PathBuf::from("/home/me/alt/config")
        );
        assert_eq!(resolve(&e, "X", "credentials").unwrap(), PathBuf::from("/etc/c"));
    }

    #[test]
    fn no_home_is_a_clear_error() {
        let err = resolve(&env(&[]), "AWS_CONFIG_FILE", "config").unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 1);
        assert!(err.to_string().contains("HOME"));
    }
}
