//! Retiring long-lived access keys: find them in `~/.aws/credentials` and in `~/.aws/config`
//! profiles (SDKs read keys from both), learn whose they are
//! (STS GetCallerIdentity signed with the key), give the profile an SSO role in the same
//! account under the same name, prove the new profile works, and only then remove the key
//! from the file and deactivate it (IAM UpdateAccessKey, signed with the key itself).
//!
//! The order is the safety property: a key is never removed before its replacement has
//! answered GetCallerIdentity as the SSO role. The edit that removes a key is written without
//! a backup, and no backup keyless writes ever holds a secret (see
//! [`crate::aws_config::edit::Backup`]). A profile that also gets credentials another way
//! (`role_arn`, `sso_*`, a foreign `credential_process`, …) is never silently replaced.

use std::collections::BTreeMap;
use std::path::Path;

use aws_credential_types::Credentials;
use http_body_util::Full;

use crate::aws_config::edit::{Backup, ConfigEdit};
use crate::aws_config::profiles::{self, CredentialProcess, KeyFile, StaticKeys};
use crate::aws_config::{Document, paths};
use crate::error::Error;
use crate::identity::Identity;
use crate::sso::endpoints::{self, Service};
use crate::sso::inventory::Assignment;
use crate::team::TeamFile;
use crate::ui::{self, Prompter};

/// Whose key this is, from GetCallerIdentity signed with it, asked of STS in `region` (the
/// Identity Center's region: its partition is the keys' partition).
pub async fn key_owner(key: &StaticKeys, region: &str) -> anyhow::Result<Identity> {
    let creds = Credentials::new(
        &key.access_key_id,
        key.secret_access_key.expose(),
        key.session_token.as_ref().map(|t| t.expose().clone()),
        None,
        "keyless-migrate",
    );
    let b = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(region.to_string()))
        .app_name(crate::sso::clients::app_name())
        .credentials_provider(creds)
        .endpoint_url(endpoints::resolve(Service::Sts, region)?);
    let out = aws_sdk_sts::Client::from_conf(b.build()).get_caller_identity().send().await.map_err(
        |e| {
            Error::user(format!(
                "the key {} in profile `{}` was refused by STS: {}",
                key.access_key_id,
                key.profile,
                crate::sso::clients::describe(&e)
            ))
            .hint("the key may already be inactive or deleted; remove it from the credentials file by hand if so")
        },
    )?;
    Ok(Identity {
        account: out.account().unwrap_or_default().to_string(),
        arn: out.arn().unwrap_or_default().to_string(),
        user_id: out.user_id().unwrap_or_default().to_string(),
    })
}

/// The IAM user name in an ARN like `arn:aws:iam::111111111111:user/path/alice`.
pub fn iam_user(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix("user/")?;
    rest.rsplit('/').next().filter(|u| !u.is_empty())
}

/// How deactivating a key ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deactivation {
    Done,
    /// IAM refused (usually AccessDenied: the user may not manage its own keys).
    Refused {
        code: String,
        message: String,
    },
}

/// The region the IAM of the key owner's partition signs for: from the partition in the
/// owner's ARN (`arn:aws-cn:iam::…`), else the partition of `region`.
pub fn iam_region(owner_arn: &str, region: &str) -> &'static str {
    owner_arn
        .split(':')
        .nth(1)
        .and_then(crate::partition::by_id)
        .unwrap_or_else(|| crate::partition::of_or_default(region))
        .iam
        .signing_region
}

