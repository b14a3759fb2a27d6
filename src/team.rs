//! The team file (`profiles/*.toml`): the platform team's description of their Identity
//! Center, their environments, and how profiles are named.
//!
//! ```toml
//! [sso]
//! session = "acme"                                   # the [sso-session] section name
//! start_url = "https://d-1234567890.awsapps.com/start"
//! region = "ap-northeast-2"                          # the Identity Center region
//! registration_scopes = ["sso:account:access"]       # optional
//!
//! [profiles]
//! name = "{env}"            # template: {env}, {account_name}, {account_id}, {role}
//! region = "ap-northeast-2" # optional; defaults to [sso].region
//!
//! [accounts]                # optional: names for {account_name}
//! "111111111111" = "acme-dev"
//!
//! [[environments]]
//! name = "dev"
//! accounts = ["111111111111"]
//! role = "Developer"        # or roles = ["Developer", "ReadOnly"]
//! region = "ap-northeast-2" # optional, overrides [profiles].region
//! ```
//!
//! Loading validates everything and every error names the file, the line and the key, e.g.
//! `team file acme.toml, line 7: environments[1].accounts[0]: "2222" is not a 12-digit AWS
//! account ID`. Unknown keys are errors (with a suggestion when one is close), so a typo never
//! silently changes what gets written.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::aws_config::ini::is_valid_identifier;
use crate::error::Error;

/// The `[sso]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sso {
    pub session: String,
    pub start_url: String,
    pub region: String,
    /// Empty when not given (keyless then uses its default, `sso:account:access`).
    pub registration_scopes: Vec<String>,
}

/// One `[[environments]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    pub accounts: Vec<String>,
    /// From `role = "..."` or `roles = [...]`; never empty.
    pub roles: Vec<String>,
    pub region: Option<String>,
}

/// A validated team file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamFile {
    pub sso: Sso,
    /// The `[profiles] name` template (default `{env}`).
    pub name_template: String,
    /// The region written into each profile unless its environment sets one.
    pub region: String,
    /// Account ID to name, from `[accounts]`.
    pub account_names: BTreeMap<String, String>,
    pub environments: Vec<Environment>,
}

/// One profile the team file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedProfile {
    pub name: String,
    pub environment: String,
    pub account_id: String,
    pub account_name: Option<String>,
    pub role: String,
    pub region: String,
}

/// The variables a profile-name template may use.
pub const TEMPLATE_VARIABLES: &[&str] = &["env", "account_name", "account_id", "role"];

