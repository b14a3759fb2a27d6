//! The organisation the emulator serves: accounts with their roles, users with their
//! assignments, and long-lived IAM user access keys. Loaded from TOML, built in, or generated.

use std::collections::HashMap;

use anyhow::{Context, bail};
use serde::Deserialize;

/// An AWS account in the organisation and the permission sets (roles) it offers.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
}

/// A person who can sign in. The first user of the org approves logins.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Account IDs this user is assigned; `None` means every account (with every role).
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
}

/// A long-lived IAM user access key (`AKIA...`), the kind key migration retires.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub account: String,
    pub user: String,
    /// Whether the key's user may deactivate its own keys. `false` plays a locked-down account
    /// whose policy does not allow `iam:UpdateAccessKey`.
    #[serde(default = "yes")]
    pub may_deactivate: bool,
}

fn yes() -> bool {
    true
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"REDACTED")
            .field("account", &self.account)
            .field("user", &self.user)
            .finish()
    }
}

/// The whole organisation.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Org {
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub access_keys: Vec<AccessKey>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl Org {
    /// Parses and validates an org file.
    pub fn from_toml(text: &str) -> anyhow::Result<Org> {
        let org: Org = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        org.validated()
    }

    /// Reads an org file from disk.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Org> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the org file {}", path.display()))?;
        Org::from_toml(&text)
            .with_context(|| format!("the org file {} is not valid", path.display()))
    }

    /// The built-in sample org (the same one as `profiles/demo-org.toml`).
    pub fn sample() -> Org {
        Org::from_toml(include_str!("../../profiles/demo-org.toml"))
            .expect("the built-in org is valid")
    }

    /// `accounts` generated accounts with `roles_per_account` roles each and one user, for
    /// scale tests. Account IDs start at 100000000000; roles are `Role1`, `Role2`, ...
    pub fn generated(accounts: usize, roles_per_account: usize) -> Org {
        let accounts = (0..accounts)
            .map(|i| Account {
                id: format!("{:012}", 100_000_000_000u64 + i as u64),
                name: format!("account-{i:04}"),
                email: format!("aws+{i:04}@example.com"),
                roles: (1..=roles_per_account).map(|r| format!("Role{r}")).collect(),
            })
            .collect();
        let users = vec![User { name: "alice".into(), email: None, accounts: None }];
        Org { accounts, users, access_keys: Vec::new(), index: HashMap::new() }
            .validated()
            .expect("a generated org is valid")
    }

    fn validated(mut self) -> anyhow::Result<Org> {
        if self.users.is_empty() {
            bail!("the org needs at least one [[users]] entry (the first one approves logins)");
        }
        self.index.clear();
        for (i, a) in self.accounts.iter().enumerate() {
            if !crate::sso::is_account_id(&a.id) {
                bail!("account id {:?} is not 12 digits", a.id);
            }
            if self.index.insert(a.id.clone(), i).is_some() {
                bail!("account {} appears twice", a.id);
            }
        }
        for k in &self.access_keys {
            if !self.index.contains_key(&k.account) {
                bail!("access key {} names unknown account {}", k.id, k.account);
            }
            if k.id.len() < 16 || k.secret.is_empty() {
                bail!("access key {:?} needs an id of 16+ characters and a secret", k.id);
            }
        }
        Ok(self)
    }

    /// The account with this ID.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.index.get(id).map(|&i| &self.accounts[i])
    }

    /// The user with this name.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The user who approves logins.
    pub fn approver(&self) -> &User {
        &self.users[0]
    }

    /// Whether `user` is assigned `account` at all.
    pub fn assigned_account(&self, user: &str, account: &str) -> bool {
        self.account(account).is_some()
            && self.user(user).is_some_and(|u| {
                u.accounts.as_ref().is_none_or(|ids| ids.iter().any(|id| id == account))
            })
    }

    /// Whether `user` may get credentials for `role` in `account`.
    pub fn assigned_role(&self, user: &str, account: &str, role: &str) -> bool {
        self.assigned_account(user, account)
            && self.account(account).is_some_and(|a| a.roles.iter().any(|r| r == role))
    }

    /// The accounts assigned to `user`, in org order.
    pub fn accounts_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a Account> + 'a {
        self.accounts.iter().filter(move |a| self.assigned_account(user, &a.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_org_is_the_demo_org() {
        let org = Org::sample();
        assert_eq!(org.accounts.len(), 2);
        assert_eq!(org.approver().name, "alice");
        assert!(org.assigned_role("alice", "111111111111", "Developer"));
        assert!(!org.assigned_role("alice", "111111111111", "Admin"));
        assert!(org.assigned_role("alice", "222222222222", "Admin"));
        assert_eq!(org.access_keys[0].account, "111111111111");
        assert!(!format!("{:?}", org.access_keys[0]).contains(&org.access_keys[0].secret));
    }

    #[test]
    fn per_user_assignments_restrict_accounts() {
        let org = Org::from_toml(
            r#"
            [[accounts]]
            id = "111111111111"
            name = "a"
            email = "a@x"
            roles = ["R"]
            [[accounts]]
            id = "222222222222"
            name = "b"
            email = "b@x"
            roles = ["R"]
            [[users]]
            name = "bob"
            accounts = ["222222222222"]
            "#,
        )
        .unwrap();
        assert!(!org.assigned_role("bob", "111111111111", "R"));
        assert!(org.assigned_role("bob", "222222222222", "R"));
        assert_eq!(org.accounts_of("bob").count(), 1);
        assert!(!org.assigned_account("nobody", "222222222222"));
    }

    #[test]
    fn invalid_orgs_are_rejected_with_a_reason() {
        let err = Org::from_toml(
            "[[accounts]]\nid='1'\nname='a'\nemail='e'\nroles=[]\n[[users]]\nname='u'",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("12 digits"), "{err:#}");
        assert!(Org::from_toml("").is_err());
        let g = Org::generated(1000, 3);
        assert_eq!(g.accounts.len(), 1000);
        assert!(g.assigned_role("alice", "100000000999", "Role3"));
    }
}
