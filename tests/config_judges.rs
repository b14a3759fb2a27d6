//! AWS's own parsers judge the edited files: botocore (the AWS CLI's library), the AWS CLI,
//! and the Rust SDK's profile parser must read keyless's profiles exactly as written, and
//! every hand-written profile exactly as it was before the edit.
//!
//! Needs `KEYLESS_TEST_PYTHON`: a Python with botocore and the AWS CLI installed (the test
//! script sets it up). The test fails without it rather than passing untested.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_config::profile::ProfileSet;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_types::os_shim_internal::{Env, Fs};
use keyless::aws_config::ini::Document;
use keyless::aws_config::profiles::{self, CredentialProcess};
use serde_json::Value;

mod config_common;

/// Fixtures both SDKs can read. Left out: duplicate sections and keys before the first
/// section (botocore refuses the file), and a byte-order mark (neither SDK reads it).
const JUDGED: &[&str] = &[
    "commented.ini",
    "crlf.ini",
    "mixed-endings.ini",
    "unicode.ini",
    "no-trailing-newline.ini",
    "empty.ini",
    "managed-existing.ini",
];

fn python() -> PathBuf {
    let p = std::env::var_os("KEYLESS_TEST_PYTHON").expect(
        "KEYLESS_TEST_PYTHON must point at a Python with botocore and awscli (see scripts/test.sh)",
    );
    PathBuf::from(p)
}

const BOTOCORE: &str = r#"
import json, sys
import botocore.session
full = botocore.session.Session().full_config
out = {k: full.get(k, {}) for k in ("profiles", "sso_sessions", "services")}
out["scoped"] = {p: botocore.session.Session(profile=p).get_scoped_config() for p in sys.argv[1:]}
print(json.dumps(out))
"#;

fn clean(cmd: &mut Command, home: &Path, config: &Path) {
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .env("PYTHONUTF8", "1")
        .env("AWS_CONFIG_FILE", config)
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"));
}

