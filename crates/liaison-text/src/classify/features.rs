//! Turns a message (title + body) into a sparse, hashed, weighted feature vector.
//!
//! Features are character n-grams of the normalised text and, optionally, jieba words. Each
//! feature is hashed into one of `2^hash_bits` buckets ("hashing trick"), so the model needs no
//! vocabulary and prediction allocates no strings. Title and body are counted separately, each
//! count is damped with `1 + ln(count)`, the title part is multiplied by `title_weight`, the
//! result is optionally scaled by IDF and then normalised to unit length.

use serde::{Deserialize, Serialize};

use crate::search_text::JIEBA;

/// How text becomes features. Stored in the model file, so prediction always uses the
/// configuration the model was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Number of hash buckets is `2^hash_bits`.
    pub hash_bits: u8,
    /// Shortest character n-gram (1 = single characters).
    pub char_ngram_min: u8,
    /// Longest character n-gram (at most 3); 0 disables character n-grams.
    pub char_ngram_max: u8,
    /// Also use jieba words (without HMM). Costs most of the prediction time.
    pub words: bool,
    /// Multiplier of the title's features relative to the body's.
    pub title_weight: f32,
    /// Map every digit to `0`, so numbers of the same length share features.
    pub fold_digits: bool,
    /// Scale features by inverse document frequency.
    pub idf: bool,
    /// Normalise title and body to unit length each before combining them.
    pub normalise_fields: bool,
    /// Drop whitespace instead of treating it as a break between n-grams.
    pub skip_whitespace: bool,
    /// Also emit every feature a second time in a title-only or body-only space.
    pub field_features: bool,
    /// Buckets seen in fewer training messages than this are ignored (needs `idf`).
    pub min_df: u32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            hash_bits: 18,
            char_ngram_min: 1,
            char_ngram_max: 2,
            words: false,
            title_weight: 2.0,
            fold_digits: true,
            idf: true,
            normalise_fields: true,
            skip_whitespace: true,
            field_features: false,
            min_df: 1,
        }
    }
}

impl FeatureConfig {
    /// Number of hash buckets.
    pub fn buckets(&self) -> usize {
        1 << self.hash_bits
    }
}

/// One sparse feature vector: bucket indices in increasing order with their values.
pub type SparseVec = Vec<(u32, f32)>;

/// Separates n-gram runs: punctuation, whitespace and symbols all become this value.
const SEPARATOR: u32 = 0;

/// Hash seeds keep n-grams of different lengths and words apart in the bucket space.
const SEED_CHARS: u64 = 0x51_7c_c1_b7_27_22_0a_95;
const SEED_WORDS: u64 = 0x2d_35_8d_cc_aa_6c_78_a5;

/// Extracts raw (unweighted, un-normalised) hashed counts. Which field an occurrence came
/// from is kept in the low bit, so title and body can be damped separately.
struct Collector {
    config: FeatureConfig,
    shift: u32,
    /// `(bucket << 1) | is_title`
    keys: Vec<u32>,
    chars: Vec<u32>,
}

impl Collector {
    fn new(config: FeatureConfig) -> Self {
        Collector {
            config,
            shift: 64 - u32::from(config.hash_bits),
            keys: Vec::with_capacity(1024),
            chars: Vec::with_capacity(512),
        }
    }

    fn bucket(&self, hash: u64) -> u32 {
        // The high bits of the finalised hash are the best mixed; the shift keeps them.
        (finalise(hash) >> self.shift) as u32
    }

    fn push(&mut self, hash: u64, field: u32) {
        self.keys.push((self.bucket(hash) << 1) | field);
        if self.config.field_features {
            let salt = if field == 1 {
                0x7469_746c_65
            } else {
                0x626f_6479
            };
            self.keys.push((self.bucket(hash ^ salt) << 1) | field);
        }
    }

    fn add_text(&mut self, text: &str, is_title: bool) {
        let field = u32::from(is_title);
        // Taken out of `self` for the loop so that `push` can borrow `self` mutably.
        let mut chars = std::mem::take(&mut self.chars);
        chars.clear();
        let skip = self.config.skip_whitespace;
        chars.extend(
            text.chars()
                .filter(|c| !(skip && c.is_whitespace()))
                .map(|c| normalise_char(c, self.config.fold_digits)),
        );
        let (lo, hi) = (
            usize::from(self.config.char_ngram_min.max(1)),
            usize::from(self.config.char_ngram_max.min(3)),
        );
        for n in lo..=hi {
            for window in chars.windows(n) {
                if window.contains(&SEPARATOR) {
                    continue;
                }
                // Up to three 21-bit code points fit exactly into 63 bits, so distinct n-grams
                // only ever collide in the final bucket reduction.
                let mut packed: u64 = 0;
                for &c in window {
                    packed = (packed << 21) | u64::from(c);
                }
                let hash = packed ^ SEED_CHARS.rotate_left(n as u32 * 8);
                self.push(hash, field);
            }
        }
        self.chars = chars;
        if self.config.words {
            let hmm = std::env::var("HMM").is_ok();
            let bigrams = std::env::var("WBI").is_ok();
            let mut previous: Option<u64> = None;
            for token in JIEBA.cut(text, hmm) {
                let word = token.word;
                if !word.chars().all(char::is_alphanumeric) {
                    previous = None;
                    continue;
                }
                let mut hash = SEED_WORDS;
                for c in word.chars() {
                    let c = normalise_char(c, self.config.fold_digits);
                    hash = (hash ^ u64::from(c)).wrapping_mul(0x100_0000_01b3);
                }
                if bigrams {
                    if let Some(p) = previous {
                        self.push(p.rotate_left(17) ^ hash, field);
                    }
                    previous = Some(hash);
                }
                if word.chars().count() < 2 {
                    // Single characters are already character unigrams.
                    continue;
                }
                self.push(hash, field);
            }
        }
    }
}

