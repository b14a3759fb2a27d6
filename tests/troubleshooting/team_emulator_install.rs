//! Troubleshooting messages: team files, the local Identity Center, and the installer.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.

use super::*;

use support::Emulator;

#[test]
fn a_team_file_that_cannot_be_read_is_named_with_the_flag_to_fix() {
    let user = offline_user();
    let missing = user.home.path().join("team.toml");
    let shown = missing.display().to_string();
    for args in [
        &["profiles", "sync", "--yes", "--team", &shown][..],
        &["onboard", "--yes", "--device-code", "--no-browser", "--team", &shown],
    ] {
        let (code, err) = fails(&user, args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("error: cannot read the team file {shown}: No such file")),
            "{args:?}: {err}"
        );
        assert!(err.contains("hint: pass the path of your team's TOML file with --team"), "{err}");
    }
    assert!(!user.config_path().exists(), "nothing was written");
}

#[test]
fn the_emulator_names_the_option_that_is_wrong() {
    let user = offline_user();
    for (args, message) in [
        (&["--addr", "nope"][..], "error: --addr \"nope\" is not an address like 127.0.0.1:0"),
        (&["--fault-rate", "2"], "error: --fault-rate must be between 0.0 and 1.0"),
        (&["--rate-limit", "0"], "error: --rate-limit must be a positive number"),
        (&["--token-ttl", "0"], "error: the TTLs must be positive numbers of seconds"),
        (&["--legacy-token-ttl", "0"], "error: the TTLs must be positive numbers of seconds"),
        (&["--role-ttl", "0"], "error: the TTLs must be positive numbers of seconds"),
        (&["--device-code-ttl=-1"], "error: the TTLs must be positive numbers of seconds"),
        (&["--poll-interval=-1"], "error: --poll-interval must be 0 or more seconds"),
    ] {
        let all = [&["emulator", "serve"][..], args].concat();
        let (code, err) = fails(&user, &all);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn an_emulator_on_a_taken_port_says_how_to_pick_another() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = fails(&offline_user(), &["emulator", "serve", "--addr", &addr]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("error: cannot listen on {addr}: Address already in use")),
        "{err}"
    );
    assert!(err.contains("hint: pick another --addr (port 0 picks a free port)"), "{err}");
}

/// A team file whose profile-name template is `template`.
fn team_file_with_template(template: &str) -> String {
    format!(
        "[sso]\nsession = \"acme\"\nstart_url = \"{START_URL}\"\nregion = \"{REGION}\"\n\n\
         [profiles]\nname = {template:?}\n\n\
         [[environments]]\nname = \"dev\"\naccounts = [\"111111111111\"]\nrole = \"Developer\"\n\n\
         [[environments]]\nname = \"prod\"\naccounts = [\"222222222222\"]\nrole = \"ReadOnly\"\n"
    )
}

#[test]
fn a_bad_profile_name_template_names_the_line_and_what_is_wrong() {
    let user = offline_user();
    let team = user.home.path().join("team.toml");
    let shown = team.display().to_string();
    for (template, message) in [
        ("acme-{env", "template \"acme-{env\" has a `{` without a `}`"),
        ("acme-env}", "template \"acme-env}\" has a `}` without a `{`"),
        (
            "acme-{environment}",
            "template \"acme-{environment}\" uses {environment}, which is not a variable (use {env}, {account_name}, {account_id}, {role})",
        ),
        (
            "team {env}",
            "template \"team {env}\" gives the profile name \"team dev\"; profile names may use only letters",
        ),
        (
            "acme",
            "the template \"acme\" names two profiles \"acme\" (account 111111111111 role Developer and account 222222222222 role ReadOnly); add {account_name}, {account_id} or {role} to it",
        ),
    ] {
        std::fs::write(&team, team_file_with_template(template)).unwrap();
        for args in [
            &["profiles", "sync", "--yes", "--team", &shown][..],
            &["onboard", "--yes", "--device-code", "--no-browser", "--team", &shown],
        ] {
            let (code, err) = fails(&user, args);
            assert_eq!(code, Some(1), "{template} {args:?}: {err}");
            assert!(
                err.contains(&format!(
                    "error: team file {shown}, line 7: profiles.name: {message}"
                )),
                "{template} {args:?}: {err}"
            );
            assert!(
                err.contains(
                    "hint: fix the team file (its format is described in profiles/example-team.toml)"
                ),
                "{err}"
            );
        }
    }
    assert!(!user.config_path().exists(), "nothing was written");
}

