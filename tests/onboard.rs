//! Day one, end to end against the emulator: `keyless onboard` (with a team file and `--yes`,
//! and driven through a pseudo-terminal), `keyless profiles sync` at scale and with
//! `--prune`, the migration of a long-lived key, `keyless demo`, and the bad inputs. The AWS
//! CLI is the judge of every profile written; no secret the emulator issued may reach a file
//! under the test HOME or the output.
//!
//! Needs `KEYLESS_TEST_PYTHON` (a Python with botocore and the AWS CLI) and the kernel keyring.
// Run on Unix (file modes of backups and of the binary's folders; Windows is exercised end to
// end by tests/wine/e2e.py), and linted for every system.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{Emulator, TempDir, keyless_bin};

const DEMO_KEY: &str = "AKIAACMEDEV000000001";
const DEMO_SECRET: &str = "acmeDemoSecretKey0000000000000000000000a";
const START_URL: &str = "https://d-1234567890.awsapps.com/start";

fn python() -> PathBuf {
    std::env::var_os("KEYLESS_TEST_PYTHON")
        .expect("KEYLESS_TEST_PYTHON must point at a Python with botocore and awscli (see scripts/test.sh)")
        .into()
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path).display().to_string()
}

/// A throwaway HOME wired to an emulator and a private keychain namespace.
struct Machine {
    home: TempDir,
    namespace: String,
    url: String,
}

impl Machine {
    fn new(emu: &Emulator) -> Machine {
        let home = TempDir::new("onboard");
        std::fs::create_dir_all(home.path().join(".aws")).unwrap();
        std::fs::create_dir_all(home.path().join("tmp")).unwrap();
        Machine {
            home,
            namespace: format!("keyless-test-{}", keyless::util::random_hex(6)),
            url: emu.url().to_string(),
        }
    }

    fn aws(&self) -> PathBuf {
        self.home.path().join(".aws")
    }

    /// Writes `~/.aws/credentials` holding the org's long-lived demo key in `[profile]`; returns
    /// the file's text.
    fn write_demo_key(&self, profile: &str) -> String {
        let text = format!(
            "[{profile}]\naws_access_key_id = {DEMO_KEY}\naws_secret_access_key = {DEMO_SECRET}\n"
        );
        std::fs::write(self.aws().join("credentials"), &text).unwrap();
        text
    }

    fn config(&self) -> String {
        std::fs::read_to_string(self.aws().join("config")).unwrap_or_default()
    }

    fn credentials(&self) -> String {
        std::fs::read_to_string(self.aws().join("credentials")).unwrap_or_default()
    }

    fn env(&self, c: &mut Command) {
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("TMPDIR", self.home.path().join("tmp"))
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("AWS_CONFIG_FILE", self.aws().join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.aws().join("credentials"))
            .env("KEYLESS_STORE", "keyutils")
            .env("KEYLESS_STORE_NAMESPACE", &self.namespace)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1");
        for s in ["SSO_OIDC", "SSO", "STS", "IAM"] {
            c.env(format!("AWS_ENDPOINT_URL_{s}"), &self.url);
        }
    }

    fn keyless(&self, args: &[&str]) -> Output {
        let mut c = Command::new(keyless_bin());
        self.env(&mut c);
        c.args(args).stdin(Stdio::null());
        support::user::run_bounded(c, 180)
    }

    /// The AWS CLI's `sts get-caller-identity --profile P`: the ARN, or the error output.
    fn aws_cli_arn(&self, profile: &str) -> Result<String, String> {
        let mut c = Command::new(python());
        self.env(&mut c);
        let out = c
            .args(["-m", "awscli", "sts", "get-caller-identity", "--output", "json"])
            .args(["--profile", profile, "--region", "ap-northeast-2"])
            .stdin(Stdio::null())
            .output()
            .expect("running the AWS CLI");
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        Ok(v["Arn"].as_str().unwrap().to_string())
    }

    /// No secret the emulator issued (the org's long-lived keys included), plain or encoded,
    /// is in a file under HOME (backups, locks, settings, the flow's temp dir) or in `outputs`.
    fn assert_no_secret_leaked(&self, emu: &Emulator, outputs: &[&Output]) {
        let texts = texts(outputs);
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        support::assert_no_secret_in(&[self.home.path()], &emu.secrets(), &texts);
    }

    /// Only the outputs: for a flow that deliberately leaves a key in the user's files.
    fn assert_no_secret_leaked_in_outputs(&self, emu: &Emulator, outputs: &[&Output]) {
        let texts = texts(outputs);
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        support::assert_no_secret_in(&[], &emu.secrets(), &texts);
    }

