//! The default id a layer's leases are held under.

use std::hash::{BuildHasher, RandomState};

/// `{pid}-{nanos}-{n}-{random}`: the process id, the time in nanoseconds since the Unix epoch
/// (hex), the layer's count in this process and 64 random bits (hex). The random part keeps
/// two processes apart when nothing else does: containers all run as pid 1, and two may make
/// their first layer in the same nanosecond (a coarse clock, or one set back). The bits are
/// std's `RandomState`'s keys (drawn from the system's random generator for each thread, and
/// stepped for each `RandomState` made in it) hashing these three numbers: no dependency of
/// the library's own; `lro proxy` names its holder with its own random bits.
pub(super) fn holder_id(pid: u32, nanos: u128, n: u64) -> String {
    let random = RandomState::new().hash_one((pid, nanos, n));
    format!("{pid}-{nanos:x}-{n}-{random:016x}")
}

#[cfg(test)]
mod tests {
    use super::holder_id;

    /// Containers all run as pid 1, and two of them may make their first layer in the same
    /// nanosecond: their ids still differ (here two ids of one process; two processes draw
    /// their keys apart).
    #[test]
    fn ids_made_with_the_same_pid_time_and_count_differ() {
        let (a, b) = (holder_id(1, 0x5eed, 0), holder_id(1, 0x5eed, 0));
        assert_ne!(a, b);
        assert!(a.starts_with("1-5eed-0-"), "{a}");
        assert_eq!(a.len(), "1-5eed-0-".len() + 16, "{a}");
    }
}
