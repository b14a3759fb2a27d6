//! Many calls to one throttled service, as fast as it allows: adaptive concurrency.
//!
//! Identity Center throttles per caller (TooManyRequests), and an organisation may have
//! thousands of accounts. A fixed concurrency is either slow (small) or a storm of 429s
//! (large), so [`run`] adapts, the way TCP does: it starts with a few calls in flight, adds
//! one more for every window of successes, and halves the window when the service throttles
//! (at most once per round trip, so a burst of 429s from one window counts once). A throttled
//! call goes back to the queue and is retried after an exponential backoff with full jitter,
//! without holding a slot while it waits. Transient failures (5xx, timeouts) are retried the
//! same way a few times; anything else fails that item and leaves the others running.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

/// How one attempt ended, as the caller classifies it.
#[derive(Debug)]
pub enum Attempt<T> {
    Done(T),
    /// The service asked us to slow down: back off, shrink the window, retry.
    Throttled,
    /// Worth another try (5xx, timeout, connection reset).
    Transient(anyhow::Error),
    /// Will not get better by retrying.
    Failed(anyhow::Error),
}

/// Tuning; the defaults suit the SSO portal.
#[derive(Debug, Clone)]
pub struct Options {
    pub initial: usize,
    pub min: usize,
    pub max: usize,
    /// First backoff; doubles per retry of the same item, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Throttled attempts allowed per item before it fails.
    pub max_throttled: u32,
    /// Transient failures allowed per item before it fails.
    pub max_transient: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            initial: 8,
            min: 1,
            max: 64,
            base_backoff: Duration::from_millis(25),
            max_backoff: Duration::from_secs(5),
            max_throttled: 40,
            max_transient: 4,
        }
    }
}

/// What happened, for progress lines and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub calls: u64,
    pub throttled: u64,
    pub transient: u64,
    pub peak_in_flight: usize,
    pub final_window: usize,
}

/// The window: AIMD on the number of calls in flight.
#[derive(Debug)]
struct Window {
    size: f64,
    min: f64,
    max: f64,
    /// No second halving before this instant (one round trip after the last).
    calm_until: Option<Instant>,
}

impl Window {
    fn new(o: &Options) -> Window {
        let min = o.min.max(1) as f64;
        let max = (o.max.max(o.min)) as f64;
        Window { size: (o.initial as f64).clamp(min, max), min, max, calm_until: None }
    }

    fn limit(&self) -> usize {
        self.size.floor() as usize
    }

    /// One success: about one more slot per window of successes.
    fn grow(&mut self) {
        self.size = (self.size + 1.0 / self.size).min(self.max);
    }

    /// A throttle seen at `now` for a call sent at `sent`: halve, unless this call was
    /// already in flight when the window was last halved.
    fn shrink(&mut self, sent: Instant, now: Instant) {
        if self.calm_until.is_some_and(|t| sent < t) {
            return;
        }
        self.size = (self.size / 2.0).max(self.min);
        self.calm_until = Some(now);
    }
}

/// Full jitter: a random delay in `[0, min(max, base * 2^n)]`.
fn backoff(o: &Options, retries: u32) -> Duration {
    let cap = o.base_backoff.saturating_mul(1u32 << retries.min(16)).min(o.max_backoff);
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("the OS random source failed");
    cap.mul_f64(f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX))
}

struct Pending<I> {
    index: usize,
    item: I,
    throttled: u32,
    transient: u32,
    ready_at: Instant,
}

