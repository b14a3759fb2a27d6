//! Troubleshooting messages: team files, the local Identity Center, and the installer.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.

use super::*;

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
