//! Sign-in attempts: each wrong token makes the next attempt from the same client wait
//! longer (250 ms, doubling, up to 8 s), so guessing the token takes forever.
//!
//! An attempt from a client with failures waits for its turn *before* its token is
//! compared: attempts sent in parallel queue one behind the other instead of all being
//! answered at once. A client whose turn is further away than [`MAX_WAIT`] is told to
//! come back later (429 with `Retry-After`). A right token clears the client's
//! failures. Clients are told apart by address (IPv6 by its /64, which one host
//! usually holds whole). Knows nothing of HTTP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::sync::lock;

/// The wait after the first failure; it doubles with each further one.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest wait between two attempts of one client.
const MAX_DELAY: Duration = Duration::from_secs(8);
/// The longest an attempt is held waiting for its turn before it is refused.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// Clients remembered at most; beyond it, those whose penalty has passed are forgotten.
const MAX_CLIENTS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Penalty {
    failures: u32,
    /// When the client's next attempt may be checked.
    next_turn: Instant,
}

/// The failed sign-ins of every client.
#[derive(Debug, Default)]
pub struct Attempts {
    clients: Mutex<HashMap<IpAddr, Penalty>>,
    /// How many clients have failures: the usual case, none, takes no lock.
    penalised: AtomicUsize,
}

/// An attempt that must not be checked now; retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComeBackLater(pub Duration);

fn delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

/// The address that stands for a client: an IPv6 address's /64.
fn client(ip: IpAddr) -> IpAddr {
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
    /// Waits until `ip` may have its token checked, and books the turn after it; a turn
    /// more than [`MAX_WAIT`] away is refused.
    pub async fn wait_turn(&self, ip: IpAddr) -> Result<(), ComeBackLater> {
        match self.book_turn(ip, Instant::now()) {
            Ok(Some(turn)) => {
                tokio::time::sleep_until(turn.into()).await;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(later) => Err(later),
        }
    }

    /// When `ip`'s attempt may be checked (`None`: now), booking the next turn a delay
    /// after it, so attempts in parallel are spread out.
    fn book_turn(&self, ip: IpAddr, now: Instant) -> Result<Option<Instant>, ComeBackLater> {
        if self.penalised.load(Ordering::Relaxed) == 0 {
            return Ok(None);
        }
        let mut clients = lock(&self.clients);
        let Some(penalty) = clients.get_mut(&client(ip)) else {
            return Ok(None);
        };
        let turn = penalty.next_turn.max(now);
        let wait = turn - now;
        if wait > MAX_WAIT {
            return Err(ComeBackLater(wait));
        }
        penalty.next_turn = turn + delay(penalty.failures);
        Ok((wait > Duration::ZERO).then_some(turn))
    }

    /// `ip` presented a wrong token.
    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut clients = lock(&self.clients);
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, penalty| penalty.next_turn > now);
        }
        let penalty = clients.entry(client(ip)).or_insert(Penalty {
            failures: 0,
            next_turn: now,
        });
        penalty.failures = penalty.failures.saturating_add(1);
        penalty.next_turn = penalty.next_turn.max(now + delay(penalty.failures));
        self.penalised.store(clients.len(), Ordering::Relaxed);
    }

    /// `ip` presented the right token: its failures are forgiven.
    pub fn succeeded(&self, ip: IpAddr) {
        if self.penalised.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut clients = lock(&self.clients);
        clients.remove(&client(ip));
        self.penalised.store(clients.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTACKER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));
    const OWNER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    #[test]
    fn each_failure_makes_the_next_attempt_wait_longer() {
        assert_eq!(delay(1), Duration::from_millis(250));
        assert_eq!(delay(2), Duration::from_millis(500));
        assert_eq!(delay(4), Duration::from_secs(2));
        assert_eq!(delay(40), MAX_DELAY);
        let attempts = Attempts::default();
        let now = Instant::now();
        assert_eq!(
            attempts.book_turn(ATTACKER, now),
            Ok(None),
            "no failure yet"
        );
        attempts.failed(ATTACKER);
        let first = attempts.book_turn(ATTACKER, now).unwrap().unwrap();
        assert!(
            first >= now + Duration::from_millis(200),
            "waits after a failure"
        );
        assert_eq!(attempts.book_turn(OWNER, now), Ok(None), "others do not");
    }

    #[test]
    fn attempts_in_parallel_queue_up_and_then_are_refused() {
        let attempts = Attempts::default();
        for _ in 0..5 {
            attempts.failed(ATTACKER);
        }
        let now = Instant::now();
        let turns: Vec<_> = (0..2)
            .map(|_| attempts.book_turn(ATTACKER, now).unwrap().unwrap())
            .collect();
        assert!(turns[1] >= turns[0] + delay(5), "one behind the other");
        let refused = (0..10).find_map(|_| attempts.book_turn(ATTACKER, now).err());
        assert!(refused.is_some_and(|ComeBackLater(wait)| wait > MAX_WAIT));
    }

    #[test]
    fn the_right_token_forgives_and_ipv6_hosts_count_as_one() {
        let attempts = Attempts::default();
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2:3".parse().unwrap();
        attempts.failed(a);
        assert!(attempts.book_turn(b, Instant::now()).unwrap().is_some());
        attempts.succeeded(b);
        assert_eq!(attempts.book_turn(a, Instant::now()), Ok(None));
        assert_eq!(attempts.penalised.load(Ordering::Relaxed), 0);
    }
}
