//! `keyless doctor [--json]`: gathers the facts (files, environment, secure store, the clock
//! against STS) and prints the findings that `crate::doctor` derives from them.

use std::path::Path;
use std::time::Duration;

use clap::Args;

use crate::aws_config::{ini::Document, paths, profiles};
use crate::doctor::{
    self, BackupFact, ClockFact, EnvFacts, Facts, FileFact, ManagedProfile, SessionFact, StaticKey,
    StoreFact,
};
use crate::sso::endpoints::{self, Service};
use crate::sso::records::{self, Registration, Token};
use crate::store::{self, Choice};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON (`verdict`, then `findings` with `check`, `status`,
    /// `message` and `fix`).
    #[arg(long)]
    pub json: bool,
    /// Skip the clock check, the one check that uses the network.
    #[arg(long)]
    pub offline: bool,
}

/// Runs every check; returns the report and the exit code (1 when something needs fixing).
pub fn run(args: &DoctorArgs) -> anyhow::Result<(String, i32)> {
    let facts = gather(args.offline)?;
    let findings = doctor::findings(&facts);
    let code = i32::from(doctor::needs_attention(&findings));
    let report = if args.json { doctor::to_json(&findings) } else { doctor::render(&findings) };
    Ok((report, code))
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn mode(path: &Path) -> Option<u32> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.permissions().mode())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

fn gather(offline: bool) -> anyhow::Result<Facts> {
    let config_path = paths::config_path()?;
    let credentials_path = paths::credentials_path()?;
    let config = Document::parse(&read(&config_path).unwrap_or_default());
    let credentials = Document::parse(&read(&credentials_path).unwrap_or_default());

    let mut static_keys = Vec::new();
    for (keys, path) in [
        (profiles::static_keys(&credentials), &credentials_path),
        (profiles::config_static_keys(&config), &config_path),
    ] {
        for k in keys {
            static_keys.push(StaticKey {
                file: path.display().to_string(),
                profile: k.profile,
                temporary: k.session_token.is_some() || k.access_key_id.starts_with("ASIA"),
                key_id: doctor::mask_key_id(&k.access_key_id),
            });
        }
    }

    // Each distinct binary is looked at once, however many profiles run it.
    let mut binaries: std::collections::HashMap<std::path::PathBuf, (bool, Option<String>)> =
        std::collections::HashMap::new();
    let managed: Vec<ManagedProfile> = profiles::managed_profiles(&config)
        .into_iter()
        .map(|(p, c)| {
            let (exists, writable) = binaries
                .entry(c.binary.clone())
                .or_insert_with(|| (c.binary.is_file(), crate::exe::writable_by_others(&c.binary)))
                .clone();
            ManagedProfile {
                profile: p.name.clone(),
                binary_exists: exists,
                binary_writable_by_others: writable,
                binary: c.binary.display().to_string(),
                session: c.session,
            }
        })
        .collect();

    let env_var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let profile = env_var("AWS_PROFILE");
    let profile_exists = profile.as_deref().is_some_and(|p| {
        profiles::config_profile(&config, p).is_some()
            || profiles::credentials_profiles(&credentials).iter().any(|x| x.name == p)
    });
    let env = EnvFacts {
        access_key_id: env_var("AWS_ACCESS_KEY_ID").map(|k| doctor::mask_key_id(&k)),
        secret_access_key_set: env_var("AWS_SECRET_ACCESS_KEY").is_some(),
        profile,
        profile_exists,
    };

    let store = store_fact();
    let clock = if offline { ClockFact::Skipped } else { clock_fact(&store) };

    let backups = backup_facts(&[&credentials_path, &config_path]);
    let files = [(credentials_path, true), (config_path, false)]
        .into_iter()
        .map(|(path, holds_secrets)| FileFact {
            mode: mode(&path),
            path: path.display().to_string(),
            holds_secrets,
        })
        .collect();

    let current_binary = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "keyless".into());
    Ok(Facts {
        now: crate::time::now(),
        static_keys,
        env,
        managed,
        store,
        clock,
        files,
        backups,
        current_binary,
    })
}

/// The backups keyless kept of both files: whether each holds a secret, and its mode.
fn backup_facts(paths: &[&Path]) -> Vec<BackupFact> {
    let mut out = Vec::new();
    for path in paths {
        let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        for b in crate::aws_config::edit::backups(&target) {
            let holds_secret =
                read(&b).is_some_and(|text| Document::parse(&text).redact_secrets() > 0);
            out.push(BackupFact { mode: mode(&b), path: b.display().to_string(), holds_secret });
        }
    }
    out
}