fn botocore(config: &Path, scoped: &[&str]) -> Value {
    let home = config.parent().unwrap();
    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(BOTOCORE).args(scoped);
    clean(&mut cmd, home, config);
    let out = cmd.output().expect("running botocore");
    assert!(
        out.status.success(),
        "botocore failed on {}: {}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn aws_cli_get(config: &Path, profile: &str, key: &str) -> String {
    let aws = python().parent().unwrap().join("aws");
    let mut cmd = Command::new(python());
    cmd.arg(aws).args(["configure", "get", key, "--profile", profile]);
    clean(&mut cmd, config.parent().unwrap(), config);
    let out = cmd.output().expect("running the AWS CLI");
    assert!(
        out.status.success(),
        "aws configure get failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end_matches('\n').to_string()
}

fn rust_sdk(config: &Path) -> ProfileSet {
    let files = EnvConfigFiles::builder().with_file(EnvConfigFileKind::Config, config).build();
    keyless::util::block_on(aws_config::profile::load(
        &Fs::real(),
        &Env::from_slice(&[]),
        &files,
        None,
    ))
    .unwrap_or_else(|e| panic!("the Rust SDK failed on {}: {e}", config.display()))
}

fn command(account: &str, role: &str) -> String {
    CredentialProcess {
        binary: "/home/me/.local/bin/keyless".into(),
        session: "acme".into(),
        account: account.into(),
        role: role.into(),
        login_if_needed: false,
    }
    .command()
    .unwrap()
}

fn without(v: &Value, names: &[&str]) -> BTreeMap<String, Value> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !names.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn botocore_the_aws_cli_and_the_rust_sdk_read_the_edits_as_intended() {
    let home =
        std::env::temp_dir().join(format!("keyless-judges-{}", keyless::util::random_hex(6)));
    std::fs::create_dir_all(&home).unwrap();
    let managed = ["acme-dev", "acme-prod"];
    let expected = [
        ("acme-dev", command("111111111111", "Developer")),
        ("acme-prod", command("222222222222", "ReadOnly")),
    ];

    for name in JUDGED {
        let original_text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config").join(name),
        )
        .unwrap();
        let mut doc = Document::parse(&original_text);
        config_common::onboard(&mut doc);
        let original = home.join(format!("{name}.original"));
        let edited = home.join(format!("{name}.edited"));
        std::fs::write(&original, &original_text).unwrap();
        std::fs::write(&edited, doc.to_string()).unwrap();

        // botocore
        let before = botocore(&original, &[]);
        let after = botocore(&edited, &managed);
        for (profile, process) in &expected {
            for view in [&after["profiles"][profile], &after["scoped"][profile]] {
                assert_eq!(
                    view["credential_process"],
                    Value::from(process.as_str()),
                    "{name}: {profile}"
                );
                assert_eq!(view["region"], "ap-northeast-2", "{name}: {profile}");
                assert!(view.get("sso_account_id").is_none(), "{name}: {profile}: {view}");
            }
        }
        assert_eq!(
            after["sso_sessions"]["acme"],
            serde_json::json!({
                "sso_start_url": "https://d-1234567890.awsapps.com/start",
                "sso_region": "ap-northeast-2",
                "sso_registration_scopes": "sso:account:access",
            }),
            "{name}"
        );
        assert_eq!(
            without(&after["profiles"], &managed),
            without(&before["profiles"], &managed),
            "{name}: hand-written profiles changed for botocore"
        );
        assert_eq!(
            without(&after["sso_sessions"], &["acme"]),
            without(&before["sso_sessions"], &["acme"]),
            "{name}"
        );
        assert_eq!(after["services"], before["services"], "{name}");

        // The Rust SDK
        let before_rs = rust_sdk(&original);
        let after_rs = rust_sdk(&edited);
        for (profile, process) in &expected {
            let p = after_rs
                .get_profile(profile)
                .unwrap_or_else(|| panic!("{name}: Rust SDK has no {profile}"));
            assert_eq!(p.get("credential_process"), Some(process.as_str()), "{name}: {profile}");
            assert_eq!(p.get("region"), Some("ap-northeast-2"), "{name}: {profile}");
            assert_eq!(p.get("sso_account_id"), None, "{name}: {profile}");
        }
        let session = after_rs.sso_session("acme").expect("sso-session acme");
        assert_eq!(session.get("sso_start_url"), Some("https://d-1234567890.awsapps.com/start"));
        assert_eq!(session.get("sso_region"), Some("ap-northeast-2"));
        let mut before_names: Vec<&str> =
            before_rs.profiles().filter(|p| !managed.contains(p)).collect();
        let mut after_names: Vec<&str> =
            after_rs.profiles().filter(|p| !managed.contains(p)).collect();
        before_names.sort();
        after_names.sort();
        assert_eq!(after_names, before_names, "{name}: profiles the Rust SDK sees");
        let original_doc = Document::parse(&original_text);
        for profile in profiles::config_profiles(&original_doc) {
            if managed.contains(&profile.name.as_str()) {
                continue;
            }
            let (b, a) =
                match (before_rs.get_profile(&profile.name), after_rs.get_profile(&profile.name)) {
                    (Some(b), Some(a)) => (b, a),
                    // A name the Rust SDK ignores (non-ASCII, say) stays ignored.
                    (None, None) => continue,
                    (b, a) => panic!("{name}: [{}] before {b:?}, after {a:?}", profile.name),
                };
            for prop in &profile.properties {
                assert_eq!(
                    a.get(prop.key),
                    b.get(prop.key),
                    "{name}: [{}] {}",
                    profile.name,
                    prop.key
                );
            }
        }
        // Where the two SDKs read a hand-written inline comment differently, keyless's model
        // says so, and both readings survive the edit unchanged.
        if *name == "commented.ini" {
            let region = original_doc.get(&profiles::config_header("default"), "region").unwrap();
            assert_eq!(Value::from(region), after["profiles"]["default"]["region"]);
            assert_eq!(after_rs.get_profile("default").unwrap().get("region"), Some("us-east-1"));
        }
    }

    // And the AWS CLI itself, on the richest fixture.
    let edited = home.join("commented.ini.edited");
    assert_eq!(aws_cli_get(&edited, "acme-dev", "credential_process"), expected[0].1);
    assert_eq!(aws_cli_get(&edited, "acme-prod", "region"), "ap-northeast-2");
    assert_eq!(aws_cli_get(&edited, "legacy-sso", "sso_account_id"), "333333333333");
    let _ = std::fs::remove_dir_all(&home);
}