    /// The long-lived key's secret is in no file under HOME (backups, lock and settings files
    /// included), and every backup keyless kept is private to its owner.
    fn assert_key_secret_gone(&self) {
        support::assert_no_secret_in(&[self.home.path()], &[DEMO_SECRET.to_string()], &[]);
        #[cfg(unix)]
        for p in support::files_below(self.home.path()) {
            use std::os::unix::fs::PermissionsExt;
            if p.to_string_lossy().contains("keyless-backup") {
                let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} has mode {mode:o}", p.display());
            }
        }
    }

    fn backups(&self) -> usize {
        std::fs::read_dir(self.aws())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("keyless-backup"))
            .count()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        // Deletes this test's keychain entries, even those a failed logout would leave.
        let _ = self.keyless(&["logout", "--all"]);
        support::clear_keyring_namespace(&self.namespace);
    }
}

/// Every stdout and stderr of `outputs`, as text.
fn texts(outputs: &[&Output]) -> Vec<String> {
    outputs
        .iter()
        .flat_map(|o| [&o.stdout, &o.stderr])
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect()
}

fn ok(out: &Output) -> (String, String) {
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "exit {:?}\nstdout:\n{o}\nstderr:\n{e}", out.status.code());
    (o, e)
}

fn fails(out: &Output, code: i32) -> String {
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr:\n{e}");
    e
}

fn demo_emulator() -> Emulator {
    Emulator::start(&["--org", &repo("profiles/demo-org.toml"), "--auto-approve"])
}

const ONBOARD: &[&str] = &["onboard", "--device-code", "--no-browser", "--yes", "--team"];

fn onboard_demo(m: &Machine, extra: &[&str]) -> Output {
    let team = repo("profiles/demo-team.toml");
    let mut args: Vec<&str> = ONBOARD.to_vec();
    args.push(&team);
    args.extend(extra);
    m.keyless(&args)
}

#[test]
fn onboarding_with_a_team_file_writes_profiles_the_aws_cli_uses_and_a_rerun_changes_nothing() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    std::fs::write(m.aws().join("config"), "# mine\n[profile hand]\nregion = eu-west-1\n").unwrap();
    let first = onboard_demo(&m, &[]);
    let (stdout, _) = ok(&first);
    assert!(
        stdout.contains("acme-dev") && stdout.contains("assumed-role/AWSReservedSSO_Developer")
    );
    let config = m.config();
    assert!(config.starts_with("# mine\n[profile hand]\nregion = eu-west-1\n"), "{config}");
    assert!(
        config.contains(
            "[sso-session acme]\nsso_start_url = https://d-1234567890.awsapps.com/start\n"
        )
    );
    assert!(!config.contains("sso_account_id"));
    let dev = m.aws_cli_arn("acme-dev").unwrap();
    assert!(
        dev.starts_with("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_"),
        "{dev}"
    );
    assert!(dev.ends_with("/alice"));
    let prod = m.aws_cli_arn("acme-prod").unwrap();
    assert!(
        prod.starts_with("arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_ReadOnly_"),
        "{prod}"
    );
    assert_eq!(m.backups(), 1);

    // Same inputs again: already signed in, no diff, no backup, the file byte for byte.
    let second = onboard_demo(&m, &[]);
    let (_, err) = ok(&second);
    assert!(err.contains("Already signed in") && err.contains("already up to date"), "{err}");
    assert_eq!(m.config(), config);
    assert_eq!(m.backups(), 1);
    assert_eq!(emu.op_count("CreateToken"), 1);
    m.assert_no_secret_leaked(&emu, &[&first, &second]);
}

#[test]
fn migration_replaces_the_key_under_the_same_name_then_deactivates_it() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    std::fs::write(
        m.aws().join("credentials"),
        format!("[default]\naws_access_key_id = {DEMO_KEY}\naws_secret_access_key = {DEMO_SECRET}\nregion = ap-northeast-2\n"),
    )
    .unwrap();
    // Before: the AWS CLI uses the long-lived key.
    assert_eq!(m.aws_cli_arn("default").unwrap(), "arn:aws:iam::111111111111:user/alice");
    let out = onboard_demo(&m, &["--migrate"]);
    let (_, err) = ok(&out);
    assert!(err.contains("deactivated AKIAACMEDEV000000001"), "{err}");
    assert_eq!(emu.access_key_status(DEMO_KEY), "Inactive");
    let creds = m.credentials();
    assert!(!creds.contains(DEMO_KEY) && !creds.contains(DEMO_SECRET), "{creds}");
    assert!(creds.contains("region = ap-northeast-2"), "other settings stay: {creds}");
    let config = m.config();
    assert!(
        config.contains("[default]\n")
            && config.contains("--account 111111111111 --role Developer"),
        "{config}"
    );
    // After: the same profile name works, as the SSO role.
    let arn = m.aws_cli_arn("default").unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_"),
        "{arn}"
    );
    // The secret is nowhere under HOME (no backup of the credentials file): the emulator
    // lists the org's long-lived secrets with everything it issued.
    assert!(emu.secrets().iter().any(|s| s == DEMO_SECRET));
    m.assert_key_secret_gone();
    m.assert_no_secret_leaked(&emu, &[&out]);
}