/// IAM UpdateAccessKey Status=Inactive for the key, signed with the key itself (no
/// `UserName`: IAM applies it to the calling user). Over HTTPS to the IAM of the partition
/// whose signing region is `iam_region` (see [`iam_region`]), or to `AWS_ENDPOINT_URL_IAM`.
pub async fn deactivate(key: &StaticKeys, iam_region: &str) -> anyhow::Result<Deactivation> {
    let endpoint = endpoints::resolve(Service::Iam, iam_region)?;
    let url: hyper::Uri = endpoint
        .parse()
        .map_err(|_| Error::user(format!("`{endpoint}` is not a valid IAM endpoint URL")))?;
    let host = url.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
    let path = match url.path() {
        "" => "/",
        p => p,
    }
    .to_string();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "UpdateAccessKey")
        .append_pair("Version", "2010-05-08")
        .append_pair("AccessKeyId", &key.access_key_id)
        .append_pair("Status", "Inactive")
        .finish();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let mut req = hyper::Request::builder()
        .method("POST")
        .uri(&url)
        .header("user-agent", concat!("keyless/", env!("CARGO_PKG_VERSION")))
        .header("host", &host)
        .header("content-type", content_type)
        .body(Full::new(bytes::Bytes::from(body.clone())))?;
    // Signed by AWS's own signer, as the SDKs sign.
    let creds = Credentials::new(
        &key.access_key_id,
        key.secret_access_key.expose(),
        key.session_token.as_ref().map(|t| t.expose().clone()),
        None,
        "keyless-migrate",
    );
    let identity = creds.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(iam_region)
        .name("iam")
        .time(std::time::SystemTime::now())
        .settings(aws_sigv4::http_request::SigningSettings::default())
        .build()?
        .into();
    let signable = aws_sigv4::http_request::SignableRequest::new(
        "POST",
        path.as_str(),
        [("host", host.as_str()), ("content-type", content_type)].into_iter(),
        aws_sigv4::http_request::SignableBody::Bytes(body.as_bytes()),
    )?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)?.into_parts();
    instructions.apply_to_request_http1x(&mut req);

    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| Error::user(format!("cannot set up TLS for IAM: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Full<bytes::Bytes>>(https);
    // The whole exchange, body included, is bounded in time and in size.
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| {
            Error::user(format!("could not reach IAM at {endpoint}: {e}"))
                .hint("check your network connection (and AWS_ENDPOINT_URL_IAM if you set it)")
        })?;
        let status = resp.status().as_u16();
        let bytes = crate::net::read_limited(resp.into_body(), crate::net::MAX_BODY)
            .await
            .map_err(|e| Error::user(format!("IAM at {endpoint} answered badly: {e}")))?;
        anyhow::Ok((status, bytes))
    };
    let (status, bytes) = tokio::time::timeout(std::time::Duration::from_secs(20), exchange)
        .await
        .map_err(|_| Error::user(format!("IAM at {endpoint} did not answer within 20 s")))??;
    let text = String::from_utf8_lossy(&bytes);
    if status == 200 {
        return Ok(Deactivation::Done);
    }
    Ok(Deactivation::Refused {
        code: xml_text(&text, "Code").unwrap_or_else(|| format!("HTTP {status}")),
        message: xml_text(&text, "Message").unwrap_or_default(),
    })
}

/// The text of the first `<tag>` in an XML document.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// What happened to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Replaced by an SSO profile and deactivated.
    Retired { profile: String, key: String, role: String, account: String },
    /// Replaced and removed from the file, but IAM refused to deactivate it: an administrator
    /// must deactivate and delete it.
    RemovedNotDeactivated {
        profile: String,
        key: String,
        account: String,
        user: String,
        reason: String,
    },
    /// Left alone, and why.
    Skipped { profile: String, key: String, reason: String },
}

/// Everything a migration needs to know.
pub struct Context<'a> {
    pub session: &'a crate::sso::SessionConfig,
    pub binary: &'a Path,
    pub team: Option<&'a TeamFile>,
    /// What the user has in Identity Center.
    pub have: &'a [Assignment],
    pub prompter: Prompter,
}

/// The SSO role to use in place of a key for `account`: the team file's role for the
/// environment the account is in, if the user has it.
pub fn team_role(team: Option<&TeamFile>, have: &[Assignment], account: &str) -> Option<String> {
    let env = team?.environment_of(account)?;
    let roles = &have.iter().find(|a| a.account_id == account)?.roles;
    env.roles.iter().find(|r| roles.contains(r)).cloned()
}

/// Whether a key lives until deleted (`AKIA…`, no session token). Session keys are left
/// alone: they expire by themselves.
fn is_long_lived(k: &StaticKeys) -> bool {
    k.session_token.is_none() && !k.access_key_id.starts_with("ASIA")
}

/// The long-lived keys (`AKIA…`) in a credentials document.
pub fn long_lived(doc: &Document) -> Vec<StaticKeys> {
    profiles::static_keys(doc).into_iter().filter(is_long_lived).collect()
}

