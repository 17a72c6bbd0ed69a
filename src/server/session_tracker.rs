//! Session bookkeeping, sans-IO: ids, passwords, timeouts and expiry buckets.
//!
//! Mirrors `SessionTrackerImpl` + `ExpiryQueue`: a session expires at its last
//! touch plus its timeout, rounded up to the next tick, so expiry is checked
//! once per tick over whole buckets. The caller supplies the clock.

use std::collections::{BTreeMap, HashMap, HashSet};

/// `ZooKeeperServer.superSecret`: the session password is derived from it.
const SUPER_SECRET: i64 = 0xB341_5C00;

/// The 16-byte password of a session, as `ZooKeeperServer.generatePasswd`
/// computes it (`new Random(id ^ superSecret).nextBytes(16)`), so any server
/// can check it without shared state.
pub fn session_password(session_id: i64) -> [u8; 16] {
    let mut rng = JavaRandom::new(session_id ^ SUPER_SECRET);
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(4) {
        let mut r = rng.next_int();
        for b in chunk {
            *b = r as u8;
            r >>= 8;
        }
    }
    out
}

/// `java.util.Random`'s 48-bit linear congruential generator.
struct JavaRandom(i64);

impl JavaRandom {
    const MULT: i64 = 0x5_DEEC_E66D;
    const MASK: i64 = (1 << 48) - 1;

    fn new(seed: i64) -> Self {
        JavaRandom((seed ^ Self::MULT) & Self::MASK)
    }

    fn next_int(&mut self) -> i32 {
        self.0 = (self.0.wrapping_mul(Self::MULT).wrapping_add(0xB)) & Self::MASK;
        (self.0 >> 16) as i32
    }
}

#[derive(Debug, Clone, Copy)]
struct Tracked {
    timeout_ms: i32,
    expires_at: u64,
    closing: bool,
}

/// Live sessions and when each expires.
#[derive(Debug)]
pub struct SessionTracker {
    tick_ms: u64,
    next_id: i64,
    sessions: HashMap<i64, Tracked>,
    buckets: BTreeMap<u64, HashSet<i64>>,
}

impl SessionTracker {
    /// `server_id` goes into the top byte of every id, the wall clock into the
    /// middle bits, as `SessionTrackerImpl.initializeNextSessionId` does.
    pub fn new(tick_ms: u32, server_id: u8, wall_clock_ms: i64) -> Self {
        let next_id = ((wall_clock_ms << 24) as u64 >> 8) as i64 | ((server_id as i64) << 56);
        SessionTracker {
            tick_ms: tick_ms.max(1) as u64,
            next_id,
            sessions: HashMap::new(),
            buckets: BTreeMap::new(),
        }
    }

    fn round_up(&self, t: u64) -> u64 {
        (t / self.tick_ms + 1) * self.tick_ms
    }