#[test]
fn a_key_in_the_config_file_is_retired_like_one_in_the_credentials_file() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    // SDKs read static keys from config profiles too; config files are often 0644.
    let config = m.aws().join("config");
    std::fs::write(
        &config,
        format!("# mine\n[default]\naws_access_key_id = {DEMO_KEY}\naws_secret_access_key = {DEMO_SECRET}\nregion = ap-northeast-2\noutput = json\n"),
    )
    .unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    assert_eq!(m.aws_cli_arn("default").unwrap(), "arn:aws:iam::111111111111:user/alice");
    // doctor reports it before anything is done.
    let doctor = m.keyless(&["doctor", "--offline"]);
    assert!(
        String::from_utf8_lossy(&doctor.stdout).contains("holds long-lived access key AKIA…0001"),
        "{}",
        String::from_utf8_lossy(&doctor.stdout)
    );

    let out = onboard_demo(&m, &["--migrate"]);
    let (_, err) = ok(&out);
    assert!(err.contains("deactivated AKIAACMEDEV000000001"), "{err}");
    assert_eq!(emu.access_key_status(DEMO_KEY), "Inactive");
    let after = m.config();
    assert!(!after.contains(DEMO_KEY) && !after.contains(DEMO_SECRET), "{after}");
    assert!(after.starts_with("# mine\n[default]\n"), "{after}");
    assert!(after.contains("output = json\n"), "other settings stay: {after}");
    assert!(after.contains("--account 111111111111 --role Developer"), "{after}");
    let arn = m.aws_cli_arn("default").unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_"),
        "{arn}"
    );
    // Backups were kept of the config edits, but none holds the secret, and all are 0600.
    assert!(m.backups() >= 1);
    m.assert_key_secret_gone();
    m.assert_no_secret_leaked(&emu, &[&out]);
    // And doctor has nothing left to say about keys.
    let doctor = m.keyless(&["doctor", "--offline"]);
    let report = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(!report.contains("access key") && !report.contains("backup"), "{report}");
}

#[test]
fn without_migrate_and_with_yes_keys_are_left_alone() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    let creds = m.write_demo_key("old");
    let first = onboard_demo(&m, &[]);
    let (_, err) = ok(&first);
    assert!(err.contains("--migrate"), "{err}");
    assert_eq!(m.credentials(), creds);
    assert_eq!(emu.access_key_status(DEMO_KEY), "Active");
    // The key is left in the credentials file on purpose: scan for the issued secrets only
    // (the output for everything, the key included).
    let issued: Vec<String> = emu.secrets().into_iter().filter(|s| s != DEMO_SECRET).collect();
    support::assert_no_secret_in(&[m.home.path()], &issued, &[]);
    m.assert_no_secret_leaked_in_outputs(&emu, &[&first]);

    // Later, `keyless migrate` retires it, mapped by the team file.
    let team = repo("profiles/demo-team.toml");
    let migrate = m.keyless(&["migrate", "--yes", "--team", &team]);
    let (_, err) = ok(&migrate);
    assert!(err.contains("retired AKIAACMEDEV000000001"), "{err}");
    assert_eq!(emu.access_key_status(DEMO_KEY), "Inactive");
    assert_eq!(m.credentials(), "");
    let arn = m.aws_cli_arn("old").unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_"),
        "{arn}"
    );
    m.assert_key_secret_gone();
    m.assert_no_secret_leaked(&emu, &[&first, &migrate]);
}