/// Lowercases ASCII, folds full-width ASCII forms to their ASCII form, optionally folds digits,
/// and maps everything that is neither letter nor digit to [`SEPARATOR`].
fn normalise_char(c: char, fold_digits: bool) -> u32 {
    let c = match u32::from(c) {
        // Full-width ！..～ sit exactly 0xFEE0 above their ASCII forms.
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    if !c.is_alphanumeric() {
        return SEPARATOR;
    }
    if fold_digits && c.is_numeric() {
        return u32::from('0');
    }
    u32::from(c.to_ascii_lowercase())
}

/// SplitMix64's finaliser (Steele, Lea, Flood 2014): spreads every input bit over the output.
fn finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashed term counts of a message, before weighting: for each bucket, the number of
/// occurrences in the title and in the body.
pub fn raw_counts(config: &FeatureConfig, title: &str, body: &str) -> Vec<(u32, u32, u32)> {
    let mut collector = Collector::new(*config);
    collector.add_text(title, true);
    collector.add_text(body, false);
    let mut keys = collector.keys;
    keys.sort_unstable();
    let mut out: Vec<(u32, u32, u32)> = Vec::with_capacity(keys.len());
    for key in keys {
        let (bucket, is_title) = (key >> 1, key & 1 == 1);
        match out.last_mut() {
            Some(last) if last.0 == bucket => {
                if is_title {
                    last.1 += 1;
                } else {
                    last.2 += 1;
                }
            }
            _ => out.push((bucket, u32::from(is_title), u32::from(!is_title))),
        }
    }
    out
}

/// The weighted, unit-length feature vector of a message. `idf` must hold one weight per
/// bucket when `config.idf` is set and is ignored otherwise.
pub fn vectorise(config: &FeatureConfig, idf: &[f32], title: &str, body: &str) -> SparseVec {
    let counts = raw_counts(config, title, body);
    let damp = |n: u32| if n == 0 { 0.0 } else { 1.0 + (n as f32).ln() };
    let idf_of = |bucket: u32| {
        if config.idf {
            idf[bucket as usize]
        } else {
            1.0
        }
    };
    let (title_scale, body_scale) = if config.normalise_fields {
        let (mut title_sq, mut body_sq) = (0f32, 0f32);
        for &(bucket, in_title, in_body) in &counts {
            let w = idf_of(bucket);
            title_sq += (damp(in_title) * w).powi(2);
            body_sq += (damp(in_body) * w).powi(2);
        }
        let inverse = |sq: f32| if sq > 0.0 { 1.0 / sq.sqrt() } else { 0.0 };
        (config.title_weight * inverse(title_sq), inverse(body_sq))
    } else {
        (config.title_weight, 1.0)
    };
    let mut vec: SparseVec = counts
        .into_iter()
        .map(|(bucket, in_title, in_body)| {
            let value = title_scale * damp(in_title) + body_scale * damp(in_body);
            (bucket, value * idf_of(bucket))
        })
        .collect();
    let norm = vec.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, v) in &mut vec {
            *v /= norm;
        }
    }
    vec
}

/// Smoothed inverse document frequency per bucket, `ln((1 + n) / (1 + df)) + 1`, the form
/// used by scikit-learn's `TfidfVectorizer(smooth_idf=True)`.
pub fn compute_idf(config: &FeatureConfig, docs: &[(&str, &str)]) -> Vec<f32> {
    let mut df = vec![0u32; config.buckets()];
    for (title, body) in docs {
        for (bucket, _, _) in raw_counts(config, title, body) {
            df[bucket as usize] += 1;
        }
    }
    let n = docs.len() as f32;
    df.into_iter()
        .map(|d| {
            if d < config.min_df {
                0.0
            } else {
                ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_letters_digits_and_case_are_folded() {
        let config = FeatureConfig::default();
        let a = raw_counts(&config, "", "ＡＢＣ１２３");
        let b = raw_counts(&config, "", "abc999");
        assert_eq!(a, b);
    }

    #[test]
    fn punctuation_breaks_ngrams() {
        let config = FeatureConfig {
            char_ngram_min: 2,
            ..FeatureConfig::default()
        };
        assert!(raw_counts(&config, "", "停，车").is_empty());
        assert_eq!(raw_counts(&config, "", "停车").len(), 1);
    }

    #[test]
    fn title_and_body_occurrences_are_counted_apart() {
        let config = FeatureConfig {
            char_ngram_max: 1,
            ..FeatureConfig::default()
        };
        let counts = raw_counts(&config, "水", "水水");
        assert_eq!(counts.len(), 1);
        assert_eq!((counts[0].1, counts[0].2), (1, 2));
    }

    #[test]
    fn vectors_have_unit_length() {
        let config = FeatureConfig {
            idf: false,
            ..FeatureConfig::default()
        };
        let vec = vectorise(&config, &[], "小区停车难", "楼下车辆乱停乱放");
        let norm: f32 = vec.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(vec.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn empty_text_gives_an_empty_vector() {
        let config = FeatureConfig::default();
        assert!(vectorise(&config, &[], "", "。。。").is_empty());
    }
}
