//! Troubleshooting messages: the console, AWS config files, and key migration.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.

use super::*;

/// Role credentials as a non-keyless tool leaves them in the credentials file: temporary
/// (`ASIA…` with a session token), so the console may federate them. Nothing checks them
/// before the sign-in endpoint does.
fn temporary_credentials(user: &User) {
    std::fs::write(
        user.credentials_path(),
        "[temp]\naws_access_key_id = ASIAEXAMPLETEMP00001\naws_secret_access_key = tempSecretKeyThatNoOutputMayShow0000000\naws_session_token = tempSessionTokenThatNoOutputMayShow\n",
    )
    .unwrap();
}

/// A sign-in endpoint on loopback that answers every request with HTTP 200 and `body`.
fn signin_endpoint(body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn the_console_needs_temporary_credentials_and_says_where_to_get_them() {
    let user = offline_user();
    std::fs::write(
        user.credentials_path(),
        "[old]\naws_access_key_id = AKIAACMEDEV000000001\naws_secret_access_key = acmeDemoSecretKey0000000000000000000000a\n",
    )
    .unwrap();
    std::fs::write(user.config_path(), "[profile empty]\nregion = eu-west-1\n").unwrap();

    let (code, err) = fails(&user, &["console", "--profile", "old", "--print"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "error: profile `old` uses long-lived access keys, which cannot sign in to the console"
        ),
        "{err}"
    );
    assert!(err.contains("hint: use a keyless profile (SSO role credentials) instead"), "{err}");
    assert!(!err.contains("acmeDemoSecretKey"), "{err}");

    // A profile with no credential settings at all, and one that does not exist: the SDK's
    // "the credential provider was not enabled" is not shown, the way out is.
    for profile in ["empty", "nosuch"] {
        let (code, err) = fails(&user, &["console", "--profile", profile, "--print"]);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains(&format!("error: profile `{profile}` has no credentials")), "{err}");
        assert!(
            err.contains(
                "hint: run `keyless profiles sync` or `keyless onboard` to create keyless profiles"
            ),
            "{err}"
        );
        assert!(!err.contains("not enabled"), "{err}");
    }

    let (code, err) = fails(&user, &["console", "--profile", "old", "--service", "S3"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("error: invalid value 'S3' for '--service <SERVICE>': `S3` is not a console service name (e.g. s3, ec2, lambda)"),
        "{err}"
    );
}

#[test]
fn a_sign_in_endpoint_that_is_down_or_answers_without_a_token_is_named() {
    let mut user = offline_user();
    temporary_credentials(&user);
    // Nothing listens at the user's endpoint (port 9).
    let (code, err) = fails(&user, &["console", "--profile", "temp", "--federate", "--print"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("error: could not reach the AWS sign-in endpoint: requesting http://127.0.0.1:9/federation?…: "),
        "{err}"
    );
    assert!(
        err.contains(
            "hint: check your network connection (or AWS_ENDPOINT_URL_SIGNIN) and try again"
        ),
        "{err}"
    );
    assert!(!err.contains("tempSecretKey") && !err.contains("tempSessionToken"), "{err}");

    // An endpoint that answers 200 with something that is not a sign-in token.
    let signin = signin_endpoint(r#"{"Signin":"not the field AWS documents"}"#);
    user.extra_env.push(("AWS_ENDPOINT_URL_SIGNIN".into(), signin));
    let (code, err) = fails(&user, &["console", "--profile", "temp", "--print"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("error: the AWS sign-in endpoint answered without a sign-in token"),
        "{err}"
    );
    assert!(err.contains("hint: check AWS_ENDPOINT_URL_SIGNIN, or try again later"), "{err}");
}

#[test]
fn without_a_browser_the_console_says_to_print_the_url() {
    let mut user = offline_user();
    std::fs::write(
        user.config_path(),
        format!(
            "[sso-session acme]\nsso_start_url = {START_URL}\nsso_region = {REGION}\n\n[profile dev]\nsso_session = acme\nsso_account_id = 111111111111\nsso_role_name = Developer\n"
        ),
    )
    .unwrap();
    // A machine with no browser installed: nothing on PATH opens a page.
    let empty = support::TempDir::new("no-browsers");
    user.extra_env.push(("PATH".into(), empty.path().display().to_string()));
    let (code, err) = fails(&user, &["console", "--profile", "dev"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error: could not open a browser: "), "{err}");
    assert!(
        err.contains("hint: run `keyless console --print --profile dev` and open the URL yourself"),
        "{err}"
    );
}