    /// Allocates an id for a new session and starts tracking it.
    pub fn create_session(&mut self, timeout_ms: i32, now_ms: u64) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.track(id, timeout_ms, now_ms);
        id
    }

    /// Tracks a session (new, or restored from disk) and touches it.
    pub fn track(&mut self, id: i64, timeout_ms: i32, now_ms: u64) {
        self.sessions.insert(
            id,
            Tracked {
                timeout_ms,
                expires_at: 0,
                closing: false,
            },
        );
        self.touch(id, now_ms);
    }

    /// Records activity; false when the session is unknown or closing.
    pub fn touch(&mut self, id: i64, now_ms: u64) -> bool {
        let Some(s) = self.sessions.get(&id).copied() else {
            return false;
        };
        if s.closing {
            return false;
        }
        let at = self.round_up(now_ms + s.timeout_ms.max(0) as u64);
        if at == s.expires_at {
            return true;
        }
        if let Some(b) = self.buckets.get_mut(&s.expires_at) {
            b.remove(&id);
            if b.is_empty() {
                self.buckets.remove(&s.expires_at);
            }
        }
        self.buckets.entry(at).or_default().insert(id);
        if let Some(t) = self.sessions.get_mut(&id) {
            t.expires_at = at;
        }
        true
    }

    /// Changes a session's timeout (a reconnect renegotiates it).
    pub fn set_timeout(&mut self, id: i64, timeout_ms: i32, now_ms: u64) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.timeout_ms = timeout_ms;
        }
        self.touch(id, now_ms);
    }

    /// True while the session exists and is not being closed.
    pub fn is_active(&self, id: i64) -> bool {
        self.sessions.get(&id).is_some_and(|s| !s.closing)
    }

    /// The negotiated timeout of a tracked session.
    pub fn timeout_ms(&self, id: i64) -> Option<i32> {
        self.sessions.get(&id).map(|s| s.timeout_ms)
    }

    /// Marks a session as closing: it can no longer be touched or reopened.
    pub fn set_closing(&mut self, id: i64) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.closing = true;
        }
    }

    /// Forgets a session (its close was applied).
    pub fn remove(&mut self, id: i64) {
        if let Some(s) = self.sessions.remove(&id) {
            if let Some(b) = self.buckets.get_mut(&s.expires_at) {
                b.remove(&id);
                if b.is_empty() {
                    self.buckets.remove(&s.expires_at);
                }
            }
        }
    }

    /// Sessions whose expiry time has passed, now marked closing (sorted).
    pub fn expire(&mut self, now_ms: u64) -> Vec<i64> {
        let mut out = Vec::new();
        while let Some((&at, _)) = self.buckets.first_key_value() {
            if at > now_ms {
                break;
            }
            if let Some(ids) = self.buckets.remove(&at) {
                out.extend(ids);
            }
        }
        out.sort_unstable();
        for id in &out {
            self.set_closing(*id);
        }
        out
    }

    /// All tracked sessions with their timeouts (for snapshots and `cons`).
    pub fn sessions(&self) -> impl Iterator<Item = (i64, i32)> + '_ {
        self.sessions.iter().map(|(id, s)| (*id, s.timeout_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_matches_java_random() {
        // new java.util.Random(0x123456789abcdefL ^ 0xB3415C00L).nextBytes(16), run on a JVM.
        let expected: [i8; 16] = [
            -9, -51, 27, -117, 63, -108, 108, 71, 116, 37, -44, 27, -29, -10, 103, -58,
        ];
        assert_eq!(
            session_password(0x0123_4567_89ab_cdef),
            expected.map(|b| b as u8)
        );
        // java.util.Random(42).nextInt() == -1170105035
        let mut r = JavaRandom::new(42);
        assert_eq!(r.next_int(), -1170105035);
        assert_eq!(r.next_int(), 234785527);
    }

    #[test]
    fn ids_carry_server_id_and_increase() {
        let mut t = SessionTracker::new(2000, 3, 1_700_000_000_000);
        let a = t.create_session(4000, 0);
        let b = t.create_session(4000, 0);
        assert_eq!(a >> 56, 3);
        assert_eq!(b, a + 1);
    }

    #[test]
    fn expiry_rounds_up_to_the_next_tick() {
        let mut t = SessionTracker::new(1000, 0, 0);
        let id = t.create_session(2500, 100);
        // 100 + 2500 = 2600 -> bucket 3000
        assert!(t.expire(2999).is_empty());
        assert_eq!(t.expire(3000), vec![id]);
        assert!(!t.is_active(id));
        assert!(!t.touch(id, 3001), "a closing session cannot be revived");
    }

    #[test]
    fn touch_postpones_expiry() {
        let mut t = SessionTracker::new(1000, 0, 0);
        let id = t.create_session(2000, 0);
        assert!(t.touch(id, 1500));
        assert!(t.expire(3000).is_empty());
        assert_eq!(t.expire(4000), vec![id]);
    }

    #[test]
    fn removed_sessions_never_expire() {
        let mut t = SessionTracker::new(1000, 0, 0);
        let id = t.create_session(2000, 0);
        t.remove(id);
        assert!(t.expire(10_000).is_empty());
        assert!(!t.touch(id, 10_000));
    }
}
