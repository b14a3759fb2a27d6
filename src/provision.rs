//! Deciding which profiles to write, and writing them into a config document: the pure core
//! of `keyless onboard` and `keyless profiles sync`.
//!
//! The inputs are what the user has ([`Assignment`]s from Identity Center), what the platform
//! team wants (a [`TeamFile`], or a name template) and the config file as it is. The output is
//! a list of [`Wanted`] profiles and the edited [`Document`]. Nothing here does IO.
//!
//! Rules: a name taken by a profile keyless did not write is never overwritten (the error
//! names it); a keyless profile of the same name is refreshed in place; pruning removes only
//! keyless profiles of the same session whose account and role the user no longer has.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::aws_config::Document;
use crate::aws_config::profiles::{self, CredentialProcess};
use crate::error::Error;
use crate::sso::SessionConfig;
use crate::sso::inventory::Assignment;
use crate::team::{self, TeamFile};

/// The name template `keyless profiles sync` uses without a team file.
pub const DEFAULT_SYNC_TEMPLATE: &str = "{account_name}-{role}";

/// One profile to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub name: String,
    pub account_id: String,
    pub account_name: String,
    pub role: String,
    pub region: Option<String>,
    /// The team file's environment, if any (`dev`, `prod`).
    pub environment: Option<String>,
}

/// What a team file asks for, checked against what the user actually has: an account or role
/// in the file that the user cannot reach is an error naming it.
pub fn from_team(team: &TeamFile, have: &[Assignment]) -> anyhow::Result<Vec<Wanted>> {
    let by_id: BTreeMap<&str, &Assignment> =
        have.iter().map(|a| (a.account_id.as_str(), a)).collect();
    let planned = team.profiles(&|id| by_id.get(id).map(|a| a.account_name.clone()))?;
    let mut out = Vec::with_capacity(planned.len());
    for p in planned {
        let Some(a) = by_id.get(p.account_id.as_str()) else {
            return Err(Error::user(format!(
                "the team file's environment `{}` lists account {}, which is not among the {} account(s) you can access",
                p.environment,
                p.account_id,
                have.len()
            ))
            .hint("ask your platform team to assign you that account, or to fix the account ID in the team file")
            .into());
        };
        if !a.roles.iter().any(|r| r == &p.role) {
            return Err(Error::user(format!(
                "the team file's environment `{}` uses role `{}` in account {}, but your roles there are: {}",
                p.environment,
                p.role,
                p.account_id,
                if a.roles.is_empty() { "none".to_string() } else { a.roles.join(", ") }
            ))
            .hint("ask your platform team to assign you that role, or to fix the role in the team file")
            .into());
        }
        out.push(Wanted {
            name: p.name,
            account_id: p.account_id,
            account_name: a.account_name.clone(),
            role: p.role,
            region: Some(p.region),
            environment: Some(p.environment),
        });
    }
    Ok(out)
}

/// Renders a name template for one account and role, the way team files do.
pub fn render_name(
    template: &str,
    env: Option<&str>,
    account_id: &str,
    account_name: &str,
    role: &str,
) -> anyhow::Result<String> {
    let name = if account_name.is_empty() { account_id } else { account_name };
    team::render_template(template, &|var| match var {
        "env" => Some(env.unwrap_or("default").to_string()),
        "account_id" => Some(account_id.to_string()),
        "account_name" => Some(name.to_string()),
        "role" => Some(role.to_string()),
        _ => None,
    })
}

/// A role keyless cannot write a profile for, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub account_id: String,
    pub role: String,
    pub reason: String,
}

/// A profile for every account and role the user has (see [`every_role_or_skip`]); a role
/// that cannot be written is an error.
pub fn every_role(
    have: &[Assignment],
    template: &str,
    team: Option<&TeamFile>,
    region: Option<&str>,
) -> anyhow::Result<Vec<Wanted>> {
    let (wanted, skipped) = every_role_or_skip(have, template, team, region)?;
    match skipped.into_iter().next() {
        Some(s) => Err(Error::user(format!(
            "cannot write a profile for role `{}` in account {}: {}",
            s.role, s.account_id, s.reason
        ))
        .into()),
        None => Ok(wanted),
    }
}

