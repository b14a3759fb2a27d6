//! IAM ListAccessKeys and UpdateAccessKey for the org's long-lived user keys: what key
//! migration needs to find and deactivate them.

use super::Emulator;
use super::query::{Principal, QueryError, param, qerr, xml_escape};

pub fn handle(
    emu: &Emulator,
    op: &str,
    params: &[(String, String)],
    caller: &Principal,
) -> Result<Option<String>, QueryError> {
    // Which user the call is about: the named one, or the calling IAM user.
    let user = match (param(params, "UserName"), caller) {
        (Some(u), _) => u,
        (None, Principal::IamUser { user, .. }) => user.clone(),
        (None, Principal::Role { .. }) => {
            return Err(qerr(
                400,
                "ValidationError",
                "Must specify userName when calling with non-User credentials",
            ));
        }
    };
    let account = caller.account();
    let keys: Vec<_> =
        emu.org().access_keys.iter().filter(|k| k.account == account && k.user == user).collect();
    let user_exists = !keys.is_empty() || emu.org().user(&user).is_some();
    if !user_exists {
        return Err(qerr(
            404,
            "NoSuchEntity",
            format!("The user with name {user} cannot be found."),
        ));
    }
    match op {
        "ListAccessKeys" => {
            let st = emu.lock();
            let created = crate::time::rfc3339(crate::time::now() - 400 * 86_400);
            let members: String = keys
                .iter()
                .map(|k| {
                    let status = if st.key_active.get(&k.id).copied().unwrap_or(false) { "Active" } else { "Inactive" };
                    format!(
                        "      <member>\n        <UserName>{}</UserName>\n        <AccessKeyId>{}</AccessKeyId>\n        \
                         <Status>{status}</Status>\n        <CreateDate>{created}</CreateDate>\n      </member>\n",
                        xml_escape(&k.user),
                        xml_escape(&k.id)
                    )
                })
                .collect();
            Ok(Some(format!(
                "    <AccessKeyMetadata>\n{members}    </AccessKeyMetadata>\n    <IsTruncated>false</IsTruncated>\n"
            )))
        }
        _ => {
            let Some(key_id) = param(params, "AccessKeyId") else {
                return Err(qerr(400, "ValidationError", "AccessKeyId is required"));
            };
            let active = match param(params, "Status").as_deref() {
                Some("Active") => true,
                Some("Inactive") => false,
                _ => {
                    return Err(qerr(
                        400,
                        "ValidationError",
                        "1 validation error detected: Value at 'status' failed to satisfy constraint: \
                         Member must satisfy enum value set: [Active, Inactive]",
                    ));
                }
            };
            let Some(key) = keys.iter().find(|k| k.id == key_id) else {
                return Err(qerr(
                    404,
                    "NoSuchEntity",
                    format!("The Access Key with id {key_id} cannot be found."),
                ));
            };
            if !key.may_deactivate {
                return Err(qerr(
                    403,
                    "AccessDenied",
                    format!(
                        "User: arn:aws:iam::{account}:user/{user} is not authorized to perform: \
                         iam:UpdateAccessKey on resource: user {user} because no identity-based \
                         policy allows the iam:UpdateAccessKey action"
                    ),
                ));
            }
            emu.lock().key_active.insert(key_id, active);
            Ok(None)
        }
    }
}
