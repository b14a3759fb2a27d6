//! Team files: the shipped examples load, and every malformed file names the line and key.

use std::path::Path;

use keyless::team::TeamFile;

fn repo(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn the_shipped_team_files_load() {
    let example = TeamFile::load(&repo("profiles/example-team.toml")).unwrap();
    assert_eq!(example.sso.start_url, "https://d-1234567890.awsapps.com/start");
    assert_eq!(example.sso.region, "ap-northeast-2");
    assert_eq!(example.sso.registration_scopes, ["sso:account:access"]);
    assert_eq!(example.account_names["111111111111"], "example-dev");
    let names: Vec<_> = example.profiles(&|_| None).unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["dev", "prod"]);

    let demo = TeamFile::load(&repo("profiles/demo-team.toml")).unwrap();
    assert_eq!(demo.sso.session, "acme");
    let planned = demo.profiles(&|_| None).unwrap();
    let got: Vec<_> = planned
        .iter()
        .map(|p| (p.name.as_str(), p.account_id.as_str(), p.role.as_str(), p.region.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("acme-dev", "111111111111", "Developer", "ap-northeast-2"),
            ("acme-prod", "222222222222", "ReadOnly", "ap-northeast-2")
        ]
    );
}

const BASE: &str = r#"[sso]
session = "acme"
start_url = "https://d-1234567890.awsapps.com/start"
region = "ap-northeast-2"

[profiles]
name = "{env}"

[[environments]]
name = "dev"
accounts = ["111111111111"]
role = "Developer"

[[environments]]
name = "prod"
accounts = ["222222222222"]
role = "ReadOnly"
"#;

fn err(text: &str) -> String {
    let e = TeamFile::parse(text, "acme.toml").expect_err("should be refused");
    assert_eq!(keyless::error::exit_code(&e), 1);
    e.to_string()
}

#[test]
fn extensions_load() {
    let text = BASE
        .replace(
            "role = \"Developer\"",
            "roles = [\"Developer\", \"Admin\"]\nregion = \"us-west-2\"",
        )
        .replace("name = \"{env}\"", "name = \"{account_name}-{role}\"\nregion = \"eu-west-1\"")
        + "\n[accounts]\n\"111111111111\" = \"Acme Dev\"\n";
    let team = TeamFile::parse(&text, "acme.toml").unwrap();
    let got: Vec<_> = team
        .profiles(&|id| (id == "222222222222").then(|| "acme prod".to_string()))
        .unwrap()
        .into_iter()
        .map(|p| (p.name, p.region))
        .collect();
    assert_eq!(
        got,
        [
            ("Acme-Dev-Developer".to_string(), "us-west-2".to_string()),
            ("Acme-Dev-Admin".into(), "us-west-2".into()),
            ("acme-prod-ReadOnly".into(), "eu-west-1".into()),
        ]
    );
    // Without [profiles].region the Identity Center region is used.
    let team = TeamFile::parse(BASE, "acme.toml").unwrap();
    assert_eq!(team.region, "ap-northeast-2");
}

#[test]
fn malformed_files_name_the_line_and_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "\"222222222222\"]",
            "\"2222\"]",
            "team file acme.toml, line 16: environments[1].accounts[0]: \"2222\" is not a 12-digit AWS account ID",
        ),
        (
            "https://d-1234567890",
            "http://d-1234567890",
            "team file acme.toml, line 3: sso.start_url: \"http://d-1234567890.awsapps.com/start\" is not an https:// URL",
        ),
        (
            "region = \"ap-northeast-2\"",
            "region = \"Seoul\"",
            "team file acme.toml, line 4: sso.region: \"Seoul\" does not look like an AWS region",
        ),
        (
            "name = \"prod\"",
            "name = \"dev\"",
            "team file acme.toml, line 15: environments[1].name: environment \"dev\" is defined twice",
        ),
        (
            "\"222222222222\"]",
            "\"111111111111\"]",
            "team file acme.toml, line 16: environments[1].accounts[0]: account 111111111111 is already in environment \"dev\" (line 11)",
        ),
        (
            "role = \"ReadOnly\"",
            "rol = \"ReadOnly\"",
            "team file acme.toml, line 17: environments[1].rol: unknown key; did you mean `role`?",
        ),
        (
            "name = \"{env}\"",
            "name = \"{environment}\"",
            "team file acme.toml, line 7: profiles.name: template \"{environment}\" uses {environment}, which is not a variable",
        ),
        (
            "name = \"{env}\"",
            "name = \"team {env}\"",
            "team file acme.toml, line 7: profiles.name: template \"team {env}\" gives the profile name \"team dev\"",
        ),
        (
            "name = \"{env}\"",
            "name = \"acme\"",
            "team file acme.toml, line 7: profiles.name: the template \"acme\" names two profiles \"acme\"",
        ),
        (
            "[\"111111111111\"]",
            "[111111111111]",
            "team file acme.toml, line 11: environments[0].accounts[0]: expected a string, found integer (write account IDs as strings",
        ),
        (
            "role = \"Developer\"",
            "role = \"Developer\"\nroles = [\"Admin\"]",
            "team file acme.toml, line 12: environments[0].role: give either role or roles, not both",
        ),
        (
            "session = \"acme\"",
            "session = \"acme corp\"",
            "team file acme.toml, line 2: sso.session: \"acme corp\" is not a valid session name",
        ),
        (
            "[profiles]",
            "[profile]",
            "team file acme.toml, line 6: profile: unknown key; did you mean `profiles`?",
        ),
        ("region = \"ap-northeast-2\"", "region = ", "team file acme.toml, line 4: not valid TOML"),
    ];
    for (from, to, want) in cases {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let got = err(&text);
        assert!(got.starts_with(want), "for {to:?}\n got: {got}\nwant: {want}");
    }
    assert_eq!(
        err(&BASE.replace("role = \"Developer\"\n", "")),
        "team file acme.toml, line 9: environments[0].role: is missing (the role, or permission set, to use here)"
    );
    assert!(err("").starts_with("team file acme.toml: the [sso] table is missing"));
    let missing = TeamFile::load(Path::new("/nonexistent/team.toml")).unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/team.toml"));
}