/// Calls `call` once for every item (retrying throttled and transient attempts) with an
/// adaptive number in flight. Results come back in the order of `items`.
pub async fn run<I, T, F, Fut>(
    items: Vec<I>,
    options: &Options,
    call: F,
) -> (Vec<anyhow::Result<T>>, Report)
where
    I: Clone + Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Attempt<T>> + Send + 'static,
{
    let call = Arc::new(call);
    let n = items.len();
    let mut results: Vec<Option<anyhow::Result<T>>> = (0..n).map(|_| None).collect();
    let now = Instant::now();
    let mut queue: VecDeque<Pending<I>> = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| Pending { index, item, throttled: 0, transient: 0, ready_at: now })
        .collect();
    // Items waiting out a backoff; they hold no slot.
    let mut waiting: Vec<Pending<I>> = Vec::new();
    let mut window = Window::new(options);
    let mut report = Report::default();
    type Done<I, T> = (Pending<I>, Instant, Attempt<T>);
    let mut in_flight: JoinSet<Done<I, T>> = JoinSet::new();

    loop {
        // Move retries whose backoff is over to the front of the queue.
        let now = Instant::now();
        let mut i = 0;
        while i < waiting.len() {
            if waiting[i].ready_at <= now {
                queue.push_front(waiting.swap_remove(i));
            } else {
                i += 1;
            }
        }
        while in_flight.len() < window.limit() {
            let Some(p) = queue.pop_front() else { break };
            let call = call.clone();
            report.calls += 1;
            in_flight.spawn(async move {
                let sent = Instant::now();
                let out = call(p.item.clone()).await;
                (p, sent, out)
            });
            report.peak_in_flight = report.peak_in_flight.max(in_flight.len());
        }
        if in_flight.is_empty() && queue.is_empty() && waiting.is_empty() {
            break;
        }
        let next_ready = waiting.iter().map(|p| p.ready_at).min();
        let joined = tokio::select! {
            j = in_flight.join_next(), if !in_flight.is_empty() => j,
            () = sleep_until(next_ready), if next_ready.is_some() => None,
        };
        let Some(joined) = joined else { continue };
        let (mut p, sent, out) = match joined {
            Ok(done) => done,
            Err(e) => {
                // A panicking call: its item is lost, so fail loudly rather than hang.
                std::panic::resume_unwind(e.into_panic());
            }
        };
        match out {
            Attempt::Done(v) => {
                window.grow();
                results[p.index] = Some(Ok(v));
            }
            Attempt::Throttled => {
                report.throttled += 1;
                window.shrink(sent, Instant::now());
                p.throttled += 1;
                if p.throttled > options.max_throttled {
                    results[p.index] = Some(Err(crate::error::Error::user(
                        "AWS kept throttling the requests (TooManyRequests)",
                    )
                    .hint("wait a minute and run the command again")
                    .into()));
                } else {
                    p.ready_at = Instant::now() + backoff(options, p.throttled - 1);
                    waiting.push(p);
                }
            }
            Attempt::Transient(e) => {
                report.transient += 1;
                p.transient += 1;
                if p.transient > options.max_transient {
                    results[p.index] = Some(Err(e));
                } else {
                    p.ready_at = Instant::now() + backoff(options, p.transient + 2);
                    waiting.push(p);
                }
            }
            Attempt::Failed(e) => results[p.index] = Some(Err(e)),
        }
    }
    report.final_window = window.limit();
    let results = results.into_iter().map(|r| r.expect("every item finished")).collect();
    (results, report)
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn every_item_is_answered_in_order_and_failures_stay_local() {
        let (out, report) =
            rt().block_on(run((0..50).collect(), &Options::default(), |i: u32| async move {
                match i {
                    7 => Attempt::Failed(anyhow::anyhow!("seven")),
                    _ => Attempt::Done(i * 2),
                }
            }));
        assert_eq!(out.len(), 50);
        assert_eq!(out[3].as_ref().unwrap(), &6);
        assert_eq!(out[7].as_ref().unwrap_err().to_string(), "seven");
        assert_eq!(report.calls, 50);
        assert!(report.peak_in_flight <= 64);
    }

    #[test]
    fn throttling_halves_the_window_and_retries_until_done() {
        // A service that takes at most 4 concurrent calls and throttles the rest.
        let active = Arc::new(AtomicUsize::new(0));
        let seen_max = Arc::new(Mutex::new(0usize));
        let opts = Options { base_backoff: Duration::from_millis(1), ..Options::default() };
        let (a, m) = (active.clone(), seen_max.clone());
        let (out, report) = rt().block_on(run((0..200).collect(), &opts, move |i: u32| {
            let (a, m) = (a.clone(), m.clone());
            async move {
                let now = a.fetch_add(1, Ordering::SeqCst) + 1;
                let result = if now > 4 {
                    Attempt::Throttled
                } else {
                    {
                        let mut max = m.lock().unwrap();
                        *max = (*max).max(now);
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    Attempt::Done(i)
                };
                a.fetch_sub(1, Ordering::SeqCst);
                result
            }
        }));
        assert!(out.iter().all(|r| r.is_ok()));
        assert!(report.throttled > 0, "{report:?}");
        assert!(report.final_window <= 16, "{report:?}");
    }

    #[test]
    fn transient_errors_are_retried_a_few_times() {
        let tries = Arc::new(AtomicUsize::new(0));
        let t = tries.clone();
        let opts = Options { base_backoff: Duration::from_millis(1), ..Options::default() };
        let (out, report) = rt().block_on(run(vec![1u8], &opts, move |_| {
            let t = t.clone();
            async move {
                if t.fetch_add(1, Ordering::SeqCst) < 2 {
                    Attempt::Transient(anyhow::anyhow!("500"))
                } else {
                    Attempt::Done(())
                }
            }
        }));
        assert!(out[0].is_ok());
        assert_eq!(report.transient, 2);
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_window_grows_by_about_one_per_window_of_successes() {
        let mut w = Window::new(&Options::default());
        for _ in 0..8 {
            w.grow();
        }
        assert_eq!(w.limit(), 8);
        w.grow();
        assert_eq!(w.limit(), 9);
        let t0 = Instant::now();
        w.shrink(t0, t0);
        assert_eq!(w.limit(), 4);
        // A call sent before that halving does not halve again.
        w.shrink(t0 - Duration::from_millis(1), t0 + Duration::from_millis(5));
        assert_eq!(w.limit(), 4);
    }
}