/// An SSO portal that pages forever: `ListAccounts` (or, with `roles`, `ListAccountRoles`)
/// answers every page with the same `nextToken`, as AWS never does. Its URL.
fn portal_repeating_its_next_token(roles: bool) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let body = if request_line.contains("/assignment/roles") {
                r#"{"roleList":[{"roleName":"Developer","accountId":"111111111111"}],"nextToken":"same"}"#
            } else if roles {
                r#"{"accountList":[{"accountId":"111111111111","accountName":"acme-dev","emailAddress":"dev@acme.example"}]}"#
            } else {
                r#"{"accountList":[{"accountId":"111111111111","accountName":"acme-dev","emailAddress":"dev@acme.example"}],"nextToken":"same"}"#
            };
            let _ = write!(
                &stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn a_portal_that_pages_forever_stops_the_listing_and_nothing_is_written() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    user.login();
    let config = std::fs::read_to_string(user.config_path()).unwrap();
    for (roles, listing) in
        [(false, "listing your accounts"), (true, "listing your roles in account 111111111111")]
    {
        user.extra_env =
            vec![("AWS_ENDPOINT_URL_SSO".into(), portal_repeating_its_next_token(roles))];
        let (code, err) = fails(&user, &["profiles", "sync", "--yes"]);
        assert_eq!(code, Some(1), "{listing}: {err}");
        assert!(
            err.contains(&format!(
                "error: {listing} stopped: the service sent the same nextToken twice"
            )),
            "{err}"
        );
        assert!(
            err.contains("hint: the service is misbehaving; try again later (nothing was written)"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(user.config_path()).unwrap(), config, "{listing}");
    }
}

#[test]
fn a_sync_template_that_names_three_roles_alike_says_what_to_add() {
    // One account with three roles: a template without variables names the first `acme`, the
    // second `acme-<account>`, and has no name left for the third.
    let emu = Emulator::start(&[
        "--auto-approve",
        "--generate-accounts",
        "1",
        "--roles-per-account",
        "3",
    ]);
    let user = User::new(&emu);
    user.login();
    let config = std::fs::read_to_string(user.config_path()).unwrap();
    let (code, err) = fails(&user, &["profiles", "sync", "--yes", "--template", "acme"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "error: the template \"acme\" gives two profiles the name \"acme-100000000000\""
        ),
        "{err}"
    );
    assert!(err.contains("hint: add {account_id} or {role} to the template"), "{err}");
    assert_eq!(std::fs::read_to_string(user.config_path()).unwrap(), config, "nothing was written");
}

#[test]
fn an_org_file_the_emulator_cannot_use_is_named_with_its_problem() {
    let user = offline_user();
    let org = user.home.path().join("org.toml");
    let shown = org.display().to_string();
    let hint = "hint: the format is in profiles/demo-org.toml; without --org the emulator serves that sample org";
    let (code, err) = fails(&user, &["emulator", "serve", "--org", &shown]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("error: cannot read the org file {shown}: No such file")),
        "{err}"
    );
    assert!(err.contains(hint), "{err}");
    for (text, problem) in [
        (
            "[[accounts]]\nid = \"1\"\nname = \"a\"\nemail = \"a@acme.example\"\nroles = [\"R\"]\n[[users]]\nname = \"alice\"\n",
            "account id \"1\" is not 12 digits",
        ),
        ("accounts = 3\n", "TOML parse error at line 1, column 12"),
        (
            "[[accounts]]\nid = \"111111111111\"\nname = \"a\"\nemail = \"a@acme.example\"\nroles = [\"R\"]\n",
            "the org needs at least one [[users]] entry (the first one approves logins)",
        ),
    ] {
        std::fs::write(&org, text).unwrap();
        let (code, err) = fails(&user, &["emulator", "serve", "--org", &shown]);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(&format!("error: the org file {shown} is not valid: {problem}")),
            "{err}"
        );
        assert!(err.contains(hint), "{err}");
    }
}