#[test]
fn sync_writes_every_role_of_200_accounts_under_throttling_and_prunes_only_its_own() {
    let emu = Emulator::start(&[
        "--generate-accounts",
        "200",
        "--roles-per-account",
        "3",
        "--auto-approve",
        "--rate-limit",
        "300",
    ]);
    let m = Machine::new(&emu);
    let hand = "# hand-written\n[profile mine]\nregion = us-east-1\n";
    std::fs::write(m.aws().join("config"), hand).unwrap();
    ok(&m.keyless(&[
        "login",
        "--session",
        "gen",
        "--start-url",
        START_URL,
        "--region",
        "us-east-1",
        "--device-code",
        "--no-browser",
    ]));
    // A keyless profile for an assignment that does not exist (any more).
    let stale = format!(
        "\n[profile gone]\ncredential_process = {} credential-process --session gen --account 999999999999 --role Old\n",
        keyless_bin()
    );
    let mut c = m.config();
    c.push_str(&stale);
    std::fs::write(m.aws().join("config"), &c).unwrap();

    let dry = m.keyless(&["profiles", "sync", "--dry-run"]);
    let (diff, _) = ok(&dry);
    assert!(diff.contains("+[profile account-0000-Role1]"));
    assert_eq!(m.config(), c, "a dry run writes nothing");

    let sync = m.keyless(&["profiles", "sync", "--yes"]);
    let (_, err) = ok(&sync);
    assert!(err.contains("600 added"), "{err}");
    assert!(err.contains("1 keyless profile(s) point at roles you no longer have"), "{err}");
    let config = m.config();
    assert!(config.starts_with(hand));
    assert_eq!(config.matches("credential-process --session gen").count(), 601);
    let arn = m.aws_cli_arn("account-0137-Role2").unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::100000000137:assumed-role/AWSReservedSSO_Role2_"),
        "{arn}"
    );

    let prune = m.keyless(&["profiles", "sync", "--yes", "--prune"]);
    let (_, err) = ok(&prune);
    assert!(err.contains("1 removed"), "{err}");
    let config = m.config();
    assert!(!config.contains("[profile gone]") && config.contains("[profile mine]"));
    let (_, err) = ok(&m.keyless(&["profiles", "sync", "--yes", "--prune"]));
    assert!(err.contains("up to date"), "{err}");
    assert!(emu.op_count("ListAccountRoles") >= 600);
    m.assert_no_secret_leaked(&emu, &[&dry, &sync, &prune]);
}

/// An emulator whose one account has roles named as the service allows: one that no profile
/// can carry, and one that starts with `-` (IAM allows it) and would read as a flag.
fn odd_roles_emulator() -> Emulator {
    let org_dir = TempDir::new("odd-roles");
    let org = org_dir.path().join("org.toml");
    std::fs::write(
        &org,
        "[[accounts]]\nid = \"111111111111\"\nname = \"acme\"\nemail = \"a@acme.example\"\nroles = [\"Developer\", \"Bad;Role\", \"-Ops\"]\n[[users]]\nname = \"alice\"\n",
    )
    .unwrap();
    // The emulator has read the org file once it prints its URL.
    Emulator::start(&["--org", org.to_str().unwrap(), "--auto-approve"])
}

/// Why no profile can carry the role `Bad;Role`.
const BAD_ROLE_REASON: &str = "the role name `Bad;Role` contains `;`, which the AWS CLI and the AWS SDKs read differently in a credential_process command";

#[test]
fn onboarding_without_a_team_file_stops_at_a_role_it_cannot_write() {
    let emu = odd_roles_emulator();
    let m = Machine::new(&emu);
    let out = m.keyless(&[
        "onboard",
        "--session",
        "acme",
        "--start-url",
        START_URL,
        "--region",
        "us-east-1",
        "--device-code",
        "--no-browser",
        "--yes",
    ]);
    let err = fails(&out, 1);
    assert!(
        err.contains(&format!(
            "error: cannot write a profile for role `Bad;Role` in account 111111111111: {BAD_ROLE_REASON}"
        )),
        "{err}"
    );
    assert!(!m.config().contains("[profile "), "no profile was written: {}", m.config());
    m.assert_no_secret_leaked(&emu, &[&out]);
}

