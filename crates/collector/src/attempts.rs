//! Sign-in attempts: each wrong token is answered later than the last (250 ms, doubling
//! up to 8 s), and a client's attempts are checked one at a time once it has given a
//! wrong one, so guessing the token takes forever, in parallel too.
//!
//! A client with failures has its attempts go through one turn: a wrong token keeps the
//! turn for its delay before it is answered; the right one passes at once (so a person
//! who mistyped, or a hook on the same machine, is not slowed while nobody is guessing).
//! An attempt that cannot have its turn within [`MAX_WAIT`] is told to come back later
//! (429) without its token being looked at. A right token does not forgive the failures
//! (a guesser may share the address with a client that has the token); they are
//! forgotten after [`FORGET_AFTER`] without one. Clients are told apart by address
//! (IPv6 by its /64, which one host usually holds whole). Knows nothing of HTTP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sync::lock;

/// The delay after the first failure; it doubles with each further one.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest delay.
const MAX_DELAY: Duration = Duration::from_secs(8);
/// The longest an attempt waits for its turn before it is refused.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// Failures are forgotten after this long without another.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Clients remembered at most; beyond it, those without a recent failure are forgotten.
const MAX_CLIENTS: usize = 10_000;

/// One client that gave a wrong token.
#[derive(Debug)]
struct Client {
    /// Failures, and when the last one was.
    failures: Mutex<(u32, Instant)>,
    /// Held while one of its attempts is checked, and through a wrong one's delay.
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// The failed sign-ins of every client.
#[derive(Debug, Default)]
pub struct Attempts {
    clients: Mutex<HashMap<IpAddr, Arc<Client>>>,
    /// How many clients have failures: the usual case, none, takes no lock.
    remembered: AtomicUsize,
}

/// An attempt that was not checked; retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComeBackLater(pub Duration);

fn delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

/// The address that stands for a client: an IPv6 address's /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
        v4 => v4,
    }
}

impl Attempts {
    /// Checks an attempt from `ip` with `is_right` in its turn; a wrong one is answered
    /// (returns `false`) only after its delay.
    pub async fn attempt(
        &self,
        ip: IpAddr,
        is_right: impl FnOnce() -> bool,
    ) -> Result<bool, ComeBackLater> {
        let known = self.known(ip);
        let turn = match &known {
            Some(client) => Some(
                tokio::time::timeout(MAX_WAIT, client.turn.clone().lock_owned())
                    .await
                    .map_err(|_| ComeBackLater(MAX_WAIT))?,
            ),
            None => None,
        };
        if is_right() {
            return Ok(true);
        }
        let client = known.unwrap_or_else(|| self.remember(ip));
        // A first failure has no turn yet: it takes one, behind any other first failure.
        let _turn = match turn {
            Some(turn) => turn,
            None => client.turn.clone().lock_owned().await,
        };
        let failures = {
            let mut failures = lock(&client.failures);
            if failures.1.elapsed() > FORGET_AFTER {
                failures.0 = 0;
            }
            *failures = (failures.0.saturating_add(1), Instant::now());
            failures.0
        };
        tokio::time::sleep(delay(failures)).await;
        Ok(false)
    }

    /// The client at `ip`, when it has failures.
    fn known(&self, ip: IpAddr) -> Option<Arc<Client>> {
        if self.remembered.load(Ordering::Relaxed) == 0 {
            return None;
        }
        lock(&self.clients).get(&client_key(ip)).cloned()
    }

    /// The client at `ip`, remembered from now on.
    fn remember(&self, ip: IpAddr) -> Arc<Client> {
        let mut clients = lock(&self.clients);
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, client| lock(&client.failures).1.elapsed() < FORGET_AFTER);
        }
        let client = clients
            .entry(client_key(ip))
            .or_insert_with(|| {
                Arc::new(Client {
                    failures: Mutex::new((0, Instant::now())),
                    turn: Arc::new(tokio::sync::Mutex::new(())),
                })
            })
            .clone();
        self.remembered.store(clients.len(), Ordering::Relaxed);
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUESSER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    #[test]
    fn each_failure_delays_the_next_answer_longer() {
        assert_eq!(delay(1), Duration::from_millis(250));
        assert_eq!(delay(2), Duration::from_millis(500));
        assert_eq!(delay(4), Duration::from_secs(2));
        assert_eq!(delay(40), MAX_DELAY);
    }

    #[tokio::test(start_paused = true)]
    async fn wrong_tokens_wait_and_queue_the_right_one_passes() {
        let attempts = Arc::new(Attempts::default());
        let started = tokio::time::Instant::now();
        for _ in 0..3 {
            assert_eq!(attempts.attempt(GUESSER, || false).await, Ok(false));
        }
        assert!(started.elapsed() >= Duration::from_millis(250 + 500 + 1000));
        // Guesses in parallel: one at a time, each holding the turn for its delay
        // (2 s, 4 s, 8 s, …); those that cannot have it within 10 s are not checked.
        let checked = Arc::new(AtomicUsize::new(0));
        let guesses: Vec<_> = (0..6)
            .map(|_| {
                let (attempts, checked) = (attempts.clone(), checked.clone());
                tokio::spawn(async move {
                    attempts
                        .attempt(GUESSER, || {
                            checked.fetch_add(1, Ordering::SeqCst);
                            false
                        })
                        .await
                })
            })
            .collect();
        let mut refused = 0;
        for guess in guesses {
            if guess.await.unwrap().is_err() {
                refused += 1;
            }
        }
        assert!(refused >= 3, "{refused} refused");
        assert_eq!(checked.load(Ordering::SeqCst) + refused, 6);
        // Nobody is guessing now: the right token passes at once, others are untouched.
        let now = tokio::time::Instant::now();
        assert_eq!(attempts.attempt(GUESSER, || true).await, Ok(true));
        assert_eq!(attempts.attempt(OTHER, || true).await, Ok(true));
        assert_eq!(now.elapsed(), Duration::ZERO);
    }

    #[test]
    fn an_ipv6_host_counts_as_one() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2:3".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key("2001:db9::1".parse().unwrap()));
    }
}