/// A profile for every account and role the user has. The team file, when given, supplies
/// the template, account names, environments and regions; its environments do not limit
/// what is listed. Two assignments that would get the same name are told apart by appending
/// the account ID to the later one. A role whose name cannot go into a profile name or a
/// `credential_process` line (names come from the service) is returned as [`Skipped`], so
/// one odd role does not stop the others.
pub fn every_role_or_skip(
    have: &[Assignment],
    template: &str,
    team: Option<&TeamFile>,
    region: Option<&str>,
) -> anyhow::Result<(Vec<Wanted>, Vec<Skipped>)> {
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut out: Vec<Wanted> = Vec::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for a in have {
        let env = team.and_then(|t| t.environment_of(&a.account_id));
        let account_name = team
            .and_then(|t| t.account_names.get(&a.account_id).cloned())
            .unwrap_or_else(|| a.account_name.clone());
        let region = env
            .and_then(|e| e.region.clone())
            .or_else(|| team.map(|t| t.region.clone()))
            .or_else(|| region.map(str::to_string));
        for role in &a.roles {
            let env_name = env.map(|e| e.name.as_str());
            let rendered = profiles::check_role_name(role)
                .and_then(|()| render_name(template, env_name, &a.account_id, &account_name, role));
            let mut name = match rendered {
                Ok(n) => n,
                Err(e) => {
                    let reason =
                        crate::error::find(&e).map_or_else(|| e.to_string(), |k| k.message.clone());
                    skipped.push(Skipped {
                        account_id: a.account_id.clone(),
                        role: role.clone(),
                        reason,
                    });
                    continue;
                }
            };
            if taken.contains(&name) {
                name = format!("{name}-{}", a.account_id);
            }
            if !taken.insert(name.clone()) {
                return Err(Error::user(format!(
                    "the template {template:?} gives two profiles the name {name:?}"
                ))
                .hint("add {account_id} or {role} to the template")
                .into());
            }
            out.push(Wanted {
                name,
                account_id: a.account_id.clone(),
                account_name: account_name.clone(),
                role: role.clone(),
                region: region.clone(),
                environment: env_name.map(str::to_string),
            });
        }
    }
    Ok((out, skipped))
}

/// A profile name that keyless will not take over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub name: String,
    /// Where it is: the config or the credentials file, and the line.
    pub place: String,
}

/// Names in `wanted` already used by profiles keyless did not write: hand-written profiles in
/// the config file, and profiles in the credentials file (whose keys would shadow the
/// `credential_process` for botocore). `exempt` names are being migrated on purpose.
pub fn collisions(
    wanted: &[Wanted],
    config: &Document,
    config_path: &Path,
    credentials: &Document,
    credentials_path: &Path,
    exempt: &BTreeSet<String>,
) -> Vec<Collision> {
    // One pass over each file (a sync may check thousands of names).
    let mut in_config: HashMap<String, (bool, usize, bool)> = HashMap::new();
    for p in profiles::config_profiles(config) {
        // `[profile default]` wins over `[default]`, as in the Rust SDK.
        let preferred = p.header != crate::aws_config::Header::Default;
        let entry = (p.is_managed(), p.line_number, preferred);
        match in_config.get(&p.name) {
            Some(&(_, _, true)) if !preferred => {}
            _ => {
                in_config.insert(p.name.clone(), entry);
            }
        }
    }
    let in_credentials: HashMap<String, usize> = profiles::credentials_profiles(credentials)
        .into_iter()
        .filter(|p| !p.properties.is_empty())
        .map(|p| (p.name, p.line_number))
        .collect();
    let mut out = Vec::new();
    for w in wanted {
        if exempt.contains(&w.name) {
            continue;
        }
        if let Some(&(false, line, _)) = in_config.get(&w.name) {
            out.push(Collision {
                name: w.name.clone(),
                place: format!("{}, line {line}", config_path.display()),
            });
        } else if let Some(line) = in_credentials.get(&w.name) {
            out.push(Collision {
                name: w.name.clone(),
                place: format!("{}, line {line}", credentials_path.display()),
            });
        }
    }
    out
}

