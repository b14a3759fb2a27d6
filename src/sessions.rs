//! SSO sessions as configured in the AWS config file (`[sso-session NAME]`): the same
//! sections the AWS CLI writes, so both tools share one definition of a session.

use crate::aws_config::edit::{Backup, ConfigEdit};
use crate::aws_config::ini::{Document, Header};
use crate::aws_config::{paths, profiles};
use crate::error::Error;
use crate::sso::SessionConfig;

/// Reads the AWS config file (missing is empty).
pub fn read_config() -> anyhow::Result<Document> {
    crate::aws_config::read_document(&paths::config_path()?)
}

/// Checks a session name: it becomes a section name, a store key and a command argument.
pub fn validate_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("`{name}` is not a valid SSO session name"))
            .hint("use letters, digits, `-`, `_` and `.` (at most 64 characters)")
            .into())
    }
}

/// Checks a start URL and region before anything is written.
pub fn validate(session: &SessionConfig) -> anyhow::Result<()> {
    validate_name(&session.name)?;
    if !session.start_url.starts_with("https://") || session.start_url.len() <= "https://".len() {
        return Err(Error::usage(format!("`{}` is not an https:// start URL", session.start_url))
            .hint("use the AWS access portal URL, e.g. https://d-1234567890.awsapps.com/start")
            .into());
    }
    if !crate::team::is_region(&session.region) {
        return Err(Error::usage(format!("`{}` is not an AWS region", session.region))
            .hint("use the region of your IAM Identity Center, e.g. us-east-1")
            .into());
    }
    Ok(())
}

fn from_doc(doc: &Document, name: &str) -> anyhow::Result<Option<SessionConfig>> {
    let Some(section) = doc.section(&Header::SsoSession(name.to_string())) else { return Ok(None) };
    let path = paths::config_path()?;
    let get = |k: &str| section.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let missing = |k: &str| {
        Error::user(format!("[sso-session {name}] in {} has no `{k}`", path.display())).hint(
            format!(
                "run `keyless login --session {name} --start-url URL --region REGION` to set it"
            ),
        )
    };
    let start_url = get("sso_start_url").ok_or_else(|| missing("sso_start_url"))?;
    let region = get("sso_region").ok_or_else(|| missing("sso_region"))?;
    let scopes = get("sso_registration_scopes")
        .map(|s| s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let session = SessionConfig { name: name.to_string(), start_url, region, scopes };
    validate(&session).map_err(|e| {
        let msg = crate::error::find(&e).map_or_else(|| e.to_string(), |k| k.message.clone());
        Error::user(format!("[sso-session {name}] in {}: {msg}", path.display()))
            .hint(format!("fix the section, or run `keyless login --session {name} --start-url URL --region REGION`"))
    })?;
    Ok(Some(session))
}

/// The session `name` from the AWS config file; an error with the fix when it is missing.
pub fn load(name: &str) -> anyhow::Result<SessionConfig> {
    validate_name(name)?;
    from_doc(&read_config()?, name)?.ok_or_else(|| {
        Error::user(format!("there is no SSO session `{name}` in {}", paths::config_path().map(|p| p.display().to_string()).unwrap_or_default()))
            .hint(format!(
                "run `keyless login --session {name} --start-url URL --region REGION`, or `keyless onboard`"
            ))
            .into()
    })
}

/// Every `[sso-session]` in the AWS config file, in file order. Malformed ones are errors.
pub fn list() -> anyhow::Result<Vec<SessionConfig>> {
    let doc = read_config()?;
    let mut out: Vec<SessionConfig> = Vec::new();
    for s in doc.sections() {
        if let Header::SsoSession(name) = &s.header
            && !out.iter().any(|o| &o.name == name)
            && let Some(cfg) = from_doc(&doc, name)?
        {
            out.push(cfg);
        }
    }
    Ok(out)
}

/// Creates or updates `[sso-session NAME]`, format-preservingly (backup, atomic, locked).
/// Returns the diff that was applied (empty when nothing changed).
pub fn save(session: &SessionConfig) -> anyhow::Result<String> {
    validate(session)?;
    let mut edit = ConfigEdit::open(paths::config_path()?)?;
    profiles::set_sso_session(
        edit.document_mut(),
        &session.name,
        &session.start_url,
        &session.region,
        &session.scopes,
    )?;
    let diff = edit.diff();
    edit.commit(Backup::Keep)?;
    Ok(diff)
}
