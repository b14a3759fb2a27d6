//! The edit transaction on real files: backups, modes, atomic writes, locking, failures.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keyless::aws_config::edit::{self, Backup, ConfigEdit};
use keyless::aws_config::ini::Header;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p =
            std::env::temp_dir().join(format!("keyless-{tag}-{}", keyless::util::random_hex(6)));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o700));
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn set_region(edit: &mut ConfigEdit, profile: &str, region: &str) {
    edit.document_mut()
        .upsert_section(&Header::Profile(profile.into()), &[("region", region)])
        .unwrap();
}

const ORIGINAL: &str = "# mine\n[default]\nregion = us-east-1\n";

#[cfg(unix)]
#[test]
fn a_backup_never_holds_a_secret_and_is_private() {
    // SDKs read static keys from the config file too, and a config file is often 0644.
    let tmp = TempDir::new("edit-secret");
    let path = tmp.0.join("config");
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    fs::write(
        &path,
        format!("[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = {secret}\nregion = us-east-1\n[profile t]\naws_session_token = {secret}2\n"),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let mut edit = ConfigEdit::open(&path).unwrap();
    set_region(&mut edit, "dev", "eu-west-1");
    let backup = edit.commit(Backup::Keep).unwrap().backup.expect("a backup");
    let kept = fs::read_to_string(&backup).unwrap();
    assert!(!kept.contains(secret), "the backup holds the secret:\n{kept}");
    assert!(kept.contains("# aws_secret_access_key removed"), "{kept}");
    assert!(kept.contains("aws_access_key_id = AKIAEXAMPLE\n"), "{kept}");
    assert_eq!(mode(&backup), 0o600);
    // The edited file itself keeps its mode (keyless only added a profile to it).
    assert_eq!(mode(&path), 0o644);
}

#[cfg(unix)]
#[test]
fn commit_backs_up_keeps_the_mode_and_shows_a_diff() {
    let tmp = TempDir::new("edit");
    let path = tmp.0.join("config");
    fs::write(&path, ORIGINAL).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();

    let mut edit = ConfigEdit::open(&path).unwrap();
    set_region(&mut edit, "dev", "eu-west-1");
    let shown = path.display();
    assert_eq!(
        edit.diff(),
        format!(
            "--- {shown}\n+++ {shown}\n@@ -1,3 +1,6 @@\n # mine\n [default]\n region = us-east-1\n+\n+[profile dev]\n+region = eu-west-1\n"
        )
    );
    let commit = edit.commit(Backup::Keep).unwrap();
    assert!(commit.changed);
    let backup = commit.backup.expect("a backup");
    assert_eq!(fs::read_to_string(&backup).unwrap(), ORIGINAL);
    // The backup is for its owner only, whatever the file's own mode.
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("{ORIGINAL}\n[profile dev]\nregion = eu-west-1\n")
    );
    assert_eq!(mode(&path), 0o640);
    // Only the file, its backup and the lock file: no temp file left behind.
    let backup_name = backup.file_name().unwrap().to_string_lossy().into_owned();
    assert!(backup_name.starts_with("config.keyless-backup-"), "{backup_name}");
    assert_eq!(
        names(&tmp.0),
        vec!["config".to_string(), backup_name, "config.keyless.lock".into()]
    );

    // The same edit again: nothing written, no new backup.
    let mut edit = ConfigEdit::open(&path).unwrap();
    set_region(&mut edit, "dev", "eu-west-1");
    assert!(!edit.is_changed());
    assert_eq!(edit.diff(), "");
    assert_eq!(edit.commit(Backup::Keep).unwrap(), edit::Commit { changed: false, backup: None });
    assert_eq!(names(&tmp.0).len(), 3);
}

#[cfg(unix)]
#[test]
fn a_new_file_is_private_in_a_private_directory() {
    let tmp = TempDir::new("new");
    let path = tmp.0.join("home/.aws/config");
    let mut edit = ConfigEdit::open(&path).unwrap();
    assert!(!edit.existed());
    set_region(&mut edit, "dev", "eu-west-1");
    let commit = edit.commit(Backup::Keep).unwrap();
    assert_eq!(commit.backup, None, "nothing to back up");
    assert_eq!(fs::read_to_string(&path).unwrap(), "[profile dev]\nregion = eu-west-1\n");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&tmp.0.join("home/.aws")), 0o700);
}

