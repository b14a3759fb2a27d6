//! Troubleshooting messages: endpoints, signing in and sessions, and the secure store.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.

use super::*;

use support::Emulator;

/// A user with no reachable identity endpoint whose keyless uses the store `store` (`KEYLESS_STORE`).
fn with_store(store: &str) -> User {
    let mut user = offline_user();
    user.extra_env.push(("KEYLESS_STORE".into(), store.into()));
    user
}

#[test]
fn a_store_of_another_operating_system_is_named_as_such() {
    // Stores keyless knows, but for another operating system than this one.
    let elsewhere: &[&str] = if cfg!(target_os = "macos") {
        &["wincred", "keyutils"]
    } else if cfg!(windows) {
        &["keychain", "secret-service"]
    } else {
        &["keychain", "wincred"]
    };
    for &store in elsewhere {
        let user = with_store(store);
        let (code, err) = fails(
            &user,
            &["login", "--session", "acme", "--start-url", START_URL, "--region", REGION],
        );
        assert_eq!(code, Some(1), "{store}: {err}");
        assert!(
            err.contains(&format!(
                "error: the {store} keychain is not available: `{store}` does not exist on this operating system"
            )),
            "{store}: {err}"
        );
        assert!(err.contains("hint: run `keyless doctor`"), "{store}: {err}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_secret_service_without_a_d_bus_session_is_not_available() {
    // The user's environment has no DBUS_SESSION_BUS_ADDRESS (as over SSH or in a container).
    let user = with_store("secret-service");
    let (code, err) =
        fails(&user, &["login", "--session", "acme", "--start-url", START_URL, "--region", REGION]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "error: the secret-service keychain is not available: there is no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)"
        ),
        "{err}"
    );
    assert!(err.contains("KEYLESS_STORE=keyutils"), "the hint offers the kernel keyring: {err}");
    assert!(!user.config_path().exists(), "nothing was written");
}

/// Waits until keyless itself sees the session's access token as expired.
fn wait_for_expiry(user: &User) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = user.run(&["status", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if status["sessions"][0]["token_valid"] == false {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the token never expired: {status}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The access token has run out and the token endpoint cannot be reached to refresh it (the
/// network is down, or a proxy blocks it): credentials cannot be had, and `logout` removes the
/// local copy but says that the session lives on at Identity Center.
#[test]
fn an_expired_session_that_cannot_be_refreshed_now_is_not_called_over() {
    let emu = Emulator::start(&["--auto-approve", "--token-ttl", "2"]);
    let mut user = User::new(&emu);
    user.login();
    wait_for_expiry(&user);
    user.extra_env.push(("AWS_ENDPOINT_URL_SSO_OIDC".into(), "http://127.0.0.1:9".into()));

    let out = user.credential_process("111111111111", "Developer");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty(), "credential-process printed: {}", text(&out.stdout));
    assert!(
        err.contains(
            "error: could not refresh the SSO session `acme`: the endpoint could not be reached"
        ),
        "{err}"
    );
    assert!(err.contains("hint: check your network connection and try again"), "{err}");
    assert_eq!(emu.op_count("GetRoleCredentials"), 0, "{}", emu.stats());

    let out = user.run(&["logout", "--session", "acme"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "warning: could not end `acme` at Identity Center (could not refresh the SSO session `acme`: the endpoint could not be reached); the local copy is removed anyway\n"
        ),
        "{err}"
    );
    assert!(err.contains("Signed out of `acme`"), "{err}");
    assert_eq!(emu.op_count("Logout"), 0, "{}", emu.stats());
    let out = user.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["sessions"][0]["signed_in"], false, "{status}");
}

/// Runs a program with the kernel keyring's system calls (`add_key`, `request_key`, `keyctl`)
/// refused with EPERM by a seccomp filter, as container runtimes' default profiles do (the
/// kernel keyring is not namespaced): `python -c KEYRING_JAIL ADD_KEY REQUEST_KEY KEYCTL
/// PROGRAM ARGS...`. A jail for a test, not a sandbox: it filters this architecture's calls.
#[cfg(target_os = "linux")]
const KEYRING_JAIL: &str = r#"
import ctypes, os, sys
nrs = [int(n) for n in sys.argv[1:4]]
argv = sys.argv[4:]
class Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]
LD_NR, JEQ, RET = 0x20, 0x15, 0x06
ALLOW, EPERM = 0x7FFF0000, 0x00050000 | 1
insns = [Insn(LD_NR, 0, 0, 0)]
insns += [Insn(JEQ, len(nrs) - i, 0, nr) for i, nr in enumerate(nrs)]
insns += [Insn(RET, 0, 0, ALLOW), Insn(RET, 0, 0, EPERM)]
prog = Prog(len(insns), (Insn * len(insns))(*insns))
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0):
    sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
os.execvp(argv[0], argv)
"#;

#[cfg(target_os = "linux")]
#[test]
fn a_kernel_keyring_the_system_refuses_is_not_available() {
    let user = offline_user();
    let nrs = [libc::SYS_add_key, libc::SYS_request_key, libc::SYS_keyctl].map(|n| n.to_string());
    let jailed = |program: &[&str]| {
        let mut args = vec!["-c", KEYRING_JAIL];
        args.extend(nrs.iter().map(String::as_str));
        args.extend(program);
        support::user::run_bounded(user.python(&args), 60)
    };
    // The jail works: keyctl itself is refused in it.
    let probe = jailed(&["keyctl", "show", "@u"]);
    assert!(!probe.status.success(), "keyctl worked in the jail: {}", text(&probe.stdout));
    assert!(text(&probe.stderr).contains("Operation not permitted"), "{}", text(&probe.stderr));
    let bin = support::keyless_bin();
    let out = jailed(&[&[bin.as_str()][..], &support::user::login_args("--device-code")].concat());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        err.contains(
            "error: the keyutils keychain is not available: the user keyring cannot be opened: the system refused access to the kernel keyring (a container or sandbox may block it)"
        ),
        "{err}"
    );
    assert!(err.contains("KEYLESS_STORE=secret-service"), "the hint names the other store: {err}");
    assert!(!user.config_path().exists(), "nothing was written");
}