#[test]
fn sync_skips_a_role_it_cannot_write_finishes_the_rest_and_fails() {
    let emu = odd_roles_emulator();
    let m = Machine::new(&emu);
    ok(&m.keyless(&[
        "login",
        "--session",
        "acme",
        "--start-url",
        START_URL,
        "--region",
        "us-east-1",
        "--device-code",
        "--no-browser",
    ]));
    let out = m.keyless(&["profiles", "sync", "--yes"]);
    let err = fails(&out, 1);
    assert!(
        err.contains(&format!(
            "skipped role `Bad;Role` in account 111111111111: {BAD_ROLE_REASON}"
        )),
        "{err}"
    );
    assert!(err.contains("2 added") && err.contains("1 role(s) skipped"), "{err}");
    let config = m.config();
    assert!(config.contains("[profile acme-Developer]"), "{config}");
    assert!(!config.contains("Bad;Role"), "{config}");
    assert!(config.contains("--role=-Ops\n"), "{config}");
    // The AWS CLI runs both lines keyless wrote.
    for (profile, role) in [("acme-Developer", "Developer"), ("acme--Ops", "-Ops")] {
        let arn = m.aws_cli_arn(profile).unwrap();
        assert!(
            arn.starts_with(&format!(
                "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_{role}_"
            )),
            "{profile}: {arn}"
        );
    }
    m.assert_no_secret_leaked(&emu, &[&out]);
}

#[test]
fn a_malformed_team_file_is_an_error_that_names_the_line_and_writes_nothing() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    let team = m.home.path().join("team.toml");
    std::fs::write(
        &team,
        "[sso]\nsession = \"acme\"\nstart_url = \"http://x\"\nregion = \"ap-northeast-2\"\n",
    )
    .unwrap();
    let err = fails(&m.keyless(&["onboard", "--yes", "--team", team.to_str().unwrap()]), 1);
    assert!(err.contains("line 3") && err.contains("https://"), "{err}");
    assert!(!m.aws().join("config").exists());
}

#[test]
fn an_account_the_user_does_not_have_is_a_clear_error() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    let team = m.home.path().join("team.toml");
    let text = std::fs::read_to_string(repo("profiles/demo-team.toml"))
        .unwrap()
        .replace("222222222222", "333333333333");
    std::fs::write(&team, text).unwrap();
    let out = m.keyless(&[ONBOARD, &[team.to_str().unwrap()]].concat());
    let err = fails(&out, 1);
    assert!(err.contains("333333333333") && err.contains("not among"), "{err}");
    assert!(!m.aws().join("config").exists());
}

#[test]
fn a_hand_written_profile_of_the_same_name_is_never_overwritten() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    let mine = "[profile acme-dev]\nregion = eu-west-1\noutput = text\n";
    std::fs::write(m.aws().join("config"), mine).unwrap();
    let err = fails(&onboard_demo(&m, &[]), 1);
    assert!(
        err.contains("acme-dev") && err.contains("line 1") && err.contains("did not write"),
        "{err}"
    );
    assert_eq!(m.config(), mine);
    assert_eq!(m.backups(), 0);
}

#[test]
fn onboarding_checks_names_against_the_file_as_it_is_when_writing() {
    // No auto-approve: the sign-in waits for a person, as a real one can for minutes.
    let emu = Emulator::start(&["--org", &repo("profiles/demo-org.toml")]);
    let m = Machine::new(&emu);
    let team = repo("profiles/demo-team.toml");
    let mut c = Command::new(keyless_bin());
    m.env(&mut c);
    let mut child = c
        .args([ONBOARD, &[team.as_str()]].concat())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, rest) = support::read_stderr_until(&mut child, |l| {
        let t = l.trim();
        t.len() == 9 && t.as_bytes()[4] == b'-'
    });
    // While the user signs in, they write a profile of one of the names by hand.
    let mine = "[profile acme-dev]\nregion = eu-west-1\noutput = text\n";
    std::fs::write(m.aws().join("config"), mine).unwrap();
    emu.approve(code.trim());
    let out = support::user::wait_bounded(child, 60);
    let err = rest.recv().unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("acme-dev") && err.contains("did not write"), "{err}");
    assert_eq!(m.config(), mine);
    assert_eq!(m.backups(), 0);
}

