//! A tiny deterministic random number generator (SplitMix64).
//!
//! The demo data must stay byte-identical for a seed across releases, so the generator lives
//! here instead of coming from a crate whose algorithm could change with an upgrade.

/// SplitMix64: one 64-bit state, advanced by a fixed odd constant and mixed on output.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// Starts a stream from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0). Multiply-and-shift keeps the bias far below anything a
    /// demo could show, without a rejection loop.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0, "below(0) has no answer");
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One element of a non-empty slice of `(item, weight)` pairs, with probability in
    /// proportion to its weight.
    pub(crate) fn pick_weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut ticket = self.below(total as usize) as u32;
        for (item, weight) in items {
            if ticket < *weight {
                return item;
            }
            ticket -= weight;
        }
        &items[items.len() - 1].0
    }

    /// A derived, independent stream, so adding draws in one part of the generator does not
    /// shift every value drawn after it in another part.
    pub(crate) fn fork(&mut self, salt: u64) -> Rng {
        Rng::new(self.next_u64() ^ salt.wrapping_mul(0xD6E8_FEB8_6659_FD93))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn splitmix64_matches_its_published_first_output_for_seed_zero() {
        // First output of SplitMix64 seeded with 0, as given with the reference algorithm.
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn ranges_stay_inside_their_bounds() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let v = r.range(3, 5);
            assert!((3..=5).contains(&v));
        }
    }

    #[test]
    fn weighted_picks_follow_their_weights_roughly() {
        let mut r = Rng::new(2);
        let items = [("a", 9u32), ("b", 1u32)];
        let a = (0..10_000)
            .filter(|_| *r.pick_weighted(&items) == "a")
            .count();
        assert!((8_700..9_300).contains(&a), "a picked {a} times");
    }
}