/// The long-lived keys of both files: the credentials file's, then the config file's (SDKs
/// read keys from config profiles too, so those are retired the same way).
pub fn long_lived_everywhere(credentials: &Document, config: &Document) -> Vec<StaticKeys> {
    let mut keys = long_lived(credentials);
    keys.extend(profiles::config_static_keys(config).into_iter().filter(is_long_lived));
    keys
}

/// The long-lived keys in the files as they are now.
pub fn find_long_lived() -> anyhow::Result<Vec<StaticKeys>> {
    let credentials = crate::aws_config::read_document(&paths::credentials_path()?)?;
    let config = crate::aws_config::read_document(&paths::config_path()?)?;
    Ok(long_lived_everywhere(&credentials, &config))
}

/// `AKIA… in profile `p` (~/.aws/config)`-style label of where a key is.
pub fn describe(k: &StaticKeys) -> String {
    let file = match k.file {
        KeyFile::Credentials => "credentials file",
        KeyFile::Config => "config file",
    };
    format!("{} ({}, {file})", k.profile, k.access_key_id)
}

/// Migrates every long-lived key of the credentials file, then of the config file, one at a
/// time, in file order.
pub fn run(cx: &Context<'_>) -> anyhow::Result<Vec<Outcome>> {
    let creds = crate::aws_config::read_document(&paths::credentials_path()?)?;
    let config = crate::aws_config::read_document(&paths::config_path()?)?;
    let mut outcomes = Vec::new();
    for key in long_lived_everywhere(&creds, &config) {
        // A region set next to a credentials-file key carries over to the new profile.
        let region = match key.file {
            KeyFile::Credentials => profiles::credentials_profiles(&creds)
                .into_iter()
                .find(|p| p.name == key.profile)
                .and_then(|p| p.get("region").map(str::to_string)),
            KeyFile::Config => None,
        };
        outcomes.push(migrate_one(cx, &key, region)?);
    }
    Ok(outcomes)
}