#[test]
fn migrate_shows_the_diff_and_never_drops_other_credential_settings() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    ok(&onboard_demo(&m, &[]));
    let team = repo("profiles/demo-team.toml");
    m.write_demo_key("old");
    // A hand-written profile of the key's name that assumes a role: replacing it would drop
    // role_arn and source_profile. Under --yes it is skipped and named.
    let hand = "\n[profile old]\nrole_arn = arn:aws:iam::111111111111:role/Ops\nsource_profile = acme-dev\nregion = eu-west-1\n";
    let before = format!("{}{hand}", m.config());
    std::fs::write(m.aws().join("config"), &before).unwrap();
    let out = m.keyless(&["migrate", "--yes", "--team", &team]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("kept AKIAACMEDEV000000001 in profile `old`")
            && err.contains("role_arn, source_profile"),
        "{err}"
    );
    assert_eq!(m.config(), before);
    assert_eq!(emu.access_key_status(DEMO_KEY), "Active");
    assert!(m.credentials().contains(DEMO_KEY));

    // Once the user moved the role elsewhere, migrate shows the diff of the profile it rewrites.
    let plain = before
        .replace("role_arn = arn:aws:iam::111111111111:role/Ops\nsource_profile = acme-dev\n", "");
    std::fs::write(m.aws().join("config"), &plain).unwrap();
    let out = m.keyless(&["migrate", "--yes", "--team", &team]);
    let (_, err) = ok(&out);
    assert!(err.contains(&format!("+++ {}", m.aws().join("config").display())), "{err}");
    assert!(err.contains("+credential_process = "), "{err}");
    assert!(err.contains("retired AKIAACMEDEV000000001"), "{err}");
    assert!(m.config().contains("[profile old]\nregion = eu-west-1\ncredential_process = "));
    m.assert_key_secret_gone();
    m.assert_no_secret_leaked(&emu, &[&out]);
}

#[test]
#[cfg(unix)] // Unix file modes
fn a_keyless_binary_other_users_can_replace_is_never_written_into_profiles() {
    use std::os::unix::fs::PermissionsExt;
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    // keyless run once from a world-writable folder (a shared Downloads, /tmp).
    let exposed = TempDir::new("exposed");
    std::fs::set_permissions(exposed.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bin = exposed.path().join("keyless");
    if std::fs::hard_link(keyless_bin(), &bin).is_err() {
        std::fs::copy(keyless_bin(), &bin).unwrap();
    }
    let team = repo("profiles/demo-team.toml");
    let run = |extra: &[&str]| {
        let mut c = Command::new(&bin);
        m.env(&mut c);
        c.args([ONBOARD, &[team.as_str()], extra].concat()).stdin(Stdio::null()).output().unwrap()
    };
    let err = fails(&run(&[]), 1);
    let shown = exposed.path().display().to_string();
    let why = format!("the directory {shown} is writable by every user (mode 777)");
    assert!(
        err.contains(&format!(
            "error: keyless will not point AWS tools at {}: the directory {shown} is writable by every user (mode 777), so another user could replace it and receive your credentials",
            bin.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "hint: install keyless where only you (or root) can write, e.g. `install -m 755 {} ~/.local/bin/` (then run that copy), or pass --allow-binary-writable-by-others to accept the risk",
            bin.display()
        )),
        "{err}"
    );
    assert!(!m.aws().join("config").exists(), "nothing may be written");
    assert_eq!(emu.op_count("RegisterClient"), 0, "refused before signing in");

    // With the flag that names the risk, it warns and writes.
    let out = run(&["--allow-binary-writable-by-others"]);
    let (_, err) = ok(&out);
    assert!(
        err.contains(&format!(
            "warning: {why}; profiles will run {} anyway (--allow-binary-writable-by-others)",
            bin.display()
        )),
        "{err}"
    );
    assert!(
        m.config().contains(&format!("credential_process = {} credential-process", bin.display()))
    );
    // doctor reports the profiles that run it.
    let doctor = m.keyless(&["doctor", "--offline"]);
    let report = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(
        report.contains(&format!("2 profile(s) (acme-dev, acme-prod) run {}, but", bin.display()))
            && report.contains("another user could replace it"),
        "{report}"
    );
    assert_eq!(doctor.status.code(), Some(1));
}

#[test]
fn an_unwritable_config_is_a_clear_error() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    // A file where the config's directory should be: nobody (not even root) can create it.
    let blocker = m.home.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let team = repo("profiles/demo-team.toml");
    let mut c = Command::new(keyless_bin());
    m.env(&mut c);
    c.env("AWS_CONFIG_FILE", blocker.join("config"))
        .args([ONBOARD, &[team.as_str()]].concat())
        .stdin(Stdio::null());
    let out = support::user::run_bounded(c, 180);
    let err = fails(&out, 1);
    assert!(err.contains("blocker"), "{err}");
}

#[test]
fn without_a_terminal_and_without_yes_it_stops_before_anything() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    let team = repo("profiles/demo-team.toml");
    let err = fails(&m.keyless(&["onboard", "--team", &team]), 1);
    assert!(err.contains("--yes") && err.contains("no terminal"), "{err}");
    let err = fails(&m.keyless(&["profiles", "sync"]), 1);
    assert!(err.contains("--yes"), "{err}");
    let err = fails(&m.keyless(&["onboard", "--yes"]), 2);
    assert!(err.contains("--team"), "{err}");
    assert!(!m.aws().join("config").exists());
    assert_eq!(emu.op_count("RegisterClient"), 0);
}