/// The kernel refuses an entry that does not fit in the user's key quota: here the sign-in's
/// client registration, which holds a start URL longer than the whole quota. The sign-in runs
/// as a user of its own when the tests run as root (root's quota is far larger), else as this
/// user, whose entries stay as they are: only the oversized one is refused.
#[cfg(target_os = "linux")]
#[test]
fn a_full_kernel_key_quota_fails_the_sign_in_and_says_why() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let maxbytes: usize =
        std::fs::read_to_string("/proc/sys/kernel/keys/maxbytes").unwrap().trim().parse().unwrap();
    // A user key holds at most 32,767 bytes: beyond that the kernel answers EINVAL instead.
    assert!(maxbytes + 1_000 < 32_767, "cannot exceed a key quota of {maxbytes} bytes");
    let emu = Emulator::start(&["--auto-approve"]);
    let user = User::new(&emu);
    let start_url = format!("{START_URL}/{}", "x".repeat(maxbytes));
    let mut cmd = user.keyless(&[
        "login",
        "--session",
        "acme",
        "--start-url",
        &start_url,
        "--region",
        REGION,
        "--device-code",
        "--no-browser",
    ]);
    if std::fs::metadata("/proc/self").unwrap().uid() == 0 {
        let uid = 200_000 + u32::from_str_radix(&keyless::util::random_hex(2), 16).unwrap();
        for f in std::iter::once(user.home.path().to_path_buf())
            .chain(support::files_below(user.home.path()))
            .chain([user.config_path().parent().unwrap().into(), user.tmp_dir()])
        {
            std::os::unix::fs::chown(&f, Some(uid), Some(uid)).unwrap();
        }
        cmd.uid(uid).gid(uid);
    }
    let out = support::user::run_bounded(cmd, 60);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "error: the keyutils keychain failed: the kernel key quota for this user is exhausted (see /proc/sys/kernel/keys/maxbytes)"
        ),
        "{err}"
    );
    assert!(err.contains("hint: run `keyless doctor` to check the secure store"), "{err}");
    assert_eq!(emu.op_count("RegisterClient"), 1, "the registration was what did not fit");
    assert!(!user.config_path().exists(), "nothing was written");
}

