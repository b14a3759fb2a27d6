//! Identity traffic goes only where the user pointed that service: the global
//! `AWS_ENDPOINT_URL` (set for LocalStack or MinIO) never receives a token, a client secret or
//! role credentials, and an identity endpoint over plain http is refused unless it is loopback.

mod eco;
mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use eco::{Home, text};
use support::Emulator;

const DEV: &str = "111111111111";

/// A listener that records every request it receives and refuses it (HTTP 400, an OIDC
/// `invalid_request`, which no SDK retries).
struct Trap {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Trap {
    fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                stream.set_read_timeout(Some(std::time::Duration::from_secs(2))).ok();
                let mut buf = vec![0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                record.lock().unwrap().push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let body = r#"{"error":"invalid_request","error_description":"trap"}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nx-amzn-ErrorType: InvalidRequestException\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Trap { url, seen }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn home_without(emu: &Emulator, label: &str, unset: &str, trap: &Trap) -> Home {
    let mut home = Home::with_emulator(label, emu);
    home.env.retain(|(k, _)| k != unset);
    home.env.push(("AWS_ENDPOINT_URL".into(), trap.url.clone()));
    home.seed_session(emu, "acme");
    home.write_config(&Home::managed_profile(
        "acme-dev",
        &support::keyless_bin(),
        "acme",
        DEV,
        "Developer",
    ));
    home
}

#[test]
fn console_never_sends_role_credentials_to_the_global_endpoint() {
    let emu = Emulator::start(&["--auto-approve"]);
    let trap = Trap::start();
    let home = home_without(&emu, "global-signin", "AWS_ENDPOINT_URL_SIGNIN", &trap);

    let out = home.run(&["console", "--profile", "acme-dev", "--federate", "--print"]);
    let stderr = text(&out.stderr);
    // Without AWS_ENDPOINT_URL_SIGNIN the federation endpoint is AWS's (unreachable here).
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("signin.aws.amazon.com"), "{stderr}");
    assert_eq!(trap.requests(), Vec::<String>::new(), "the global endpoint got identity traffic");
}

#[test]
fn whoami_and_credentials_never_reach_the_global_endpoint() {
    let emu = Emulator::start(&["--auto-approve"]);
    let trap = Trap::start();
    let home = home_without(&emu, "global-sts", "AWS_ENDPOINT_URL_STS", &trap);

    // The portal is reached through its own variable: credentials work.
    let out = home.run(&[
        "credential-process",
        "--session",
        "acme",
        "--account",
        DEV,
        "--role",
        "Developer",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // STS has no variable of its own: AWS's STS (unreachable here), never the global one.
    let out = home.run(&["whoami", "--profile", "acme-dev"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(trap.requests(), Vec::<String>::new(), "the global endpoint got identity traffic");
}

#[test]
fn plain_http_identity_endpoint_is_refused_unless_loopback() {
    let home = Home::new("plain-http");
    let mut home = home;
    home.env.push(("AWS_ENDPOINT_URL_SSO_OIDC".into(), "http://192.0.2.10:8080".into()));
    let out = home.run(&support::user::login_args("--device-code"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: AWS_ENDPOINT_URL_SSO_OIDC points at plain http (`http://192.0.2.10:8080`): identity endpoints need https"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("https is required"), "{stderr}");
}

#[test]
fn an_identity_endpoint_with_a_user_before_its_host_is_refused() {
    // Either form sends tokens to the host after the `@`, whatever the text before it suggests.
    // What precedes the `@` may be a password: the message shows only what follows it.
    for (url, shown) in [
        ("https://127.0.0.1@attacker.example", "https://…@attacker.example"),
        ("http://user:s3cr3t@192.0.2.10:8080/", "http://…@192.0.2.10:8080/"),
    ] {
        let mut home = Home::new("user-info");
        home.env.push(("AWS_ENDPOINT_URL_SSO_OIDC".into(), url.into()));
        let out = home.run(&support::user::login_args("--device-code"));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "error: AWS_ENDPOINT_URL_SSO_OIDC names a user before its host (`{shown}`): identity endpoints have none"
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("s3cr3t") && !stderr.contains("127.0.0.1@"), "{stderr}");
        assert!(stderr.contains("the host is what follows the `@`"), "{stderr}");
    }
}

/// CloudTrail shows which tool called: every SDK request names keyless in its user agent.
#[test]
fn requests_name_keyless_in_the_user_agent() {
    let trap = Trap::start();
    let mut home = Home::new("user-agent");
    home.env.push(("AWS_ENDPOINT_URL_SSO_OIDC".into(), trap.url.clone()));
    let out = home.run(&support::user::login_args("--device-code"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let requests = trap.requests();
    let register = requests
        .iter()
        .find(|r| r.starts_with("POST /client/register"))
        .unwrap_or_else(|| panic!("no RegisterClient request: {requests:?}"));
    let ua = register
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("user-agent:"))
        .unwrap_or_else(|| panic!("no user agent: {register}"));
    assert!(ua.contains("app/keyless"), "{ua}");
}

/// `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT`, or the same settings in the active
/// profile, move SSO-OIDC to AWS's FIPS or dual-stack host (unreachable here: the error names
/// the host that was tried).
#[test]
fn fips_and_dual_stack_settings_change_the_endpoints() {
    let tried = |env: &[(&str, &str)], config: &str| {
        let mut home = Home::new("fips");
        home.write_config(config);
        home.env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let out = home.run(&[
            "login",
            "--session",
            "acme",
            "--start-url",
            eco::START_URL,
            "--region",
            "us-east-1",
            "--device-code",
            "--no-browser",
        ]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        stderr
    };
    let plain = tried(&[], "");
    assert!(plain.contains("https://oidc.us-east-1.amazonaws.com"), "{plain}");
    let fips = tried(&[("AWS_USE_FIPS_ENDPOINT", "true")], "");
    assert!(fips.contains("https://oidc-fips.us-east-1.amazonaws.com"), "{fips}");
    let dual = tried(&[("AWS_USE_DUALSTACK_ENDPOINT", "true")], "");
    assert!(dual.contains("https://oidc.us-east-1.api.aws"), "{dual}");
    let both = tried(&[], "[default]\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\n");
    assert!(both.contains("https://oidc-fips.us-east-1.api.aws"), "{both}");
    // The environment wins over the profile, as in the SDKs.
    let env_off =
        tried(&[("AWS_USE_FIPS_ENDPOINT", "false")], "[default]\nuse_fips_endpoint = true\n");
    assert!(env_off.contains("https://oidc.us-east-1.amazonaws.com"), "{env_off}");
}

/// A custom-domain start URL is resolved as the AWS CLI does: it must lead to an AWS access
/// portal. One that cannot be reached (or leads elsewhere) stops the sign-in with the reason,
/// before anything reaches Identity Center.
#[test]
fn a_custom_domain_start_url_must_lead_to_an_access_portal() {
    let emu = Emulator::start(&["--auto-approve"]);
    let home = Home::with_emulator("vanity", &emu);
    let out = home.run(&[
        "login",
        "--session",
        "acme",
        "--start-url",
        "https://sso.example.invalid/start",
        "--region",
        eco::REGION,
        "--device-code",
        "--no-browser",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not resolve the start URL https://sso.example.invalid/start"),
        "{stderr}"
    );
    assert_eq!(emu.op_count("RegisterClient"), 0, "nothing reached Identity Center");
}
