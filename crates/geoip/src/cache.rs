//! A bounded cache of recent answers, misses included.
//!
//! Direct-mapped: each address has one slot, chosen by a hash of its bits, and
//! a newcomer replaces whatever was there. That is O(1) with no allocation
//! besides the answer's `Arc`, never needs a sweep, and addresses chosen to
//! collide only cost lookups (no hash table to degrade). The slots are split
//! into shards, each behind its own lock, so the few shaping threads rarely
//! wait on each other.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use trailsearch_mapping::Location;

/// Slots in all: the distinct addresses of a large account's busy hour fit.
const SLOTS: usize = 8192;
const SHARDS: usize = 16;
const SLOTS_PER_SHARD: usize = SLOTS / SHARDS;

/// An address and what the databases said of it (`None`: nothing).
type Entry = (IpAddr, Option<Arc<Location>>);

struct Shard {
    slots: Box<[Option<Entry>]>,
    hits: u64,
    misses: u64,
}

pub(crate) struct Cache {
    shards: Box<[Mutex<Shard>]>,
}

/// How often the cache answered, since the databases were opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to the databases.
    pub misses: u64,
}

impl Cache {
    pub(crate) fn new() -> Cache {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    slots: vec![None; SLOTS_PER_SHARD].into_boxed_slice(),
                    hits: 0,
                    misses: 0,
                })
            })
            .collect();
        Cache { shards }
    }

    /// `Some(answer)` if `ip` is cached (the answer itself may be a miss).
    pub(crate) fn get(&self, ip: IpAddr) -> Option<Option<Arc<Location>>> {
        let (shard, slot) = position(ip);
        let mut shard = self.lock(shard);
        let found = match &shard.slots[slot] {
            Some((cached, answer)) if *cached == ip => Some(answer.clone()),
            _ => None,
        };
        match found {
            Some(_) => shard.hits += 1,
            None => shard.misses += 1,
        }
        found
    }

    pub(crate) fn insert(&self, ip: IpAddr, answer: Option<Arc<Location>>) {
        let entry = (ip, answer);
        let (shard, slot) = position(ip);
        // The replaced entry is dropped after the lock is released.
        let _replaced = self.lock(shard).slots[slot].replace(entry);
    }

    pub(crate) fn stats(&self) -> CacheStats {
        self.shards.iter().fold(CacheStats::default(), |total, shard| {
            let shard = lock(shard);
            CacheStats {
                hits: total.hits + shard.hits,
                misses: total.misses + shard.misses,
            }
        })
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        lock(&self.shards[shard])
    }
}

/// A poisoned shard still holds whole entries (each is replaced in one
/// move), so it is used as it is.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The shard and slot of an address: Fibonacci hashing of its bits, the top
/// bits of the product choosing the shard, the next ones the slot.
fn position(ip: IpAddr) -> (usize, usize) {
    let bits = match ip {
        IpAddr::V4(v4) => u64::from(v4.to_bits()),
        IpAddr::V6(v6) => {
            let bits = v6.to_bits();
            // Both halves count: the prefix says where, the interface id who.
            (bits as u64) ^ ((bits >> 64) as u64).rotate_left(29)
        }
    };
    let hash = bits.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let shard = (hash >> (64 - SHARDS.trailing_zeros())) as usize;
    let slot = (hash >> (64 - SLOTS.trailing_zeros())) as usize % SLOTS_PER_SHARD;
    (shard, slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_in_range_and_spread() {
        let mut used = vec![false; SLOTS];
        for i in 0..SLOTS as u32 {
            let (shard, slot) = position(IpAddr::V4((0x5102_4500 + i).into()));
            assert!(shard < SHARDS && slot < SLOTS_PER_SHARD);
            used[shard * SLOTS_PER_SHARD + slot] = true;
        }
        // Consecutive addresses (one busy /19) should not pile into few slots.
        let filled = used.iter().filter(|used| **used).count();
        assert!(filled > SLOTS / 2, "{filled} of {SLOTS} slots used");
    }

    #[test]
    fn answers_and_misses_are_kept_and_replaced() {
        let cache = Cache::new();
        let a: IpAddr = "8.8.8.8".parse().unwrap();
        let b: IpAddr = "2a02:8108::1".parse().unwrap();
        assert_eq!(cache.get(a), None);
        let location = Location {
            country_iso_code: Some("US".into()),
            ..Location::default()
        };
        cache.insert(a, Some(Arc::new(location.clone())));
        cache.insert(b, None);
        assert_eq!(cache.get(a).unwrap().as_deref(), Some(&location));
        assert_eq!(cache.get(b), Some(None));
        assert_eq!(cache.stats(), CacheStats { hits: 2, misses: 1 });
    }
}