impl TeamFile {
    /// Reads and validates a team file.
    pub fn load(path: &Path) -> anyhow::Result<TeamFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::user(format!("cannot read the team file {}: {e}", path.display()))
                .hint("pass the path of your team's TOML file with --team")
        })?;
        TeamFile::parse(&text, &path.display().to_string())
    }

    /// Validates team-file text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> anyhow::Result<TeamFile> {
        let cx = Cx { text, source };
        let root = DeTable::parse(text).map_err(|e| {
            let msg = e.message().trim_end().to_string();
            cx.error(e.span(), None, &format!("not valid TOML: {msg}"))
        })?;
        let root_span = root.span();
        let root = root.get_ref();
        cx.known_keys(root, "", &["sso", "profiles", "accounts", "environments"])?;

        let sso_t = cx.table(root, "", "sso", &root_span)?.ok_or_else(|| {
            cx.error(None, None, "the [sso] table is missing (session, start_url, region)")
        })?;
        let (sso_span, sso_t) = sso_t;
        cx.known_keys(sso_t, "sso", &["session", "start_url", "region", "registration_scopes"])?;
        let session = cx.required_str(sso_t, "sso", "session", &sso_span)?;
        if !is_session_name(session.get_ref()) {
            return Err(cx.error(
                Some(session.span()),
                Some("sso.session"),
                &format!(
                    "{:?} is not a valid session name (use letters, digits, - _ .)",
                    session.get_ref()
                ),
            ));
        }
        let start_url = cx.required_str(sso_t, "sso", "start_url", &sso_span)?;
        check_start_url(start_url.get_ref())
            .map_err(|m| cx.error(Some(start_url.span()), Some("sso.start_url"), &m))?;
        let sso_region = cx.region(sso_t, "sso", "region", &sso_span, true)?.expect("required");
        let scopes = cx.str_array(sso_t, "sso", "registration_scopes")?.unwrap_or_default();
        for (i, s) in scopes.iter().enumerate() {
            if s.get_ref().is_empty() || s.get_ref().contains([',', ' ']) {
                return Err(cx.error(
                    Some(s.span()),
                    Some(&format!("sso.registration_scopes[{i}]")),
                    &format!(
                        "{:?} is not a scope (one scope per string, e.g. \"sso:account:access\")",
                        s.get_ref()
                    ),
                ));
            }
        }

        let (name_template, region) = match cx.table(root, "", "profiles", &root_span)? {
            Some((span, t)) => {
                cx.known_keys(t, "profiles", &["name", "region"])?;
                let template = cx.str(t, "profiles", "name")?;
                if let Some(tpl) = &template {
                    check_template(tpl.get_ref())
                        .map_err(|m| cx.error(Some(tpl.span()), Some("profiles.name"), &m))?;
                }
                let region = cx.region(t, "profiles", "region", &span, false)?;
                (template, region)
            }
            None => (None, None),
        };

        let mut account_names = BTreeMap::new();
        if let Some((_, t)) = cx.table(root, "", "accounts", &root_span)? {
            for (k, v) in sorted(t) {
                let path = format!("accounts.{}", k.get_ref());
                check_account_id(k.get_ref())
                    .map_err(|m| cx.error(Some(k.span()), Some(&path), &m))?;
                let Some(name) = v.get_ref().as_str() else {
                    return Err(cx.type_error(v, &path, "a string (the account's name)"));
                };
                if name.trim().is_empty() {
                    return Err(cx.error(Some(v.span()), Some(&path), "the account name is empty"));
                }
                account_names.insert(k.get_ref().to_string(), name.to_string());
            }
        }

        let mut environments: Vec<Environment> = Vec::new();
        // account ID -> (environment name, line), to refuse an account in two environments.
        let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
        let envs = match cx.entry(root, "environments") {
            None => {
                return Err(cx.error(
                    None,
                    None,
                    "no [[environments]]: add at least one (name, accounts, role)",
                ));
            }
            Some(v) => match v.get_ref() {
                DeValue::Array(items) if !items.is_empty() => items,
                DeValue::Array(_) => {
                    return Err(cx.error(
                        Some(v.span()),
                        Some("environments"),
                        "is empty: add at least one environment",
                    ));
                }
                _ => {
                    return Err(cx.type_error(
                        v,
                        "environments",
                        "an array of tables ([[environments]])",
                    ));
                }
            },
        };
        for (i, item) in envs.iter().enumerate() {
            let path = format!("environments[{i}]");
            let Some(t) = item.get_ref().as_table() else {
                return Err(cx.type_error(item, &path, "a table ([[environments]])"));
            };
            let span = item.span();
            cx.known_keys(t, &path, &["name", "accounts", "role", "roles", "region"])?;
            let name = cx.required_str(t, &path, "name", &span)?;
            if name.get_ref().trim().is_empty() {
                return Err(cx.error(Some(name.span()), Some(&format!("{path}.name")), "is empty"));
            }
            if environments.iter().any(|e| &e.name == name.get_ref()) {
                return Err(cx.error(
                    Some(name.span()),
                    Some(&format!("{path}.name")),
                    &format!("environment {:?} is defined twice", name.get_ref()),
                ));
            }
            let accounts = cx.str_array(t, &path, "accounts")?.ok_or_else(|| {
                cx.error(
                    Some(span.clone()),
                    Some(&format!("{path}.accounts")),
                    "is missing (the account IDs in this environment)",
                )
            })?;
            if accounts.is_empty() {
                return Err(cx.error(
                    Some(span.clone()),
                    Some(&format!("{path}.accounts")),
                    "is empty",
                ));
            }
            for (j, a) in accounts.iter().enumerate() {
                let apath = format!("{path}.accounts[{j}]");
                check_account_id(a.get_ref())
                    .map_err(|m| cx.error(Some(a.span()), Some(&apath), &m))?;
                let line = cx.line(a.span().start);
                if let Some((other, other_line)) = seen.get(a.get_ref()) {
                    return Err(cx.error(
                        Some(a.span()),
                        Some(&apath),
                        &format!("account {} is already in environment {other:?} (line {other_line}); an account belongs to one environment", a.get_ref()),
                    ));
                }
                seen.insert(a.get_ref().clone(), (name.get_ref().clone(), line));
            }
            let role = cx.str(t, &path, "role")?;
            let roles = cx.str_array(t, &path, "roles")?;
            let roles: Vec<Spanned<String>> = match (role, roles) {
                (Some(r), None) => vec![r],
                (None, Some(rs)) if !rs.is_empty() => rs,
                (None, Some(_)) => {
                    return Err(cx.error(
                        Some(span.clone()),
                        Some(&format!("{path}.roles")),
                        "is empty",
                    ));
                }
                (Some(r), Some(_)) => {
                    return Err(cx.error(
                        Some(r.span()),
                        Some(&format!("{path}.role")),
                        "give either role or roles, not both",
                    ));
                }
                (None, None) => {
                    return Err(cx.error(
                        Some(span.clone()),
                        Some(&format!("{path}.role")),
                        "is missing (the role, or permission set, to use here)",
                    ));
                }
            };
            for (j, r) in roles.iter().enumerate() {
                if !is_role_name(r.get_ref()) {
                    return Err(cx.error(
                        Some(r.span()),
                        Some(&format!("{path}.role{}", if roles.len() > 1 { format!("s[{j}]") } else { String::new() })),
                        &format!("{:?} is not a valid role name (letters, digits and + = , . @ _ -, at most 64)", r.get_ref()),
                    ));
                }
            }
            let region = cx.region(t, &path, "region", &span, false)?;
            environments.push(Environment {
                name: name.into_inner(),
                accounts: accounts.into_iter().map(Spanned::into_inner).collect(),
                roles: roles.into_iter().map(Spanned::into_inner).collect(),
                region: region.map(Spanned::into_inner),
            });
        }

        let template_span = name_template.as_ref().map(|t| t.span());
        let team = TeamFile {
            sso: Sso {
                session: session.into_inner(),
                start_url: start_url.into_inner(),
                region: sso_region.get_ref().clone(),
                registration_scopes: scopes.into_iter().map(Spanned::into_inner).collect(),
            },
            name_template: name_template.map_or_else(|| "{env}".to_string(), Spanned::into_inner),
            region: region.map_or_else(|| sso_region.into_inner(), Spanned::into_inner),
            account_names,
            environments,
        };
        // Names not in [accounts] come from Identity Center at sign-in; a placeholder checks
        // the template now, and uniqueness is checked again once the real names are known.
        let names_known = !team.name_template.contains("{account_name}")
            || team
                .environments
                .iter()
                .flat_map(|e| &e.accounts)
                .all(|a| team.account_names.contains_key(a));
        let placeholder = |_: &str| Some("account".to_string());
        let planned =
            if names_known { team.profiles(&|_| None) } else { team.profiles(&placeholder) };
        if let Err(e) = planned {
            let msg = crate::error::find(&e).map_or_else(|| e.to_string(), |k| k.message.clone());
            return Err(cx.error(template_span, Some("profiles.name"), &msg));
        }
        Ok(team)
    }

    /// The environment an account belongs to.
    pub fn environment_of(&self, account_id: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.accounts.iter().any(|a| a == account_id))
    }

    /// Renders the profile name for one account and role. `account_name` (for example from
    /// Identity Center) is used when `[accounts]` does not name the account; without either,
    /// `{account_name}` falls back to the account ID. Characters a profile name cannot hold
    /// are replaced by `-` in the variables; the result must be a valid profile name.
    pub fn profile_name(
        &self,
        env: &str,
        account_id: &str,
        account_name: Option<&str>,
        role: &str,
    ) -> anyhow::Result<String> {
        let name = self
            .account_names
            .get(account_id)
            .map(String::as_str)
            .or(account_name)
            .unwrap_or(account_id);
        render_template(&self.name_template, &|var| match var {
            "env" => Some(env.to_string()),
            "account_id" => Some(account_id.to_string()),
            "account_name" => Some(name.to_string()),
            "role" => Some(role.to_string()),
            _ => None,
        })
    }

    /// Every profile the file asks for (each environment x account x role), in file order.
    /// `account_name` supplies names that `[accounts]` lacks. Two profiles with the same
    /// name are an error that says which variable to add to the template.
    pub fn profiles(
        &self,
        account_name: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Vec<PlannedProfile>> {
        let mut out: Vec<PlannedProfile> = Vec::new();
        for env in &self.environments {
            for account in &env.accounts {
                let known =
                    self.account_names.get(account).cloned().or_else(|| account_name(account));
                for role in &env.roles {
                    let name = self.profile_name(&env.name, account, known.as_deref(), role)?;
                    if let Some(other) = out.iter().find(|p| p.name == name) {
                        return Err(Error::user(format!(
                            "the template {:?} names two profiles {name:?} (account {} role {} and account {account} role {role}); add {{account_name}}, {{account_id}} or {{role}} to it",
                            self.name_template, other.account_id, other.role
                        ))
                        .into());
                    }
                    out.push(PlannedProfile {
                        name,
                        environment: env.name.clone(),
                        account_id: account.clone(),
                        account_name: known.clone(),
                        role: role.clone(),
                        region: env.region.clone().unwrap_or_else(|| self.region.clone()),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Checks a template's syntax: `{variable}` with known variables, no stray braces.
fn check_template(template: &str) -> Result<(), String> {
    if template.is_empty() {
        return Err("the profile name template is empty".into());
    }
    substitute(template, &|v| TEMPLATE_VARIABLES.contains(&v).then(|| "x".to_string()))
        .map(|_| ())
        .map_err(|e| crate::error::find(&e).map_or_else(|| e.to_string(), |k| k.message.clone()))
}

/// Replaces `{var}` in `template`; variable values are made safe for profile names, and the
/// result must be a valid profile name.
pub fn render_template(
    template: &str,
    var: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<String> {
    let out = substitute(template, var)?;
    if !is_valid_identifier(&out) {
        return Err(Error::user(format!(
            "template {template:?} gives the profile name {out:?}; profile names may use only letters, digits and _ - / . % @ : +"
        ))
        .into());
    }
    Ok(out)
}

fn substitute(template: &str, var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        if rest[i..].starts_with('}') {
            return Err(
                Error::user(format!("template {template:?} has a `}}` without a `{{`")).into()
            );
        }
        let Some(close) = rest[i..].find('}') else {
            return Err(
                Error::user(format!("template {template:?} has a `{{` without a `}}`")).into()
            );
        };
        let name = &rest[i + 1..i + close];
        let Some(value) = var(name) else {
            let known = TEMPLATE_VARIABLES
                .iter()
                .map(|v| format!("{{{v}}}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::user(format!(
                "template {template:?} uses {{{name}}}, which is not a variable (use {known})"
            ))
            .into());
        };
        out.extend(
            value.chars().map(|c| if is_valid_identifier(&c.to_string()) { c } else { '-' }),
        );
        rest = &rest[i + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

pub fn is_session_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn is_role_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

fn check_account_id(s: &str) -> Result<(), String> {
    if crate::sso::is_account_id(s) {
        Ok(())
    } else {
        Err(format!("{s:?} is not a 12-digit AWS account ID"))
    }
}

pub fn check_start_url(s: &str) -> Result<(), String> {
    let Some(rest) = s.strip_prefix("https://") else {
        return Err(format!(
            "{s:?} is not an https:// URL (the AWS access portal URL, e.g. https://d-1234567890.awsapps.com/start)"
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(['@', ' ']) || s.contains(char::is_whitespace) {
        return Err(format!("{s:?} is not a valid start URL"));
    }
    Ok(())
}

/// A region of any current AWS partition: `us-east-1`, `cn-north-1`, `us-gov-west-1`,
/// `eusc-de-east-1`, ...
pub fn is_region(s: &str) -> bool {
    crate::partition::is_region(s)
}

fn sorted<'a, 'i>(
    t: &'a DeTable<'i>,
) -> Vec<(&'a Spanned<toml::de::DeString<'i>>, &'a Spanned<DeValue<'i>>)> {
    let mut v: Vec<_> = t.iter().collect();
    v.sort_by_key(|(k, _)| k.span().start);
    v
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Error context: the text (for line numbers) and how to name the file.
struct Cx<'a> {
    text: &'a str,
    source: &'a str,
}

impl Cx<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    fn error(
        &self,
        span: Option<Range<usize>>,
        path: Option<&str>,
        message: &str,
    ) -> anyhow::Error {
        let mut text = format!("team file {}", self.source);
        if let Some(span) = span {
            text.push_str(&format!(", line {}", self.line(span.start)));
        }
        text.push_str(": ");
        if let Some(path) = path {
            text.push_str(path);
            text.push_str(": ");
        }
        text.push_str(message);
        Error::user(text)
            .hint("fix the team file (its format is described in profiles/example-team.toml)")
            .into()
    }

    fn type_error(&self, v: &Spanned<DeValue<'_>>, path: &str, want: &str) -> anyhow::Error {
        let extra = if want.contains("account ID")
            || path.contains("accounts") && v.get_ref().is_integer()
        {
            " (write account IDs as strings, \"012345678901\": a number loses leading zeros)"
        } else {
            ""
        };
        self.error(
            Some(v.span()),
            Some(path),
            &format!("expected {want}, found {}{extra}", v.get_ref().type_str()),
        )
    }

    fn known_keys(&self, t: &DeTable<'_>, prefix: &str, known: &[&str]) -> anyhow::Result<()> {
        for (k, _) in sorted(t) {
            let key = k.get_ref().as_ref();
            if known.contains(&key) {
                continue;
            }
            let path = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
            let suggestion = known
                .iter()
                .map(|c| (distance(key, c), c))
                .filter(|(d, c)| *d <= 2.max(c.len() / 4))
                .min()
                .map_or_else(String::new, |(_, c)| format!("; did you mean `{c}`?"));
            let allowed = known.join(", ");
            return Err(self.error(
                Some(k.span()),
                Some(&path),
                &format!("unknown key{suggestion} (known keys here: {allowed})"),
            ));
        }
        Ok(())
    }

    fn entry<'t, 'i>(&self, t: &'t DeTable<'i>, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
        t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
    }

    fn table<'t, 'i>(
        &self,
        t: &'t DeTable<'i>,
        prefix: &str,
        key: &str,
        _parent: &Range<usize>,
    ) -> anyhow::Result<Option<(Range<usize>, &'t DeTable<'i>)>> {
        match self.entry(t, key) {
            None => Ok(None),
            Some(v) => match v.get_ref().as_table() {
                Some(table) => Ok(Some((v.span(), table))),
                None => Err(self.type_error(v, &join(prefix, key), "a table")),
            },
        }
    }

    fn str(
        &self,
        t: &DeTable<'_>,
        prefix: &str,
        key: &str,
    ) -> anyhow::Result<Option<Spanned<String>>> {
        match self.entry(t, key) {
            None => Ok(None),
            Some(v) => match v.get_ref().as_str() {
                Some(s) => Ok(Some(Spanned::new(v.span(), s.to_string()))),
                None => Err(self.type_error(v, &join(prefix, key), "a string")),
            },
        }
    }

    fn required_str(
        &self,
        t: &DeTable<'_>,
        prefix: &str,
        key: &str,
        parent: &Range<usize>,
    ) -> anyhow::Result<Spanned<String>> {
        self.str(t, prefix, key)?
            .ok_or_else(|| self.error(Some(parent.clone()), Some(&join(prefix, key)), "is missing"))
    }

    fn str_array(
        &self,
        t: &DeTable<'_>,
        prefix: &str,
        key: &str,
    ) -> anyhow::Result<Option<Vec<Spanned<String>>>> {
        let path = join(prefix, key);
        let Some(v) = self.entry(t, key) else { return Ok(None) };
        let Some(items) = v.get_ref().as_array() else {
            return Err(self.type_error(v, &path, "an array of strings"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item.get_ref().as_str() {
                Some(s) => Ok(Spanned::new(item.span(), s.to_string())),
                None => Err(self.type_error(item, &format!("{path}[{i}]"), "a string")),
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(Some)
    }

    fn region(
        &self,
        t: &DeTable<'_>,
        prefix: &str,
        key: &str,
        parent: &Range<usize>,
        required: bool,
    ) -> anyhow::Result<Option<Spanned<String>>> {
        let value = if required {
            Some(self.required_str(t, prefix, key, parent)?)
        } else {
            self.str(t, prefix, key)?
        };
        if let Some(r) = &value
            && !is_region(r.get_ref())
        {
            return Err(self.error(
                Some(r.span()),
                Some(&join(prefix, key)),
                &format!(
                    "{:?} does not look like an AWS region (e.g. \"ap-northeast-2\")",
                    r.get_ref()
                ),
            ));
        }
        Ok(value)
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
[sso]
session = "acme"
start_url = "https://d-1234567890.awsapps.com/start"
region = "ap-northeast-2"

[profiles]
name = "{env}"
region = "ap-northeast-2"

[[environments]]
name = "dev"
accounts = ["111111111111"]
role = "Developer"
region = "us-west-2"

[[environments]]
name = "prod"
accounts = ["222222222222"]
role = "ReadOnly"
"#;

    #[test]
    fn the_design_schema_loads() {
        let team = TeamFile::parse(VALID, "t.toml").unwrap();
        assert_eq!(team.sso.session, "acme");
        let planned = team.profiles(&|_| None).unwrap();
        assert_eq!(
            planned
                .iter()
                .map(|p| (
                    p.name.as_str(),
                    p.account_id.as_str(),
                    p.role.as_str(),
                    p.region.as_str()
                ))
                .collect::<Vec<_>>(),
            [
                ("dev", "111111111111", "Developer", "us-west-2"),
                ("prod", "222222222222", "ReadOnly", "ap-northeast-2")
            ]
        );
        assert_eq!(team.environment_of("222222222222").unwrap().name, "prod");
    }

    #[test]
    fn templates_render_and_sanitize() {
        let vars = |v: &str| match v {
            "env" => Some("dev".to_string()),
            "account_name" => Some("Acme Dev (EU)".to_string()),
            "role" => Some("Power,User".to_string()),
            _ => None,
        };
        assert_eq!(
            render_template("{env}-{account_name}/{role}", &vars).unwrap(),
            "dev-Acme-Dev--EU-/Power-User"
        );
        assert!(render_template("{nope}", &vars).unwrap_err().to_string().contains("{nope}"));
        assert!(render_template("{env", &vars).is_err());
        assert!(
            render_template("a b {env}", &vars).unwrap_err().to_string().contains("\"a b dev\"")
        );
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "ap-northeast-2",
            "us-gov-west-1",
            "eu-isoe-west-1",
            "cn-north-1",
            "eusc-de-east-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["us-east", "US-EAST-1", "useast1", "us-east-1a", "", "u-east-1"] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(distance("regoin", "region"), 2);
        let err = TeamFile::parse(&VALID.replace("start_url", "start_ulr"), "t.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "team file t.toml, line 4: sso.start_ulr: unknown key; did you mean `start_url`? (known keys here: session, start_url, region, registration_scopes)"
        );
    }
}
