//! The local IAM Identity Center: SSO-OIDC, the SSO portal, STS, IAM and the console sign-in
//! federation endpoint on one loopback URL, faithful enough that unmodified AWS SDKs accept it.
//!
//! [`start`] runs it on its own thread (for tests and `keyless demo`); [`serve`] runs it on
//! the caller's runtime (for `keyless emulator serve`).
//!
//! Modules: `org` (who and what exists), `state` (what was issued), `http` (edge, routing,
//! faults), `oidc`, `authorize` (browser pages), `federation` (console sign-in), `portal`,
//! `query` (awsQuery front end and SigV4 authentication), `sts`, `iam`, `sigv4` (pure
//! signing), `admin` (`/_emulator/`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;

pub mod admin;
pub mod authorize;
pub mod federation;
pub mod http;
pub mod iam;
pub mod oidc;
pub mod org;
pub mod portal;
pub mod query;
pub mod sigv4;
pub mod state;
pub mod sts;

pub use org::Org;

/// How an emulator behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    pub org: Org,
    /// Approve device codes on creation and `/authorize` without the consent page.
    pub auto_approve: bool,
    /// Lifetime of access tokens that come with a refresh token (scoped registrations), in
    /// seconds: one hour on AWS, so refresh runs as often here as it does for users.
    pub token_ttl: i64,
    /// Lifetime of access tokens for legacy unscoped registrations (no refresh token), in
    /// seconds: the Identity Center session length, 8 hours by default on AWS.
    pub legacy_token_ttl: i64,
    /// Lifetime of role credentials, in seconds.
    pub role_ttl: i64,
    /// Lifetime of device codes, in seconds. 0 answers `expiresIn: 0` (what an SDK reads when
    /// the field is absent) and keeps the code for the 600 s default.
    pub device_code_ttl: i64,
    /// Device-code polling interval, in seconds. 0 answers `interval: 0` and enforces the 5 s
    /// default clients must then use.
    pub poll_interval: i64,
    /// Delay added to every AWS response.
    pub latency: Duration,
    /// AWS operations per second across all services; beyond it requests are throttled.
    pub rate_limit: Option<f64>,
    /// Fraction of AWS requests answered with a 500 internal error.
    pub fault_rate: f64,
    /// Seconds added to the `Date` header of every response: a server whose clock is off,
    /// for testing clock checks.
    pub clock_offset: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            org: Org::sample(),
            auto_approve: false,
            token_ttl: 3600,
            legacy_token_ttl: 8 * 3600,
            role_ttl: 3600,
            device_code_ttl: 600,
            poll_interval: 1,
            latency: Duration::ZERO,
            rate_limit: None,
            fault_rate: 0.0,
            clock_offset: 0,
        }
    }
}

/// One emulator: its configuration, its org, and what it has issued.
#[derive(Debug)]
pub struct Emulator {
    pub config: Config,
    pub base_url: String,
    state: Mutex<state::State>,
}

impl Emulator {
    /// A fresh emulator that will be reachable at `base_url`.
    pub fn new(config: Config, base_url: String) -> Emulator {
        let mut st = state::State {
            bucket: config.rate_limit.map(state::TokenBucket::new),
            fault_rate: None,
            ..Default::default()
        };
        for k in &config.org.access_keys {
            st.key_active.insert(k.id.clone(), true);
            // Long-lived keys are secrets too: `GET /_emulator/secrets` lists them so tests can
            // prove none is copied anywhere (a backup, a log) after migration.
            st.remember_secret(&k.secret);
        }
        Emulator { config, base_url, state: Mutex::new(st) }
    }

    pub fn org(&self) -> &Org {
        &self.config.org
    }

    /// The state; a handler that panicked does not make it unusable.
    pub fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `http://<addr>`, with an unspecified listen address replaced by loopback.
fn base_url(addr: SocketAddr) -> String {
    let ip =
        if addr.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { addr.ip() };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Serves on `listener` until `shutdown` resolves. Returns once the listener is closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let url = base_url(listener.local_addr()?);
    let emu = Arc::new(Emulator::new(config, url));
    http::serve(listener, emu, shutdown).await;
    Ok(())
}

/// A running emulator on its own thread; stops when dropped.
#[derive(Debug)]
pub struct Running {
    base_url: String,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// `http://127.0.0.1:<port>`: the endpoint for every service.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the server thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Binds `config.addr` and serves on a thread with its own runtime, so synchronous callers
/// can use it. Fails if the address cannot be bound.
pub fn start(config: Config) -> anyhow::Result<Running> {
    let listener = std::net::TcpListener::bind(config.addr)
        .with_context(|| format!("binding the emulator to {}", config.addr))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("keyless-emulator")
        .enable_all()
        .build()
        .context("building the emulator runtime")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("keyless-emulator".into()).spawn(move || {
        runtime.block_on(async move {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => {
                    let _ = serve(listener, config, async {
                        let _ = stopped.await;
                    })
                    .await;
                }
                Err(e) => eprintln!("keyless emulator: cannot use the listener: {e}"),
            }
        });
        runtime.shutdown_timeout(Duration::from_millis(200));
    })?;
    Ok(Running { base_url: base_url(addr), addr, stop: Some(stop), thread: Some(thread) })
}
