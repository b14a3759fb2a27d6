//! What both config test binaries edit: the onboarding of the demo team.

use keyless::aws_config::ini::Document;
use keyless::aws_config::profiles::{self, CredentialProcess};

pub const BIN: &str = "/home/me/.local/bin/keyless";

pub fn process(account: &str, role: &str) -> CredentialProcess {
    CredentialProcess {
        binary: BIN.into(),
        session: "acme".into(),
        account: account.into(),
        role: role.into(),
        login_if_needed: false,
    }
}

/// What onboarding with the demo team file writes.
pub fn onboard(doc: &mut Document) -> bool {
    let mut changed = profiles::set_sso_session(
        doc,
        "acme",
        "https://d-1234567890.awsapps.com/start",
        "ap-northeast-2",
        &["sso:account:access".to_string()],
    )
    .unwrap();
    changed |= profiles::set_managed_profile(
        doc,
        "acme-dev",
        &process("111111111111", "Developer"),
        Some("ap-northeast-2"),
    )
    .unwrap();
    changed |= profiles::set_managed_profile(
        doc,
        "acme-prod",
        &process("222222222222", "ReadOnly"),
        Some("ap-northeast-2"),
    )
    .unwrap();
    changed
}