fn migrate_one(
    cx: &Context<'_>,
    key: &StaticKeys,
    key_region: Option<String>,
) -> anyhow::Result<Outcome> {
    let skip = |reason: String| {
        ui::note(format!("  skipped `{}` ({}): {reason}", key.profile, key.access_key_id));
        Ok(Outcome::Skipped {
            profile: key.profile.clone(),
            key: key.access_key_id.clone(),
            reason,
        })
    };
    ui::note(format!(
        "Long-lived key {} in profile `{}`:",
        ui::bold(&key.access_key_id),
        key.profile
    ));
    // The profile keeps its name: one the Rust SDK does not read cannot be written.
    if let Err(e) = profiles::check_profile_name(&key.profile) {
        let reason = crate::error::find(&e).map_or_else(|| e.to_string(), |k| k.message.clone());
        return skip(format!(
            "{reason} (the Rust SDK ignores it); rename it to letters, digits and _ - / . % @ : + only, then run `keyless migrate` again"
        ));
    }
    let owner = match crate::util::block_on(key_owner(key, &cx.session.region)) {
        Ok(o) => o,
        Err(e) => return skip(format!("{e:#}")),
    };
    let user = iam_user(&owner.arn).unwrap_or("?").to_string();
    ui::note(format!("  belongs to {} (account {})", owner.arn, owner.account));
    let Some(assignment) = cx.have.iter().find(|a| a.account_id == owner.account) else {
        return skip(format!(
            "you have no SSO access to account {}; ask for an assignment there first",
            owner.account
        ));
    };
    let role = match team_role(cx.team, cx.have, &owner.account) {
        Some(r) => r,
        None if cx.prompter.interactive() && !assignment.roles.is_empty() => {
            let mut items = assignment.roles.clone();
            items.push("(keep this key for now)".into());
            let i = cx.prompter.select(
                &format!(
                    "Which SSO role should profile `{}` use in {} ({})?",
                    key.profile, assignment.account_name, owner.account
                ),
                &items,
                0,
            )?;
            if i == assignment.roles.len() {
                return skip("you chose to keep it".into());
            }
            assignment.roles[i].clone()
        }
        None => {
            return skip(format!(
                "no role is mapped for account {} (add it to an environment of the team file, or run without --yes to choose)",
                owner.account
            ));
        }
    };

    // 1. The replacement profile, under the same name, in the config file, as the file is
    // now (under its lock). The key's own lines stay until step 3.
    let config_path = paths::config_path()?;
    let mut config = ConfigEdit::open(&config_path)?;
    let existing = profiles::config_profile(config.document(), &key.profile);
    let others = existing.as_ref().map(profiles::other_credential_settings).unwrap_or_default();
    let region = existing
        .as_ref()
        .and_then(|p| p.get("region").map(str::to_string))
        .or(key_region)
        .or_else(|| cx.team.map(|t| t.region.clone()));
    if !others.is_empty() {
        let what = others.join(", ");
        let question = format!(
            "Profile `{}` in {} also has {what}; replacing it drops them. Replace it anyway?",
            key.profile,
            config_path.display()
        );
        if !cx.prompter.interactive() || !cx.prompter.confirm(&question, false)? {
            return skip(format!(
                "profile `{}` in {} also has {what}, which replacing it would drop; move those settings to another profile (or remove them), then run `keyless migrate` again",
                key.profile,
                config_path.display()
            ));
        }
    }
    let process = CredentialProcess {
        binary: cx.binary.to_path_buf(),
        session: cx.session.name.clone(),
        account: owner.account.clone(),
        role: role.clone(),
        login_if_needed: false,
    };
    profiles::set_managed_profile_keeping_keys(
        config.document_mut(),
        &key.profile,
        &process,
        region.as_deref(),
    )?;
    let diff = config.diff();
    if !diff.is_empty() {
        ui::note(diff.trim_end());
    }
    if let Some(b) = config.commit(Backup::Keep)?.backup {
        ui::note(format!("  the previous {} is saved as {}", config_path.display(), b.display()));
    }

    // 2. Prove it works before touching the key. The Rust SDK prefers credential_process
    // over static keys in the same profile, so this exercises the new profile.
    let id = crate::identity::for_profile(&key.profile)?;
    if id.account != owner.account || !id.arn.contains(":assumed-role/") {
        return Err(Error::user(format!(
            "the new profile `{}` answered as {} instead of an SSO role in account {}; the key was left in place",
            key.profile, id.arn, owner.account
        ))
        .hint("check the profile in your AWS config")
        .into());
    }
    ui::note(format!("  `{}` now works as {}", key.profile, id.arn));

    // 3. Remove the key from its file (no backup: the edit only removes the secret).
    let key_path = match key.file {
        KeyFile::Credentials => paths::credentials_path()?,
        KeyFile::Config => config_path,
    };
    let mut file = ConfigEdit::open(&key_path)?;
    let found = match key.file {
        KeyFile::Credentials => profiles::static_keys(file.document()),
        KeyFile::Config => profiles::config_static_keys(file.document()),
    };
    if let Some(k) =
        found.iter().find(|k| k.profile == key.profile && k.access_key_id == key.access_key_id)
    {
        let header = k.header.clone();
        remove_key_lines(file.document_mut(), &header);
        file.commit(Backup::None)?;
        ui::note(format!("  removed the key from {}", key_path.display()));
    }

    // 4. Deactivate it, with its own signature.
    match crate::util::block_on(deactivate(key, iam_region(&owner.arn, &cx.session.region))) {
        Ok(Deactivation::Done) => {
            ui::note(format!("  deactivated {} in IAM", key.access_key_id));
            Ok(Outcome::Retired {
                profile: key.profile.clone(),
                key: key.access_key_id.clone(),
                role,
                account: owner.account,
            })
        }
        Ok(Deactivation::Refused { code, message }) => {
            let reason = format!("{code}: {message}");
            ui::note(format!("  IAM refused to deactivate it ({reason})"));
            Ok(Outcome::RemovedNotDeactivated {
                profile: key.profile.clone(),
                key: key.access_key_id.clone(),
                account: owner.account,
                user,
                reason,
            })
        }
        Err(e) => {
            // The reason alone, as it is quoted in a sentence: no `error:` prefix or hint.
            let reason = format!("{e:#}");
            ui::note(format!("  could not deactivate it: {reason}"));
            Ok(Outcome::RemovedNotDeactivated {
                profile: key.profile.clone(),
                key: key.access_key_id.clone(),
                account: owner.account,
                user,
                reason,
            })
        }
    }
}

