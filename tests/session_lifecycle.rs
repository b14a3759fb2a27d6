//! A session's life as AWS runs it: a refresh token belongs to the client that got it, a
//! registration Identity Center no longer knows is replaced, and logout ends the session at
//! Identity Center even after the access token expired.

mod support;

use std::time::{Duration, Instant};

use keyless::sso::records::{self, Registration, Token};
use keyless::store::Store;
use support::Emulator;
use support::user::{User, login_args, text};

const DEV: &str = "111111111111";

fn store(user: &User) -> Box<dyn Store> {
    keyless::store::open_in("keyutils", &user.namespace).expect("the kernel keyring must be usable")
}

/// Polls until `ready` holds (the machine may be slow; no fixed sleeps).
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_abandoned_sign_in_does_not_break_refreshing_the_session() {
    // Tokens live 10 minutes: inside the 15-minute refresh window, so every call refreshes.
    let emu = Emulator::start(&["--auto-approve", "--token-ttl", "600"]);
    let user = User::new(&emu);
    user.login();
    let device_client =
        records::load::<Registration>(store(&user).as_ref(), &records::registration_key("acme"))
            .unwrap()
            .expect("a registration")
            .client_id;

    // A browser sign-in registers its own client, then is abandoned before the browser answers.
    let mut child = user.spawn(&login_args("--pkce"));
    wait_for("the browser sign-in's registration", || {
        records::load::<Registration>(store(&user).as_ref(), &records::registration_key("acme"))
            .unwrap()
            .is_some_and(|r| r.client_id != device_client)
    });
    child.kill().unwrap();
    child.wait().unwrap();

    // The session from the first sign-in still refreshes, with the client that obtained it.
    let before = emu.op_count("CreateToken");
    let out = user.credential_process(DEV, "Developer");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(emu.op_count("CreateToken"), before + 1, "one refresh");
    let token: Token =
        records::load(store(&user).as_ref(), &records::token_key("acme")).unwrap().unwrap();
    assert_eq!(token.client.map(|c| c.client_id), Some(device_client));
    user.assert_no_secret_leaked(&emu, &[&text(&out.stderr)]);
}

#[test]
fn a_registration_identity_center_rejects_is_replaced() {
    let first = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&first);
    user.login();
    drop(first);

    // Another Identity Center at the same address knows nothing of the stored registration.
    let second = Emulator::start(&["--auto-approve"]);
    user.endpoint = second.url().to_string();
    let out = user.run(&login_args("--device-code"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr
            .contains("Identity Center rejected the stored sign-in client: InvalidClientException")
            && stderr.contains("; registering a new one and starting the sign-in again."),
        "{stderr}"
    );
    assert_eq!(second.op_count("RegisterClient"), 1, "registered once, anew");
    assert_eq!(second.op_count("StartDeviceAuthorization"), 2, "tried once more");
    let out = user.credential_process(DEV, "Developer");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn logout_after_the_access_token_expired_ends_the_session_at_identity_center() {
    let emu = Emulator::start(&["--auto-approve", "--token-ttl", "2"]);
    let user = User::new(&emu);
    user.login();
    wait_for("the access token to expire", || {
        let t: Token =
            records::load(store(&user).as_ref(), &records::token_key("acme")).unwrap().unwrap();
        t.expires_at <= keyless::time::now()
    });
    let refreshes = emu.op_count("CreateToken");
    let out = user.run(&["logout", "--session", "acme"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(emu.op_count("CreateToken"), refreshes + 1, "refreshed to sign out");
    assert_eq!(emu.op_count("Logout"), 1, "the session was ended at Identity Center");
    assert!(
        records::load::<Token>(store(&user).as_ref(), &records::token_key("acme"))
            .unwrap()
            .is_none()
    );
}

/// A refresh the service refuses because an earlier attempt (timed out on our side) already
/// used the refresh token: if the rotated token reached the store meanwhile, the session goes
/// on; keyless reads the store again before asking for a new sign-in.
#[test]
fn a_refused_refresh_rereads_the_store_before_asking_to_sign_in() {
    use std::io::{Read, Write};
    let emu = Emulator::start(&["--auto-approve", "--token-ttl", "600"]);
    let mut user = User::new(&emu);
    user.login();
    let signed_in: Token =
        records::load(store(&user).as_ref(), &records::token_key("acme")).unwrap().unwrap();

    // An SSO-OIDC endpoint that, while the refresh is in flight, lets the rotated token land
    // in the store (as the attempt the service honoured would have), then refuses the retry.
    let rotated = emu.device_login()["accessToken"].as_str().unwrap().to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    user.extra_env.push((
        "AWS_ENDPOINT_URL_SSO_OIDC".into(),
        format!("http://{}", listener.local_addr().unwrap()),
    ));
    let namespace = user.namespace.clone();
    let winner = Token {
        access_token: keyless::secret::Secret::new(rotated.clone()),
        expires_at: keyless::time::now() + 3600,
        ..signed_in.clone()
    };
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 8192];
        let _ = stream.read(&mut buf);
        let store = keyless::store::open_in("keyutils", &namespace).unwrap();
        records::save(store.as_ref(), &records::token_key("acme"), &winner).unwrap();
        let body = r#"{"error":"invalid_grant","error_description":"Refresh token already used"}"#;
        let _ = write!(
            stream,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nx-amzn-ErrorType: InvalidGrantException\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });

    let out = user.credential_process(DEV, "Developer");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let now: Token =
        records::load(store(&user).as_ref(), &records::token_key("acme")).unwrap().unwrap();
    assert_eq!(now.access_token.expose(), &rotated);
}
