//! Everything the emulator remembers: client registrations, pending device and browser
//! authorisations, sign-in sessions with their access and refresh tokens, issued role
//! credentials, access-key status, disabled users, statistics and every secret it issued.
//!
//! Plain data behind one mutex; the protocol modules decide what the data means on the wire.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use crate::util::random_token;

/// A registered OIDC client.
#[derive(Debug, Clone)]
pub struct Client {
    pub name: String,
    pub secret: String,
    pub secret_expires_at: i64,
    pub scopes: Vec<String>,
    /// Grant types the client registered; empty means it did not say (device-code clients).
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
}

impl Client {
    /// Whether the client may use `grant` (clients that registered no grant types may use any).
    pub fn allows(&self, grant: &str) -> bool {
        self.grant_types.is_empty() || self.grant_types.iter().any(|g| g == grant)
    }

    /// Whether tokens issued to this client come with a refresh token.
    pub fn refreshable(&self) -> bool {
        self.scopes.iter().any(|s| s == "sso:account:access")
    }
}

/// Where a device authorisation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Pending,
    Approved { user: String },
    Denied,
}

/// A device authorisation started by StartDeviceAuthorization.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    pub client_id: String,
    pub user_code: String,
    pub expires_at: i64,
    pub interval: i64,
    pub decision: Decision,
    pub last_poll: Option<Instant>,
    /// Set once a token was issued for it: the code cannot be used again.
    pub consumed: bool,
}

/// A validated `/authorize` request waiting for the person's decision on the consent page.
#[derive(Debug, Clone)]
pub struct PendingAuthorize {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
}

/// An authorization code handed to the loopback redirect URI.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub user: String,
    pub expires_at: i64,
    pub used: bool,
}

/// One sign-in: every access and refresh token descends from it; Logout revokes it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub client_id: String,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub session: u64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub session: u64,
    pub used: bool,
}

/// Temporary role credentials issued by GetRoleCredentials.
#[derive(Debug, Clone)]
pub struct RoleCredential {
    pub secret: String,
    pub session_token: String,
    pub expires_at_ms: i64,
    pub account: String,
    pub role: String,
    pub user: String,
    pub revoked: bool,
}

/// A console sign-in token from the federation endpoint's getSigninToken.
#[derive(Debug, Clone)]
pub struct SigninToken {
    pub account: String,
    pub role: String,
    pub user: String,
    /// Epoch seconds after which `Action=login` refuses it.
    pub expires_at: i64,
    /// The console session length that was asked for.
    pub console_session_secs: i64,
}

/// A token bucket: `rate` tokens per second, at most `burst` stored.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    pub rate: f64,
    pub burst: f64,
    pub tokens: f64,
    pub last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64) -> Self {
        // A small burst keeps the accepted rate within a few percent of `rate` over seconds.
        let burst = (rate / 10.0).max(1.0);
        TokenBucket { rate, burst, tokens: burst, last: Instant::now() }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Counters exposed by `GET /_emulator/stats`.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Requests received per AWS operation (including throttled and faulted ones).
    pub operations: BTreeMap<String, u64>,
    pub throttled: BTreeMap<String, u64>,
    pub faults: BTreeMap<String, u64>,
    /// SSO-OIDC error replies by exception (e.g. how often a client polled too fast).
    pub errors: BTreeMap<String, u64>,
}

/// The mutable state of one emulator.
#[derive(Debug, Default)]
pub struct State {
    pub clients: HashMap<String, Client>,
    pub devices: HashMap<String, DeviceAuth>,
    /// user code -> device code
    pub user_codes: HashMap<String, String>,
    pub pending_authorize: HashMap<String, PendingAuthorize>,
    pub auth_codes: HashMap<String, AuthCode>,
    pub sessions: HashMap<u64, Session>,
    pub next_session: u64,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub role_credentials: HashMap<String, RoleCredential>,
    /// Console sign-in tokens by value.
    pub signin_tokens: HashMap<String, SigninToken>,
    /// Long-lived access key id -> active?
    pub key_active: HashMap<String, bool>,
    pub disabled_users: HashSet<String>,
    pub stats: Stats,
    pub secrets: Vec<String>,
    pub bucket: Option<TokenBucket>,
    /// Set through `POST /_emulator/faults`: replaces `--fault-rate` from then on, so a test
    /// can sign in first and then make every AWS call fail.
    pub fault_rate: Option<f64>,
    /// The operations that fault (`operations` of `POST /_emulator/faults`); `None` for all.
    pub fault_operations: Option<HashSet<String>>,
}

impl State {
    /// A fresh random secret of `bytes` random bytes with a readable `prefix`, remembered for
    /// `GET /_emulator/secrets`.
    pub fn new_secret(&mut self, prefix: &str, bytes: usize) -> String {
        let value = format!("{prefix}{}", random_token(bytes));
        self.secrets.push(value.clone());
        value
    }

    /// Remembers a secret generated elsewhere.
    pub fn remember_secret(&mut self, value: &str) {
        self.secrets.push(value.to_string());
    }

    /// Starts a new sign-in session for `user` through `client_id`.
    pub fn new_session(&mut self, user: &str, client_id: &str) -> u64 {
        self.next_session += 1;
        let id = self.next_session;
        self.sessions
            .insert(id, Session { user: user.into(), client_id: client_id.into(), revoked: false });
        id
    }

    /// The user behind a live access token: known, not expired, its session not revoked and
    /// its user not disabled.
    pub fn user_for_token(&self, token: &str, now: i64) -> Option<String> {
        let t = self.access_tokens.get(token)?;
        if t.expires_at <= now {
            return None;
        }
        let s = self.sessions.get(&t.session)?;
        if s.revoked || self.disabled_users.contains(&s.user) {
            return None;
        }
        Some(s.user.clone())
    }

    /// Revokes every session, token and role credential of `user`, and refuses later logins.
    pub fn disable_user(&mut self, user: &str) {
        self.disabled_users.insert(user.to_string());
        for s in self.sessions.values_mut().filter(|s| s.user == user) {
            s.revoked = true;
        }
        for c in self.role_credentials.values_mut().filter(|c| c.user == user) {
            c.revoked = true;
        }
    }

    /// Counts one SSO-OIDC error reply.
    pub fn count_error(&mut self, shape: &str) {
        *self.stats.errors.entry(shape.to_string()).or_default() += 1;
    }

    /// Counts one request for an AWS operation.
    pub fn count(&mut self, op: &str) {
        *self.stats.operations.entry(op.to_string()).or_default() += 1;
    }
}