/// Removes the key lines from a credentials profile; the section goes too when nothing else
/// is left in it (a `region` the user kept there stays).
fn remove_key_lines(doc: &mut Document, header: &crate::aws_config::Header) {
    doc.remove_keys(header, profiles::STATIC_KEY_KEYS);
    if doc.section(header).is_some_and(|s| s.properties.is_empty()) {
        doc.remove_section(header);
    }
}

/// The lines to print after a migration: what was done and what an administrator must do.
pub fn summary(outcomes: &[Outcome]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut by_user: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for o in outcomes {
        match o {
            Outcome::Retired { profile, key, role, account } => lines.push(format!(
                "retired {key}: profile `{profile}` now uses SSO role {role} in {account}; the key is inactive (an administrator can delete it)"
            )),
            Outcome::RemovedNotDeactivated { profile, key, account, user, reason } => {
                lines.push(format!(
                    "replaced {key} in profile `{profile}`, but it is still ACTIVE in IAM ({reason})"
                ));
                by_user.entry((account.clone(), user.clone())).or_default().push(key.clone());
            }
            Outcome::Skipped { profile, key, reason } => {
                lines.push(format!("kept {key} in profile `{profile}`: {reason}"))
            }
        }
    }
    for ((account, user), keys) in by_user {
        for key in keys {
            lines.push(format!(
                "ask an administrator of account {account} to run: aws iam update-access-key --user-name {user} --access-key-id {key} --status Inactive && aws iam delete-access-key --user-name {user} --access-key-id {key}"
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_is_signed_for_the_key_owners_partition() {
        assert_eq!(iam_region("arn:aws:iam::111111111111:user/a", "ap-northeast-2"), "us-east-1");
        assert_eq!(iam_region("arn:aws-cn:iam::111111111111:user/a", "us-east-1"), "cn-north-1");
        assert_eq!(
            iam_region("arn:aws-us-gov:iam::111111111111:user/a", "us-east-1"),
            "us-gov-west-1"
        );
        // No partition in the ARN: the Identity Center region's partition.
        assert_eq!(iam_region("", "cn-northwest-1"), "cn-north-1");
        assert_eq!(iam_region("", "eusc-de-east-1"), "eusc-de-east-1");
    }

    #[test]
    fn finds_the_user_in_an_arn() {
        assert_eq!(iam_user("arn:aws:iam::111111111111:user/alice"), Some("alice"));
        assert_eq!(iam_user("arn:aws:iam::111111111111:user/dev/ops/bob"), Some("bob"));
        assert_eq!(iam_user("arn:aws:sts::111111111111:assumed-role/R/alice"), None);
    }

    #[test]
    fn reads_the_error_code_of_an_iam_reply() {
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: a &amp; b</Message></Error></ErrorResponse>";
        assert_eq!(xml_text(xml, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(xml_text(xml, "Message").as_deref(), Some("User: a & b"));
    }

    #[test]
    fn only_long_lived_keys_are_migrated_and_removal_keeps_other_settings() {
        let mut doc = Document::parse(
            "[default]\naws_access_key_id = AKIAX\naws_secret_access_key = s\nregion = eu-west-1\n\n[tmp]\naws_access_key_id = ASIAX\naws_secret_access_key = s\naws_session_token = t\n\n[old]\naws_access_key_id = AKIAY\naws_secret_access_key = s\n",
        );
        let keys: Vec<_> = long_lived(&doc).into_iter().map(|k| k.profile).collect();
        assert_eq!(keys, ["default", "old"]);
        remove_key_lines(&mut doc, &profiles::credentials_header("default"));
        remove_key_lines(&mut doc, &profiles::credentials_header("old"));
        assert_eq!(
            doc.to_string(),
            "[default]\nregion = eu-west-1\n\n[tmp]\naws_access_key_id = ASIAX\naws_secret_access_key = s\naws_session_token = t\n"
        );
    }

    #[test]
    fn the_summary_names_what_an_administrator_must_do() {
        let lines = summary(&[Outcome::RemovedNotDeactivated {
            profile: "default".into(),
            key: "AKIA1".into(),
            account: "111111111111".into(),
            user: "alice".into(),
            reason: "AccessDenied: no".into(),
        }]);
        assert!(lines[0].contains("still ACTIVE"));
        assert!(lines[1].contains("delete-access-key --user-name alice --access-key-id AKIA1"));
    }
}
