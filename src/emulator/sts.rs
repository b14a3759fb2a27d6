//! STS GetCallerIdentity: who the (already authenticated) caller is, as ARNs in the shape
//! IAM Identity Center gives its role sessions.

use sha2::{Digest, Sha256};

use super::query::{Principal, QueryError, xml_escape};

/// 16 hex characters, stable per account and role, like the suffix of `AWSReservedSSO_` roles.
pub fn role_suffix(account: &str, role: &str) -> String {
    hex::encode(&Sha256::digest(format!("{account}/{role}").as_bytes())[..8])
}

/// A stable IAM unique id: `prefix` + 17 upper-case base32 characters derived from `seed`.
pub fn unique_id(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(seed.as_bytes());
    let tail: String = digest.iter().take(17).map(|b| ALPHABET[*b as usize % 32] as char).collect();
    format!("{prefix}{tail}")
}

/// `(Arn, UserId, Account)` for a principal.
pub fn identity(p: &Principal) -> (String, String, String) {
    match p {
        Principal::Role { account, role, user } => {
            let role_name = format!("AWSReservedSSO_{role}_{}", role_suffix(account, role));
            (
                format!("arn:aws:sts::{account}:assumed-role/{role_name}/{user}"),
                format!("{}:{user}", unique_id("AROA", &format!("{account}/{role_name}"))),
                account.clone(),
            )
        }
        Principal::IamUser { account, user, .. } => (
            format!("arn:aws:iam::{account}:user/{user}"),
            unique_id("AIDA", &format!("{account}/{user}")),
            account.clone(),
        ),
    }
}

pub fn get_caller_identity(p: &Principal) -> Result<Option<String>, QueryError> {
    let (arn, user_id, account) = identity(p);
    Ok(Some(format!(
        "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
        xml_escape(&arn),
        xml_escape(&user_id),
        xml_escape(&account)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_sessions_look_like_identity_center_ones() {
        let p = Principal::Role {
            account: "111111111111".into(),
            role: "Developer".into(),
            user: "alice".into(),
        };
        let (arn, user_id, account) = identity(&p);
        assert!(
            arn.starts_with("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_"),
            "{arn}"
        );
        assert!(arn.ends_with("/alice"));
        let suffix = arn.split('_').nth(2).unwrap().split('/').next().unwrap();
        assert_eq!(suffix.len(), 16);
        assert_eq!(suffix, role_suffix("111111111111", "Developer"));
        assert_ne!(suffix, role_suffix("222222222222", "Developer"));
        assert!(user_id.starts_with("AROA") && user_id.ends_with(":alice"));
        assert_eq!(user_id.split(':').next().unwrap().len(), 21);
        assert_eq!(account, "111111111111");
    }
}
