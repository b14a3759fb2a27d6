//! `install.sh`: builds from source with the locked dependencies, installs the binary, shell
//! completions and manual pages under a prefix, runs again as an upgrade, and uninstalls.
//! The release build reuses `CARGO_TARGET_DIR` when it is set, so it is incremental.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::TempDir;

fn install_sh() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh").display().to_string()
}

/// `sh install.sh ARGS` with `PATH` as given.
fn installer(args: &[&str], path: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg(install_sh()).args(args).env("PATH", path);
    cmd
}

fn run(args: &[&str], path: &str) -> Output {
    installer(args, path).output().expect("running install.sh")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const FILES: &[&str] = &[
    "bin/keyless",
    "share/bash-completion/completions/keyless",
    "share/zsh/site-functions/_keyless",
    "share/fish/vendor_completions.d/keyless.fish",
    "share/man/man1/keyless.1",
    "share/man/man1/keyless-console.1",
    "share/man/man1/keyless-doctor.1",
];

#[test]
fn installs_twice_then_uninstalls() {
    let prefix = TempDir::new("prefix");
    let p = prefix.path().display().to_string();
    let path = std::env::var("PATH").unwrap_or_default();
    for round in 1..=2 {
        let out = run(&["--prefix", &p], &path);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "round {round}:\n{stderr}");
        assert!(stderr.contains("Next step: run `keyless onboard`"), "{stderr}");
        assert!(
            stderr.contains(&format!("warning: {p}/bin is not on your PATH")),
            "round {round}:\n{stderr}"
        );
        for f in FILES {
            assert!(prefix.path().join(f).is_file(), "round {round}: {f} is missing");
        }
    }
    let bin = prefix.path().join("bin/keyless");
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(text(&version.stdout).trim(), format!("keyless {}", env!("CARGO_PKG_VERSION")));
    let bash = std::fs::read_to_string(prefix.path().join(FILES[1])).unwrap();
    assert!(bash.contains("complete -F _keyless") && bash.contains("doctor"), "{bash}");
    let zsh = std::fs::read_to_string(prefix.path().join(FILES[2])).unwrap();
    assert!(zsh.starts_with("#compdef keyless"), "{zsh}");
    let man = std::fs::read_to_string(prefix.path().join(FILES[4])).unwrap();
    assert!(man.contains(".TH keyless 1"), "{man}");
    // Nothing but the installed files (no temp file left behind by the atomic copy).
    let bin_entries: Vec<_> = std::fs::read_dir(prefix.path().join("bin")).unwrap().collect();
    assert_eq!(bin_entries.len(), 1);

    // On PATH: no warning.
    let with_bin = format!("{p}/bin:{path}");
    let out = run(&["--prefix", &p], &with_bin);
    assert_eq!(out.status.code(), Some(0));
    assert!(!text(&out.stderr).contains("is not on your PATH"), "{}", text(&out.stderr));

    let out = run(&["--uninstall", "--prefix", &p], &path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for f in FILES {
        assert!(!prefix.path().join(f).exists(), "{f} was left behind");
    }
    let again = run(&["--uninstall", "--prefix", &p], &path);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stderr).contains("nothing to remove"), "{}", text(&again.stderr));
}

#[test]
fn without_cargo_it_says_how_to_get_it() {
    let prefix = TempDir::new("prefix-nocargo");
    // A PATH with the basic tools but no cargo.
    let out = run(&["--prefix", &prefix.path().display().to_string()], "/usr/bin:/bin");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: cargo is not installed, and keyless is built from source"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "hint: install Rust with rustup (https://rustup.rs), open a new shell, then run ./install.sh again"
        ),
        "{stderr}"
    );
    assert!(!prefix.path().join("bin").exists());
}

/// Where `name` is on the test's own `PATH`.
#[cfg(unix)]
fn on_path(name: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH"))
}

/// A directory holding only `tools` (links to the test's own), to be the whole `PATH`.
#[cfg(unix)]
fn only(tools: &[&str]) -> TempDir {
    let dir = TempDir::new("tools");
    for tool in tools {
        std::os::unix::fs::symlink(on_path(tool), dir.path().join(tool)).unwrap();
    }
    dir
}

/// What install.sh needs besides the shell's builtins, and cargo.
#[cfg(unix)]
const BUILD_TOOLS: &[&str] = &["cargo", "rustc", "dirname", "uname"];

/// install.sh with only `tools` on `PATH`, building into a target directory of its own (so
/// nothing is already built) and `env`; it must fail before installing anything.
#[cfg(unix)]
fn failed_install(tools: &[&str], env: &[(&str, &Path)]) -> String {
    let tools = only(tools);
    let prefix = TempDir::new("prefix-failed");
    let target = TempDir::new("target-failed");
    let mut cmd = installer(
        &["--prefix", &prefix.path().display().to_string()],
        &tools.path().display().to_string(),
    );
    cmd.env("CARGO_TARGET_DIR", target.path()).envs(env.iter().copied());
    let out = support::user::run_bounded(cmd, 600);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!prefix.path().join("bin").exists(), "nothing was installed: {stderr}");
    stderr
}

// The installer looks for a C compiler only on Linux, where the Secret Service's libdbus is
// compiled from source.
#[cfg(target_os = "linux")]
#[test]
fn without_a_c_compiler_it_names_the_package_to_install() {
    // No `cc`: the build fails at the first build script it has to link.
    let stderr = failed_install(BUILD_TOOLS, &[]);
    assert!(stderr.contains("linker `cc` not found"), "cargo's own error stays: {stderr}");
    assert!(
        stderr.contains(
            "error: the build failed: no C compiler was found (keyless builds its own libdbus for the Secret Service)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: on Debian or Ubuntu: sudo apt-get install build-essential"));
    assert!(stderr.contains("hint: on Fedora: sudo dnf install gcc"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_build_without_its_dependencies_points_at_cargos_error() {
    // A machine that cannot download: cargo offline with an empty cache of crates.
    let cache = TempDir::new("cargo-home-empty");
    let tools = [BUILD_TOOLS, &["cc"]].concat();
    let stderr = failed_install(
        &tools,
        &[("CARGO_HOME", cache.path()), ("CARGO_NET_OFFLINE", Path::new("true"))],
    );
    assert!(stderr.contains("error: no matching package named"), "cargo's error: {stderr}");
    assert!(stderr.contains("error: the build failed (see the cargo output above)"), "{stderr}");
    assert!(!stderr.contains("no C compiler"), "{stderr}");
}

#[test]
fn a_copy_outside_the_source_tree_says_where_to_run_it() {
    let elsewhere = TempDir::new("installer-copy");
    let copy = elsewhere.path().join("install.sh");
    std::fs::copy(install_sh(), &copy).unwrap();
    let out = Command::new("/bin/sh")
        .arg(&copy)
        .args(["--prefix", &elsewhere.path().join("prefix").display().to_string()])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("running the copy");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: install.sh must be run from the keyless source tree"));
    assert!(!elsewhere.path().join("prefix").exists());
}

#[test]
fn bad_arguments_are_refused() {
    let out = run(&["--frobnicate"], "/usr/bin:/bin");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: unknown argument: --frobnicate"), "{stderr}");
    assert!(stderr.starts_with("Usage: ./install.sh [--prefix DIR] [--uninstall]"), "{stderr}");
    let help = run(&["--help"], "/usr/bin:/bin");
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("--uninstall"));
}