#[test]
fn the_wizard_asks_through_a_terminal_and_does_what_the_keystrokes_say() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    m.write_demo_key("default");
    let steps = serde_json::json!([
        ["Name for this SSO session", "acme\r"],
        // Four roles, all chosen at first: untick the first (acme-dev Developer).
        ["Which roles do you want profiles for?", " \r"],
        ["Write these changes to", "y\r"],
        ["Replace 1 long-lived key", "y\r"],
        // The key's account has two roles and no team file: pick the second (ReadOnly).
        ["Which SSO role should profile `default` use", "\x1b[B\r"],
    ]);
    let mut c = Command::new(python());
    m.env(&mut c);
    c.args(["-c", support::PTY_DRIVER, &steps.to_string(), &keyless_bin()])
        .args(["onboard", "--start-url", START_URL, "--region", "ap-northeast-2"])
        .args(["--device-code", "--no-browser"])
        .stdin(Stdio::null());
    let out = support::user::run_bounded(c, 180);
    let transcript = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{transcript}\n{}", String::from_utf8_lossy(&out.stderr));
    let config = m.config();
    assert!(config.contains("[sso-session acme]"), "{config}");
    assert!(!config.contains("[profile acme-dev-Developer]"), "{config}");
    for p in ["acme-dev-ReadOnly", "acme-prod-ReadOnly", "acme-prod-Admin"] {
        assert!(config.contains(&format!("[profile {p}]")), "{p} missing:\n{config}");
    }
    assert!(
        m.aws_cli_arn("acme-prod-Admin")
            .unwrap()
            .contains(":222222222222:assumed-role/AWSReservedSSO_Admin_")
    );
    let arn = m.aws_cli_arn("default").unwrap();
    assert!(arn.contains(":111111111111:assumed-role/AWSReservedSSO_ReadOnly_"), "{arn}");
    assert_eq!(emu.access_key_status(DEMO_KEY), "Inactive");
    assert!(!m.credentials().contains(DEMO_SECRET));
    // Neither the terminal transcript nor any file holds a secret.
    m.assert_key_secret_gone();
    m.assert_no_secret_leaked(&emu, &[&out]);
}

#[test]
fn migrate_asks_before_dropping_a_profiles_other_credential_settings() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    ok(&onboard_demo(&m, &[]));
    m.write_demo_key("old");
    let before = format!(
        "{}\n[profile old]\nsso_session = acme\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n",
        m.config()
    );
    std::fs::write(m.aws().join("config"), &before).unwrap();
    // The user answers no to dropping the profile's SSO settings.
    let steps =
        serde_json::json!([["Replace 1 long-lived key", "y\r"], ["Replace it anyway?", "n\r"],]);
    let team = repo("profiles/demo-team.toml");
    let mut c = Command::new(python());
    m.env(&mut c);
    let out = c
        .args(["-c", support::PTY_DRIVER, &steps.to_string(), &keyless_bin()])
        .args(["migrate", "--team", &team])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{transcript}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        transcript.contains("also has sso_session, sso_account_id, sso_role_name"),
        "{transcript}"
    );
    assert!(transcript.contains("kept AKIAACMEDEV000000001 in profile `old`"), "{transcript}");
    assert_eq!(m.config(), before);
    assert_eq!(emu.access_key_status(DEMO_KEY), "Active");
}

#[test]
fn the_demo_runs_end_to_end_without_questions() {
    let home = TempDir::new("demo-home");
    let tmp = TempDir::new("demo-tmp");
    let demo_keys_before = demo_keyring_entries();
    let mut c = Command::new(keyless_bin());
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", tmp.path())
        .env("KEYLESS_STORE", "keyutils")
        .env("NO_COLOR", "1")
        .args(["demo", "--yes"])
        .stdin(Stdio::null());
    let out = support::user::run_bounded(c, 300);
    let (stdout, stderr) = ok(&out);
    assert!(
        stdout.contains("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_"),
        "{stdout}"
    );
    assert!(
        stdout.contains("arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_ReadOnly_"),
        "{stdout}"
    );
    assert!(stderr.contains("is now inactive"), "{stderr}");
    // The demo's long-lived key is never shown, in any form.
    support::assert_no_secret_in(&[], &[DEMO_SECRET.to_string()], &[&stdout, &stderr]);
    // Nothing was written to the HOME it was started with, its throwaway directory (under
    // TMPDIR) is gone, and its keychain namespace is empty again.
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "the demo left files behind");
    // Another demo running at the same time under this user shows its entries until it ends;
    // entries this one left never go away. So wait for the new ones to go (bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let left = loop {
        let left: Vec<String> =
            demo_keyring_entries().into_iter().filter(|k| !demo_keys_before.contains(k)).collect();
        if left.is_empty() || std::time::Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert!(left.is_empty(), "the demo left keyring entries: {left:?}");
}