#[test]
fn credentials_edits_can_skip_the_backup() {
    let tmp = TempDir::new("creds");
    let path = tmp.0.join("credentials");
    fs::write(
        &path,
        "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s3cret\n[ci]\nregion = x\n",
    )
    .unwrap();
    #[cfg(unix)]
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let mut edit = ConfigEdit::open(&path).unwrap();
    assert!(edit.document_mut().remove_section(&Header::Default));
    assert!(!format!("{edit:?}").contains("s3cret"));
    let commit = edit.commit(Backup::None).unwrap();
    assert!(commit.changed && commit.backup.is_none());
    assert_eq!(fs::read_to_string(&path).unwrap(), "[ci]\nregion = x\n");
    assert_eq!(names(&tmp.0), vec!["credentials", "credentials.keyless.lock"]);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn only_the_last_five_backups_are_kept() {
    let tmp = TempDir::new("prune");
    let path = tmp.0.join("config");
    fs::write(&path, ORIGINAL).unwrap();
    for i in 0..8 {
        let mut edit = ConfigEdit::open(&path).unwrap();
        set_region(&mut edit, "dev", &format!("eu-west-{i}"));
        edit.commit(Backup::Keep).unwrap();
    }
    let backups = edit::backups(&path);
    assert_eq!(backups.len(), edit::BACKUPS_KEPT);
    // The newest backup holds the content before the last edit.
    let newest = fs::read_to_string(backups.last().unwrap()).unwrap();
    assert!(newest.contains("region = eu-west-6"), "{newest}");
    let oldest = fs::read_to_string(&backups[0]).unwrap();
    assert!(oldest.contains("region = eu-west-2"), "{oldest}");
}

#[test]
fn a_held_lock_is_refused_after_a_bounded_wait() {
    let tmp = TempDir::new("lock");
    let path = tmp.0.join("config");
    let held = ConfigEdit::open(&path).unwrap();
    let start = Instant::now();
    let err = ConfigEdit::open_with_timeout(&path, Duration::from_millis(300)).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(keyless::error::exit_code(&err), 1);
    let shown = keyless::error::render(&err);
    assert!(shown.contains("another keyless process is editing"), "{shown}");
    assert!(shown.contains(&path.display().to_string()), "{shown}");
    assert!(shown.contains("hint: wait for the other keyless command to finish"), "{shown}");
    drop(held);
    ConfigEdit::open_with_timeout(&path, Duration::from_millis(300)).expect("free once released");
}

#[test]
fn concurrent_editors_take_turns_and_lose_nothing() {
    let tmp = TempDir::new("race");
    let path = tmp.0.join("config");
    fs::write(&path, ORIGINAL).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut edit = ConfigEdit::open(&path).unwrap();
                set_region(&mut edit, &format!("p{i}"), "eu-west-1");
                std::thread::sleep(Duration::from_millis(10));
                edit.commit(Backup::None).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(ORIGINAL));
    for i in 0..8 {
        assert!(
            text.contains(&format!("[profile p{i}]\nregion = eu-west-1\n")),
            "p{i} lost:\n{text}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_stays_a_symlink() {
    let tmp = TempDir::new("link");
    let real = tmp.0.join("dotfiles-config");
    fs::write(&real, ORIGINAL).unwrap();
    let link = tmp.0.join("config");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut edit = ConfigEdit::open(&link).unwrap();
    set_region(&mut edit, "dev", "eu-west-1");
    edit.commit(Backup::None).unwrap();
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(fs::read_to_string(&real).unwrap().contains("[profile dev]"));
}

#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_directory_is_a_clear_error() {
    // sysfs refuses new files even to root.
    let path = Path::new("/sys/keyless-config-test");
    let err = ConfigEdit::open(path).unwrap_err();
    assert_eq!(keyless::error::exit_code(&err), 1);
    let shown = keyless::error::render(&err);
    assert!(shown.contains("/sys/keyless-config-test.keyless.lock"), "{shown}");
    assert!(shown.contains("hint: check that you can write to /sys"), "{shown}");
    assert!(!path.exists());
}

#[cfg(unix)]
#[test]
fn a_failed_write_leaves_the_file_as_it_was() {
    let tmp = TempDir::new("fail");
    let dir = tmp.0.join("aws");
    fs::create_dir(&dir).unwrap();
    let path = dir.join("config");
    fs::write(&path, ORIGINAL).unwrap();
    let mut edit = ConfigEdit::open(&path).unwrap();
    set_region(&mut edit, "dev", "eu-west-1");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();
    let writable = fs::write(dir.join("probe"), "").is_ok();
    if writable {
        // Running with privileges that ignore permissions: make the rename fail instead,
        // by putting a non-empty directory where the file is.
        fs::remove_file(dir.join("probe")).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        fs::rename(&path, dir.join("config.saved")).unwrap();
        fs::create_dir(&path).unwrap();
        fs::write(path.join("occupied"), "").unwrap();
    }
    let before = names(&dir);
    let err = edit.commit(Backup::None).unwrap_err();
    assert_eq!(keyless::error::exit_code(&err), 1);
    let shown = keyless::error::render(&err);
    assert!(shown.contains(&format!("cannot write {}", path.display())), "{shown}");
    assert_eq!(names(&dir), before, "no temp file left behind");
    if writable {
        // What stood at the path is untouched (still the directory with its one entry), and
        // the original content is where it was moved.
        assert!(path.is_dir() && names(&path) == vec!["occupied".to_string()]);
        assert_eq!(fs::read_to_string(dir.join("config.saved")).unwrap(), ORIGINAL);
    } else {
        assert_eq!(fs::read_to_string(&path).unwrap(), ORIGINAL);
    }
}

#[test]
fn a_file_that_is_not_utf8_is_not_edited() {
    let tmp = TempDir::new("utf8");
    let path = tmp.0.join("config");
    fs::write(&path, b"[default]\nregion = \xff\n").unwrap();
    let err = ConfigEdit::open(&path).unwrap_err();
    assert!(err.to_string().contains("is not valid UTF-8"), "{err}");
}