/// The error for [`collisions`]: names each profile and where it is.
pub fn collision_error(found: &[Collision], template_hint: &str) -> anyhow::Error {
    let list =
        found.iter().map(|c| format!("  {} ({})", c.name, c.place)).collect::<Vec<_>>().join("\n");
    Error::user(format!(
        "keyless would overwrite {} profile(s) it did not write:\n{list}",
        found.len()
    ))
    .hint(format!(
        "rename or remove those profiles, or choose other names ({template_hint}); keyless never overwrites a profile you wrote"
    ))
    .into()
}

/// What [`apply`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
}

/// Writes `[sso-session]` and every wanted profile into `doc`; with `prune`, removes the
/// keyless profiles of this session whose account and role are not in `have`. Call
/// [`collisions`] first: this overwrites whatever has the wanted names.
pub fn apply(
    doc: &mut Document,
    session: &SessionConfig,
    binary: &Path,
    wanted: &[Wanted],
    prune_against: Option<&[Assignment]>,
) -> anyhow::Result<Changes> {
    profiles::set_sso_session(
        doc,
        &session.name,
        &session.start_url,
        &session.region,
        &session.scopes,
    )?;
    let mut changes = Changes::default();
    // One pass over the file for what each wanted profile needs to know (a sync writes
    // thousands): whether it exists, and whether the user added `--login-if-needed` to its
    // line by hand, which survives the rewrite. `[profile default]` wins over `[default]`.
    let mut existing: HashMap<String, (bool, bool)> = HashMap::new();
    for p in profiles::config_profiles(doc) {
        let preferred = p.header != crate::aws_config::Header::Default;
        let login = p.managed().is_some_and(|c| c.login_if_needed);
        match existing.get(&p.name) {
            Some(&(_, true)) if !preferred => {}
            _ => {
                existing.insert(p.name, (login, preferred));
            }
        }
    }
    let mut commands = Vec::with_capacity(wanted.len());
    for w in wanted {
        let process = CredentialProcess {
            binary: binary.to_path_buf(),
            session: session.name.clone(),
            account: w.account_id.clone(),
            role: w.role.clone(),
            login_if_needed: existing.get(&w.name).is_some_and(|e| e.0),
        };
        profiles::check_profile_name(&w.name)?;
        commands.push(process.command()?);
    }
    let items: Vec<_> = wanted
        .iter()
        .zip(&commands)
        .map(|(w, command)| {
            (
                profiles::config_header(&w.name),
                profiles::managed_entries(command, w.region.as_deref()),
            )
        })
        .collect();
    let changed = doc.upsert_sections(&items, profiles::CONFLICTING_KEYS)?;
    drop(items);
    for (w, changed) in wanted.iter().zip(changed) {
        match (existing.contains_key(&w.name), changed) {
            (false, _) => changes.added.push(w.name.clone()),
            (true, true) => changes.updated.push(w.name.clone()),
            (true, false) => changes.unchanged.push(w.name.clone()),
        }
    }
    if let Some(have) = prune_against {
        let live: BTreeSet<(&str, &str)> = have
            .iter()
            .flat_map(|a| a.roles.iter().map(|r| (a.account_id.as_str(), r.as_str())))
            .collect();
        let keep: BTreeSet<&str> = wanted.iter().map(|w| w.name.as_str()).collect();
        let stale: Vec<(String, crate::aws_config::Header)> = profiles::managed_profiles(doc)
            .into_iter()
            .filter(|(p, cp)| {
                cp.session == session.name
                    && !keep.contains(p.name.as_str())
                    && !live.contains(&(cp.account.as_str(), cp.role.as_str()))
            })
            .map(|(p, _)| (p.name, p.header))
            .collect();
        for (name, header) in stale {
            if doc.remove_section(&header) {
                changes.removed.push(name);
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIN: &str = if cfg!(windows) { r"C:\opt\bin\keyless.exe" } else { "/opt/bin/keyless" };

    fn have() -> Vec<Assignment> {
        vec![
            Assignment {
                account_id: "111111111111".into(),
                account_name: "acme-dev".into(),
                roles: vec!["Developer".into(), "ReadOnly".into()],
            },
            Assignment {
                account_id: "222222222222".into(),
                account_name: "acme prod".into(),
                roles: vec!["ReadOnly".into()],
            },
        ]
    }

    fn session() -> SessionConfig {
        SessionConfig {
            name: "acme".into(),
            start_url: "https://d-1234567890.awsapps.com/start".into(),
            region: "ap-northeast-2".into(),
            scopes: vec![],
        }
    }

    fn team() -> TeamFile {
        TeamFile::parse(include_str!("../profiles/demo-team.toml"), "demo-team.toml").unwrap()
    }

    #[test]
    fn a_team_file_names_and_checks_its_profiles() {
        let w = from_team(&team(), &have()).unwrap();
        let names: Vec<_> = w.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["acme-dev", "acme-prod"]);
        assert_eq!(w[1].role, "ReadOnly");
        assert_eq!(w[0].region.as_deref(), Some("ap-northeast-2"));

        let err = from_team(&team(), &have()[..1]).unwrap_err();
        assert!(err.to_string().contains("222222222222"), "{err}");
        assert_eq!(crate::error::exit_code(&err), 1);

        let mut no_role = have();
        no_role[1].roles = vec!["Admin".into()];
        let err = from_team(&team(), &no_role).unwrap_err();
        assert!(err.to_string().contains("role `ReadOnly`") && err.to_string().contains("Admin"));
    }

    #[test]
    fn every_role_sanitises_names_and_tells_twins_apart() {
        let mut h = have();
        h.push(Assignment {
            account_id: "333333333333".into(),
            account_name: "acme-dev".into(),
            roles: vec!["Developer".into()],
        });
        let w = every_role(&h, DEFAULT_SYNC_TEMPLATE, None, Some("eu-west-1")).unwrap();
        let names: Vec<_> = w.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "acme-dev-Developer",
                "acme-dev-ReadOnly",
                "acme-prod-ReadOnly",
                "acme-dev-Developer-333333333333"
            ]
        );
        assert_eq!(w[0].region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn apply_is_idempotent_and_prunes_only_its_own_stale_profiles() {
        let hand = "# mine\n[profile hand]\nregion = us-east-1\n";
        let mut doc = Document::parse(hand);
        let w = every_role(&have(), DEFAULT_SYNC_TEMPLATE, None, None).unwrap();
        let c = apply(&mut doc, &session(), Path::new(BIN), &w, Some(&have())).unwrap();
        assert_eq!(c.added.len(), 3);
        assert!(doc.to_string().starts_with(hand));
        let once = doc.to_string();
        let c = apply(&mut doc, &session(), Path::new(BIN), &w, Some(&have())).unwrap();
        assert_eq!(c.unchanged.len(), 3);
        assert_eq!(doc.to_string(), once);

        // The ReadOnly role in the dev account goes away: prune removes that profile only.
        let mut fewer = have();
        fewer[0].roles.pop();
        let w2 = every_role(&fewer, DEFAULT_SYNC_TEMPLATE, None, None).unwrap();
        let c = apply(&mut doc, &session(), Path::new(BIN), &w2, Some(&fewer)).unwrap();
        assert_eq!(c.removed, ["acme-dev-ReadOnly"]);
        assert!(doc.to_string().contains("[profile hand]"));
        // Without prune nothing is removed.
        let mut doc2 = Document::parse(&once);
        let c = apply(&mut doc2, &session(), Path::new(BIN), &w2, None).unwrap();
        assert!(c.removed.is_empty());
    }

    #[test]
    fn hand_written_profiles_and_credentials_are_collisions() {
        let config = Document::parse("[profile acme-dev]\nregion = x\n");
        let creds =
            Document::parse("[acme-prod]\naws_access_key_id = A\naws_secret_access_key = B\n");
        let w = from_team(&team(), &have()).unwrap();
        let c = collisions(
            &w,
            &config,
            Path::new("config"),
            &creds,
            Path::new("credentials"),
            &BTreeSet::new(),
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].place, "config, line 1");
        assert_eq!(c[1].name, "acme-prod");
        let exempt: BTreeSet<String> = ["acme-prod".to_string()].into();
        let c = collisions(&w, &config, Path::new("c"), &creds, Path::new("k"), &exempt);
        assert_eq!(c.len(), 1);
        let err = collision_error(&c, "the team file's [profiles] name");
        assert!(err.to_string().contains("acme-dev (c, line 1)"), "{err}");
    }
}