/// Descriptions of the kernel-keyring entries of demo namespaces this user can see.
fn demo_keyring_entries() -> Vec<String> {
    let keys = std::fs::read_to_string("/proc/keys").expect("/proc/keys (kernel keyring)");
    keys.lines()
        .filter_map(|l| l.split_once(" user ").map(|(_, d)| d.trim_start().to_string()))
        .filter(|d| d.starts_with("keyless-demo-"))
        .collect()
}

/// An IAM endpoint that answers every request with `200 OK` and a body larger than any
/// client should read (more than the 256 KiB keyless takes); its URL.
fn oversized_iam() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // Read the whole request first, so the answer is not cut short by a reset.
            let mut reader = BufReader::new(&stream);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let big = "<x/>".repeat(300 * 1024 / 4);
            let _ = write!(
                &stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{big}",
                big.len()
            );
        }
    });
    url
}

#[test]
fn migration_when_iam_answers_with_too_much_names_the_endpoint_and_keeps_the_key_active() {
    let emu = demo_emulator();
    let m = Machine::new(&emu);
    m.write_demo_key("default");
    let iam = oversized_iam();
    let team = repo("profiles/demo-team.toml");
    let mut c = Command::new(keyless_bin());
    m.env(&mut c);
    c.env("AWS_ENDPOINT_URL_IAM", &iam).stdin(Stdio::null());
    c.args(ONBOARD).arg(&team).arg("--migrate");
    let out = support::user::run_bounded(c, 180);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let reason =
        format!("IAM at {iam} answered badly: reading the response: length limit exceeded");
    // The reason is quoted as it is, not as an error of its own ("(error: …)").
    assert!(err.contains(&format!("  could not deactivate it: {reason}\n")), "{err}");
    assert!(
        err.contains(&format!(
            "replaced {DEMO_KEY} in profile `default`, but it is still ACTIVE in IAM ({reason})"
        )),
        "{err}"
    );
    // The key was never deactivated, but it is gone from the machine and the profile is SSO.
    assert_eq!(emu.access_key_status(DEMO_KEY), "Active");
    let arn = m.aws_cli_arn("default").unwrap();
    assert!(arn.contains(":assumed-role/AWSReservedSSO_Developer_"), "{arn}");
    m.assert_key_secret_gone();
    m.assert_no_secret_leaked(&emu, &[&out]);
}

#[test]
fn migration_when_iam_refuses_deactivation_says_what_an_administrator_must_do() {
    // The same organisation, but the user's policy does not allow iam:UpdateAccessKey.
    let org_dir = TempDir::new("org");
    let org = std::fs::read_to_string(repo("profiles/demo-org.toml")).unwrap();
    let org = org.replacen("[[access_keys]]", "[[access_keys]]\nmay_deactivate = false", 1);
    let org_path = org_dir.path().join("org.toml");
    std::fs::write(&org_path, org).unwrap();
    let emu = Emulator::start(&["--org", org_path.to_str().unwrap(), "--auto-approve"]);
    let m = Machine::new(&emu);
    m.write_demo_key("default");
    let out = onboard_demo(&m, &["--migrate"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("IAM refused to deactivate it") && err.contains("AccessDenied"), "{err}");
    assert!(err.contains("it is still ACTIVE in IAM"), "{err}");
    assert!(
        err.contains(&format!(
            "aws iam update-access-key --user-name alice --access-key-id {DEMO_KEY} --status Inactive"
        )),
        "{err}"
    );
    // The key is still active in IAM, but gone from the machine; the profile works as SSO.
    assert_eq!(emu.access_key_status(DEMO_KEY), "Active");
    assert!(!m.credentials().contains(DEMO_SECRET));
    let arn = m.aws_cli_arn("default").unwrap();
    assert!(arn.contains(":assumed-role/AWSReservedSSO_Developer_"), "{arn}");
    // The key is still active, so it matters all the more that no copy of it stays behind.
    m.assert_key_secret_gone();
    m.assert_no_secret_leaked(&emu, &[&out]);
}