/// A custom domain's start page on this machine: an https server for `localhost`, with a
/// certificate from a throwaway authority (`ca`), that redirects every request to `portal`.
struct CustomDomain {
    server: std::process::Child,
    port: u16,
    ca: std::path::PathBuf,
    _dir: support::TempDir,
}

const REDIRECTING_SERVER: &str = r#"
import http.server, ssl, sys
class Redirect(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(302)
        self.send_header("Location", sys.argv[3])
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_GET = do_HEAD
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

impl CustomDomain {
    fn start(user: &User, portal: &str) -> CustomDomain {
        let dir = support::TempDir::new("domain");
        let d = |f: &str| dir.path().join(f).display().to_string();
        std::fs::write(
            d("leaf.ext"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("openssl must be installed (Debian package openssl)");
            assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"];
        let (ca_key, ca, key, csr) = (d("ca.key"), d("ca.pem"), d("leaf.key"), d("leaf.csr"));
        let authority = ["-subj", "/CN=keyless test authority", "-keyout", &ca_key, "-out", &ca];
        openssl(&[&["req", "-x509"][..], &ec, &authority].concat());
        let request = ["-subj", "/CN=localhost", "-keyout", &key, "-out", &csr];
        openssl(&[&["req"][..], &ec[..5], &request].concat());
        let (leaf, ext) = (d("leaf.pem"), d("leaf.ext"));
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &ext,
            "-out",
            &leaf,
        ]);
        let mut server = user
            .python(&["-c", REDIRECTING_SERVER, &leaf, &key, portal])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("starting the custom domain's server");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(server.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| panic!("no port: {line:?}"));
        CustomDomain { server, port, ca: dir.path().join("ca.pem"), _dir: dir }
    }
}

impl Drop for CustomDomain {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A start URL on the organisation's own domain leads to an access portal whose host names
/// another region than the session's: keyless signs in there and says so.
#[test]
fn a_custom_domain_that_leads_to_another_region_is_followed_and_named() {
    let emu = Emulator::start(&["--auto-approve"]);
    let mut user = User::new(&emu);
    let portal = "https://ssoins-1234567890abcdef.portal.eu-west-1.app.aws/start";
    let domain = CustomDomain::start(&user, portal);
    user.extra_env.push(("SSL_CERT_FILE".into(), domain.ca.display().to_string()));
    let start_url = format!("https://localhost:{}/start", domain.port);
    let out = user.run(&[
        "login",
        "--session",
        "acme",
        "--start-url",
        &start_url,
        "--region",
        REGION,
        "--device-code",
        "--no-browser",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "{start_url} belongs to IAM Identity Center in eu-west-1; signing in there."
        )),
        "{err}"
    );
    let out = user.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["sessions"][0]["token_valid"], true, "{status}");
}

/// An SSO start URL that hides its real host behind `user@` (a config someone tampered with)
/// makes a console address no browser should be sent to: keyless refuses to open it.
#[cfg(unix)]
#[test]
fn an_address_that_hides_its_host_is_never_opened() {
    use std::os::unix::fs::PermissionsExt;
    let mut user = offline_user();
    let opened = user.home.path().join("opened");
    let browser = user.home.path().join("browser.sh");
    std::fs::write(&browser, format!("#!/bin/sh\ntouch '{}'\n", opened.display())).unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    user.extra_env.push(("BROWSER".into(), browser.display().to_string()));
    std::fs::write(
        user.config_path(),
        "[profile legacy]\nsso_start_url = https://d-1234567890.awsapps.com@phish.example/start\nsso_region = us-east-1\nsso_account_id = 111111111111\nsso_role_name = Developer\n",
    )
    .unwrap();
    let (code, err) = fails(&user, &["console", "--profile", "legacy"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "error: keyless will not open `https://d-1234567890.awsapps.com@phish.example/start/#/console?account_id=111111111111&role_name=Developer` in a browser: it opens only https addresses (and http to this machine)"
        ),
        "{err}"
    );
    assert!(err.contains("SSO start URL in your AWS config (`sso_start_url`)"), "{err}");
    assert!(!opened.exists(), "the browser was started");
}
