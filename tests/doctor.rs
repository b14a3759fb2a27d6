//! `keyless doctor` against crafted HOMEs: each finding is detected with its fix, no secret is
//! ever printed, and the exit code says whether something needs fixing. Run on Linux (the
//! crafted HOMEs use the kernel keyring and Unix file modes), and linted for every system.

mod eco;
mod support;

use eco::{Home, text};
use support::Emulator;

const SECRET: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY1";
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const ENV_KEY_ID: &str = "AKIAENVIRONMENT00042";
const ENV_SECRET: &str = "envSecretThatMustNeverBePrinted000000000";

fn doctor(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let out = home.run(&all);
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn chmod(path: &std::path::Path, mode: u32) {
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    #[cfg(not(unix))]
    let _ = (path, mode);
}

#[test]
fn a_healthy_machine_passes() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("doctor-ok", &emu);
    home.seed_session(&emu, "acme");
    home.write_config(&Home::managed_profile(
        "acme-dev",
        &support::keyless_bin(),
        "acme",
        "111111111111",
        "Developer",
    ));
    chmod(&home.config_path(), 0o600);
    let (code, stdout, stderr) = doctor(&home, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ok       secure store"), "{stdout}");
    assert!(stdout.contains("SSO session `acme`: valid for"), "{stdout}");
    assert!(stdout.contains(&format!("in sync with {}", emu.url())), "{stdout}");
    assert!(stdout.ends_with("Verdict: all good.\n"), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
    // No token of the session it checked is printed or written.
    let (_, json, _) = doctor(&home, &["--json"]);
    home.assert_no_secret_leaked(&emu, &[], &[&stdout, &stderr, &json]);
}

#[test]
fn every_finding_is_detected_with_its_fix_and_no_secret() {
    let emu = Emulator::start(&["--auto-approve", "--clock-offset", "-600"]);
    let mut home = Home::with_emulator("doctor-bad", &emu);
    home.write_credentials(&format!(
        "[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    ));
    chmod(&home.credentials_path(), 0o644);
    home.write_config(&format!(
        "{}{}",
        Home::managed_profile("acme-dev", "/opt/gone/keyless", "acme", "111111111111", "Developer"),
        Home::managed_profile("soon", &support::keyless_bin(), "soon", "111111111111", "ReadOnly"),
    ));
    chmod(&home.config_path(), 0o640);
    let now = keyless::time::now();
    home.seed_token("acme", now - 60);
    home.seed_token("soon", now + 1800);
    home.env.push(("AWS_ACCESS_KEY_ID".into(), ENV_KEY_ID.into()));
    home.env.push(("AWS_SECRET_ACCESS_KEY".into(), ENV_SECRET.into()));
    home.env.push(("AWS_PROFILE".into(), "acme-dev".into()));

    let (code, stdout, stderr) = doctor(&home, &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let creds = home.credentials_path().display().to_string();
    let config = home.config_path().display().to_string();
    for expected in [
        format!("PROBLEM  access key        profile `default` in {creds} holds long-lived access key AKIA…MPLE"),
        "fix: run `keyless onboard --migrate`".to_string(),
        "PROBLEM  session           SSO session `acme` has expired".to_string(),
        "fix: run `keyless login --session acme`".to_string(),
        "warning  session           SSO session `soon` ends in".to_string(),
        "PROBLEM  profile           profile `acme-dev` runs /opt/gone/keyless, which no longer exists".to_string(),
        "fix: run `keyless profiles sync --session acme`".to_string(),
        "PROBLEM  environment       AWS_ACCESS_KEY_ID (AKIA…0042) is set: every AWS tool in this shell uses it instead of your profiles (AWS_PROFILE=acme-dev is ignored while they are set)".to_string(),
        "fix: unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN".to_string(),
        format!("PROBLEM  file permissions  {creds} is readable by every user on this machine (mode 644)"),
        format!("fix: chmod 600 {creds}"),
        format!("warning  file permissions  {config} is readable by its group (mode 640)"),
        format!("PROBLEM  clock             this machine's clock is 600s ahead of {}", emu.url()),
        "fix: turn on automatic time synchronisation".to_string(),
        "Verdict: 6 problems and 2 warnings to fix.".to_string(),
    ] {
        assert!(stdout.contains(&expected), "missing {expected:?} in:\n{stdout}");
    }

    let (json_code, json, _) = doctor(&home, &["--json"]);
    assert_eq!(json_code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).expect("doctor --json is JSON");
    assert_eq!(v["verdict"], "needs-attention");
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.iter().filter(|f| f["status"] == "problem").count(), 6, "{json}");
    assert!(
        findings
            .iter()
            .all(|f| f["status"] == "ok" || f["status"] == "info" || f["fix"].is_string())
    );

    // Neither the keys it reports (in full, or encoded) nor anything the emulator issued is
    // printed. The HOME deliberately keeps the user's long-lived key in its credentials file,
    // so the files are scanned for the issued secrets only.
    let reported = [SECRET, KEY_ID, ENV_SECRET, ENV_KEY_ID];
    support::assert_no_secret_in(&[], &strings(&reported), &[&stdout, &stderr, &json]);
    home.assert_no_secret_leaked(&emu, &[], &[&stdout, &stderr, &json]);
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_profile_named_by_aws_profile_must_exist() {
    let mut home = Home::new("doctor-profile");
    home.env.push(("AWS_PROFILE".into(), "nope".into()));
    let (code, stdout, _) = doctor(&home, &["--offline"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("AWS_PROFILE=nope names a profile that does not exist"), "{stdout}");
}

#[test]
fn an_unusable_secure_store_names_the_fix() {
    let mut home = Home::new("doctor-store");
    home.env.push(("KEYLESS_STORE".into(), "secret-service".into()));
    let (code, stdout, stderr) = doctor(&home, &["--offline"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("PROBLEM  secure store  `secret-service` cannot be used"), "{stdout}");
    assert!(stdout.contains("KEYLESS_STORE=keyutils"), "{stdout}");
}

#[test]
fn an_unreachable_sts_is_reported_but_not_a_failure() {
    let mut home = Home::new("doctor-offline");
    // Nothing listens on port 9 of loopback.
    home.env.push(("AWS_ENDPOINT_URL_STS".into(), "http://127.0.0.1:9".into()));
    let (code, stdout, _) = doctor(&home, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("info     clock"), "{stdout}");
    assert!(stdout.contains("could not compare the clock with http://127.0.0.1:9"), "{stdout}");
}

#[test]
fn a_backup_that_holds_a_secret_is_reported() {
    // An older keyless kept the config file's previous content, key and all, readable by
    // everyone. The key itself is gone from the config, so only the backup still holds it.
    let home = Home::new("doctor-backup");
    home.write_config("[default]\nregion = us-east-1\n");
    chmod(&home.config_path(), 0o600);
    let backup = home.path().join(".aws").join("config.keyless-backup-20260101T000000Z");
    std::fs::write(
        &backup,
        format!("[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    chmod(&backup, 0o644);
    let open = home.path().join(".aws").join("config.keyless-backup-20260101T000001Z");
    std::fs::write(&open, "[default]\nregion = eu-west-1\n").unwrap();
    chmod(&open, 0o644);
    let (code, stdout, stderr) = doctor(&home, &["--offline"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let (b, o) = (backup.display().to_string(), open.display().to_string());
    for expected in [
        format!("PROBLEM  backup        {b} is a keyless backup that holds a secret"),
        format!("rm {b}"),
        format!(
            "warning  backup        {o} is a keyless backup readable or writable by others (mode 644)"
        ),
        format!("fix: chmod 600 {o}"),
    ] {
        assert!(stdout.contains(&expected), "missing {expected:?} in:\n{stdout}");
    }
    // The backup deliberately keeps the key: only the output is scanned for it.
    support::assert_no_secret_in(&[], &strings(&[SECRET, KEY_ID]), &[&stdout, &stderr]);
}
