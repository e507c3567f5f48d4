//! Backoff between retries: exponential, capped, with optional jitter.

use std::time::Duration;

/// When to retry. Pure: tests step it and assert exact delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First delay.
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
    /// Spread each delay uniformly over [delay/2, delay].
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A backoff sequence; `seed` makes jitter reproducible.
    pub fn backoff(&self, seed: u64) -> Backoff {
        Backoff {
            policy: *self,
            attempt: 0,
            // Spread nearby seeds apart; xorshift needs a non-zero state.
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }
}

/// One retry sequence.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// The delay before the next attempt, or `None` when `remaining` (the
    /// retry budget left, e.g. to `--max-retry-time` or the Lambda deadline)
    /// is spent. A delay never exceeds what remains.
    pub fn next_delay(&mut self, remaining: Duration) -> Option<Duration> {
        if remaining.is_zero() {
            return None;
        }
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        let full = self.policy.base.saturating_mul(factor).min(self.policy.cap);
        self.attempt += 1;
        let delay = if self.policy.jitter {
            let half = full / 2;
            let spread = half.as_nanos() as u64;
            let offset = if spread == 0 {
                0
            } else {
                self.next_random() % (spread + 1)
            };
            half + Duration::from_nanos(offset)
        } else {
            full
        };
        Some(delay.min(remaining))
    }

    /// Attempts scheduled so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: enough for jitter, and seedable.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn backoff_doubles_to_the_cap_without_jitter() {
        let policy = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            jitter: false,
        };
        let mut b = policy.backoff(7);
        let delays: Vec<u128> = (0..6).map(|_| b.next_delay(HOUR).unwrap().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.attempts(), 6);
    }

    #[test]
    fn delays_never_exceed_the_remaining_budget() {
        let mut b = RetryPolicy {
            jitter: false,
            ..Default::default()
        }
        .backoff(1);
        assert_eq!(
            b.next_delay(Duration::from_millis(50)),
            Some(Duration::from_millis(50))
        );
        assert_eq!(b.next_delay(Duration::ZERO), None);
    }

    #[test]
    fn jitter_stays_in_the_upper_half_and_is_seeded() {
        let policy = RetryPolicy {
            base: Duration::from_millis(1000),
            cap: Duration::from_secs(8),
            jitter: true,
        };
        let run = |seed| {
            let mut b = policy.backoff(seed);
            (0..5).map(|_| b.next_delay(HOUR).unwrap()).collect::<Vec<_>>()
        };
        let a = run(42);
        assert_eq!(a, run(42));
        assert_ne!(a, run(43));
        for (i, d) in a.iter().enumerate() {
            let full = Duration::from_millis(1000 * (1 << i)).min(Duration::from_secs(8));
            assert!(*d >= full / 2 && *d <= full, "attempt {i}: {d:?}");
        }
    }
}
