//! How fast `keyless profiles sync` lists a large organisation under throttling.
//!
//! Starts `keyless emulator serve` with 1,000 generated accounts x 3 roles, a rate limit of
//! 50 requests/s and 20 ms of latency, signs in over the device flow, then times the listing
//! that `profiles sync` does (every ListAccounts page, then ListAccountRoles for every
//! account through the adaptive fan-out) and compares it with the rate-limit floor: the
//! number of successful calls divided by the rate.
//!
//! ```sh
//! cargo bench --bench sync                        # the defaults below
//! cargo bench --bench sync -- 200 3 50 20 3       # accounts roles rate latency-ms runs
//! ```

#![allow(clippy::print_stdout)] // the report is the benchmark's output

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_sso::config::{BehaviorVersion, Region};
use keyless::secret::Secret;
use keyless::sso::{fanout, inventory};

fn arg(i: usize, default: f64) -> f64 {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

async fn sign_in(url: &str) -> String {
    let conf = aws_sdk_ssooidc::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .retry_config(RetryConfig::standard().with_max_attempts(20))
        .build();
    let oidc = aws_sdk_ssooidc::Client::from_conf(conf);
    let reg = oidc
        .register_client()
        .client_name("bench")
        .client_type("public")
        .scopes("sso:account:access")
        .send()
        .await
        .expect("RegisterClient");
    let (id, secret) = (reg.client_id().unwrap(), reg.client_secret().unwrap());
    let dev = oidc
        .start_device_authorization()
        .client_id(id)
        .client_secret(secret)
        .start_url("https://d-1234567890.awsapps.com/start")
        .send()
        .await
        .expect("StartDeviceAuthorization");
    loop {
        match oidc
            .create_token()
            .client_id(id)
            .client_secret(secret)
            .grant_type("urn:ietf:params:oauth:grant-type:device_code")
            .device_code(dev.device_code().unwrap())
            .send()
            .await
        {
            Ok(t) => return t.access_token().unwrap().to_string(),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn main() {
    let accounts = arg(0, 1000.0) as usize;
    let roles = arg(1, 3.0) as usize;
    let rate = arg(2, 50.0);
    let latency = arg(3, 20.0) as u64;
    let runs = arg(4, 3.0) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!(
        "profiles sync listing: {accounts} accounts x {roles} roles, rate limit {rate}/s, latency {latency} ms"
    );
    for run in 1..=runs {
        // A fresh emulator per run: its rate-limit bucket and counters start from zero.
        let mut emu = Command::new(env!("CARGO_BIN_EXE_keyless"))
            .args(["emulator", "serve", "--auto-approve"])
            .args(["--generate-accounts", &accounts.to_string()])
            .args(["--roles-per-account", &roles.to_string()])
            .args(["--rate-limit", &rate.to_string(), "--latency-ms", &latency.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the emulator");
        let mut url = String::new();
        BufReader::new(emu.stdout.take().unwrap()).read_line(&mut url).unwrap();
        let url = url.trim().to_string();
        let token = Secret::new(rt.block_on(sign_in(&url)));
        // Let the rate-limit bucket refill after sign-in, as it would between commands.
        std::thread::sleep(Duration::from_millis(500));
        let client = aws_sdk_sso::Client::from_conf(
            aws_sdk_sso::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(&url)
                .retry_config(RetryConfig::disabled())
                .build(),
        );
        let started = Instant::now();
        let (have, report) = rt
            .block_on(inventory::list_with(&client, "bench", &token, &fanout::Options::default()))
            .expect("listing failed");
        let took = started.elapsed().as_secs_f64();
        let _ = emu.kill();
        let _ = emu.wait();
        let found: usize = have.iter().map(|a| a.roles.len()).sum();
        assert_eq!(have.len(), accounts, "every account listed");
        assert_eq!(found, accounts * roles, "every role listed");
        let ok_calls = report.calls - report.throttled - report.transient;
        let floor = ok_calls as f64 / rate;
        println!(
            "run {run}: {took:.2} s for {ok_calls} calls ({} throttled, {} transient, peak {} in flight); floor {floor:.2} s; {:+.1}% over the floor",
            report.throttled,
            report.transient,
            report.peak_in_flight,
            (took / floor - 1.0) * 100.0
        );
    }
}
