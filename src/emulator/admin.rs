//! The admin API under `/_emulator/`, for tests and the demo: statistics, approving or
//! denying device codes, disabling and re-enabling users, injecting internal errors (into every
//! AWS operation or only named ones), listing issued secrets and reading
//! access-key status. Never rate-limited, faulted or counted.

use serde_json::{Value, json};

use super::Emulator;
use super::http::{Reply, Request};

fn not_found(message: &str) -> Reply {
    Reply::json(404, &json!({"error": message}))
}

fn bad_request(message: &str) -> Reply {
    Reply::json(400, &json!({"error": message}))
}

pub fn handle(emu: &Emulator, req: &Request) -> Reply {
    let path = req.path.trim_start_matches("/_emulator").trim_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["stats"]) => {
            let st = emu.lock();
            Reply::json(
                200,
                &json!({
                    "operations": st.stats.operations,
                    "throttled": st.stats.throttled,
                    "faults": st.stats.faults,
                    "errors": st.stats.errors,
                }),
            )
        }
        ("POST", [decision @ ("approve" | "deny")]) => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let Some(code) = body.get("userCode").and_then(Value::as_str) else {
                return bad_request("the body must be {\"userCode\": \"...\"}");
            };
            let user = match body.get("user").and_then(Value::as_str) {
                Some(u) if emu.org().user(u).is_none() => return not_found("no such user"),
                Some(u) => u.to_string(),
                None => emu.org().approver().name.clone(),
            };
            let code = super::oidc::normalize_user_code(code);
            let who = (*decision == "approve").then_some(user.as_str());
            match super::authorize::decide_device(emu, &code, who) {
                Ok(()) => Reply::json(200, &json!({"userCode": code, "decision": decision})),
                Err(message) => not_found(message),
            }
        }
        ("POST", ["users", name, "disable"]) => {
            if emu.org().user(name).is_none() {
                return not_found("no such user");
            }
            emu.lock().disable_user(name);
            Reply::json(200, &json!({"user": name, "disabled": true}))
        }
        ("POST", ["users", name, "enable"]) => {
            if emu.org().user(name).is_none() {
                return not_found("no such user");
            }
            // Lets the user sign in again; what disabling revoked stays revoked.
            emu.lock().disabled_users.remove(*name);
            Reply::json(200, &json!({"user": name, "disabled": false}))
        }
        ("POST", ["faults"]) => {
            // `{"rate": R}` faults every AWS operation from now on; `"operations": [names]`
            // only those (the rest answer normally).
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let operations = match body.get("operations") {
                None => Some(None),
                Some(Value::Array(ops)) => ops
                    .iter()
                    .map(|o| o.as_str().map(str::to_string))
                    .collect::<Option<std::collections::HashSet<_>>>()
                    .map(Some),
                Some(_) => None,
            };
            match (body.get("rate").and_then(Value::as_f64), operations) {
                (Some(rate), Some(operations)) if (0.0..=1.0).contains(&rate) => {
                    let mut st = emu.lock();
                    st.fault_rate = Some(rate);
                    st.fault_operations = operations;
                    Reply::json(200, &json!({"rate": rate, "operations": st.fault_operations}))
                }
                _ => bad_request(
                    "the body must be {\"rate\": <0.0 to 1.0>} with an optional \"operations\": [\"ListAccountRoles\", ...]",
                ),
            }
        }
        ("GET", ["secrets"]) => Reply::json(200, &json!(emu.lock().secrets)),
        ("GET", ["access-keys", id]) => match emu.lock().key_active.get(*id) {
            Some(&active) => {
                Reply::json(200, &json!({"status": if active { "Active" } else { "Inactive" }}))
            }
            None => not_found("no such access key"),
        },
        _ => not_found("unknown admin endpoint"),
    }
}