fn store_fact() -> StoreFact {
    let choice = match store::choose() {
        Ok(c) => c,
        Err(e) => {
            let k = crate::error::find(&e);
            return StoreFact::Unusable {
                name: "keyless settings".into(),
                message: k.map_or_else(|| format!("{e:#}"), |k| k.message.clone()),
                fix: k.and_then(|k| k.hint.clone()).unwrap_or_default(),
            };
        }
    };
    let chosen = match &choice {
        Choice::Env(_) => "set by KEYLESS_STORE",
        Choice::ConfigFile(_) => "set in the keyless config file",
        Choice::Auto(_) => "chosen automatically",
    };
    let name = choice.name().to_string();
    let unusable = |e: &anyhow::Error| {
        let (message, fix) = match crate::error::find(e) {
            Some(k) => (k.message.clone(), k.hint.clone()),
            None => (format!("{e:#}"), None),
        };
        StoreFact::Unusable {
            name: name.clone(),
            message,
            fix: fix.unwrap_or_else(|| {
                format!("set KEYLESS_STORE to one of: {}", store::BACKENDS.join(", "))
            }),
        }
    };
    let opened = match store::open() {
        Ok(s) => s,
        Err(e) => return unusable(&e),
    };
    let keys = match opened.list("token:") {
        Ok(k) => k,
        Err(e) => return unusable(&crate::error::Error::from(e).into()),
    };
    let now = crate::time::now();
    let mut sessions = Vec::new();
    for key in keys {
        let Some(session) = key.strip_prefix("token:") else { continue };
        let token: Option<Token> = match records::load(opened.as_ref(), &key) {
            Ok(t) => t,
            Err(e) => return unusable(&e),
        };
        let Some(token) = token else { continue };
        let reg: Option<Registration> =
            records::load(opened.as_ref(), &records::registration_key(session)).ok().flatten();
        sessions.push(SessionFact {
            name: session.to_string(),
            expires_at: token.expires_at,
            refreshable: crate::sso::token::refreshable(&token, reg.as_ref(), now),
        });
    }
    sessions.sort_by(|a, b| a.name.cmp(&b.name));
    StoreFact::Usable { name, chosen: chosen.into(), sessions }
}

/// The region whose STS to ask (in its partition): the environment's, else the first
/// session's, else us-east-1.
fn sts_region(store: &StoreFact) -> String {
    if let Some(r) = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| crate::partition::is_region(v)))
    {
        return r;
    }
    if let StoreFact::Usable { sessions, .. } = store
        && let Ok(s) = store::open()
        && let Some(first) = sessions.first()
        && let Ok(Some(t)) = records::load::<Token>(s.as_ref(), &records::token_key(&first.name))
    {
        return t.region;
    }
    "us-east-1".into()
}

/// Compares local time with the `Date` of an (unsigned, so refused) STS request.
fn clock_fact(store: &StoreFact) -> ClockFact {
    let endpoint = match endpoints::resolve(Service::Sts, &sts_region(store)) {
        Ok(e) => e,
        Err(e) => {
            return ClockFact::Unreachable {
                endpoint: Service::Sts.env_var().into(),
                reason: crate::error::find(&e).map_or_else(|| e.to_string(), |k| k.message.clone()),
            };
        }
    };
    let url =
        format!("{}/?Action=GetCallerIdentity&Version=2011-06-15", endpoint.trim_end_matches('/'));
    let before = crate::time::now_millis();
    let result = crate::util::block_on(crate::net::get(&url, Duration::from_secs(5)));
    let after = crate::time::now_millis();
    let unreachable =
        |reason: String| ClockFact::Unreachable { endpoint: endpoint.clone(), reason };
    match result {
        Err(e) => unreachable(format!("{:#}", e.root_cause())),
        Ok(r) => match r.date.as_deref().and_then(doctor::parse_http_date) {
            None => unreachable("the response had no Date header".into()),
            Some(server) => {
                // The server stamped its Date somewhere between sending and receiving; its
                // clock has one-second resolution, so half a second is its midpoint.
                let local_ms = (before + after) / 2;
                let skew_ms = local_ms - (server * 1000 + 500);
                ClockFact::Measured {
                    endpoint: endpoint.clone(),
                    skew_secs: (skew_ms as f64 / 1000.0).round() as i64,
                }
            }
        },
    }
}
