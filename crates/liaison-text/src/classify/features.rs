//! Turns a message (title + body) into a sparse, hashed, weighted feature vector.
//!
//! Features are character n-grams of the normalised text and, optionally, jieba words and
//! pairs of adjacent words. Each feature is hashed into one of `2^hash_bits` buckets (the
//! "hashing trick"), so the model needs no vocabulary. Title and body are counted separately;
//! each count is damped with `1 + ln(count)` and scaled by IDF, and the title and body parts
//! are combined with `title_weight` and normalised to unit length.
//!
//! Whitespace is dropped before n-grams are formed, because the training bodies of the
//! gov-messages data set had all whitespace removed; punctuation breaks n-grams.

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
    /// Use jieba words of two or more characters (cut without HMM). Costs most of the
    /// prediction time.
    pub words: bool,
    /// Use pairs of adjacent jieba words (only with `words`).
    pub word_pairs: bool,
    /// Weight of the title's features relative to the body's.
    pub title_weight: f32,
    /// Normalise title and body to unit length each before combining them, so a long body
    /// does not drown the title.
    pub normalise_fields: bool,
    /// Map every digit to `0`, so numbers of the same length share features.
    pub fold_digits: bool,
    /// Scale features by inverse document frequency.
    pub idf: bool,
    /// Ignore buckets seen in fewer training messages than this (only with `idf`; their IDF
    /// is stored as 0). Unseen buckets are always ignored.
    pub min_df: u32,
    /// How a message with both title and body is combined (only with `normalise_fields`).
    /// `None`: the two unit-length parts are added (the title scaled by `title_weight`) and
    /// the sum is normalised to unit length. `Some(share)`: the vector is
    /// `share · title + (1 − share) · body` without renormalising, so a linear model's score
    /// is exactly the same mix of the scores of the title alone and the body alone. A message
    /// with one field is its unit-length vector either way, as the training rows are.
    // Left out of the model file when unset, so models trained without it keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_share: Option<f32>,
}

impl Default for FeatureConfig {
    /// The configuration of the shipped model.
    fn default() -> Self {
        FeatureConfig {
            hash_bits: 18,
            char_ngram_min: 1,
            char_ngram_max: 2,
            words: true,
            word_pairs: true,
            title_weight: 1.0,
            normalise_fields: true,
            fold_digits: true,
            idf: true,
            min_df: 2,
            title_share: None,
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

/// Separates n-gram runs: punctuation and symbols become this value.
const SEPARATOR: u32 = 0;

/// Hash seeds keep character n-grams, words and word pairs apart in the bucket space.
const SEED_CHARS: u64 = 0x517c_c1b7_2722_0a95;
const SEED_WORDS: u64 = 0x2d35_8dcc_aa6c_78a5;
const SEED_WORD_PAIRS: u64 = 0x9e6c_63d0_676a_9a99;

/// Collects the bucket of every feature occurrence, with the field it came from in the low
/// bit, so title and body can be damped and normalised separately.
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

    fn push(&mut self, hash: u64, field: u32) {
        // The high bits of the finalised hash are the best mixed; the shift keeps them.
        let bucket = (finalise(hash) >> self.shift) as u32;
        self.keys.push((bucket << 1) | field);
    }

    fn add_text(&mut self, text: &str, is_title: bool) {
        let field = u32::from(is_title);
        let fold = self.config.fold_digits;
        // Taken out of `self` for the loop so that `push` can borrow `self` mutably.
        let mut chars = std::mem::take(&mut self.chars);
        chars.clear();
        chars.extend(
            text.chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| normalise_char(c, fold)),
        );
        let lo = usize::from(self.config.char_ngram_min.max(1));
        let hi = usize::from(self.config.char_ngram_max.min(3));
        for n in lo..=hi {
            for window in chars.windows(n) {
                if window.contains(&SEPARATOR) {
                    continue;
                }
                // Up to three 21-bit code points fit exactly into 63 bits, so distinct n-grams
                // only ever collide in the final reduction to a bucket.
                let packed = window
                    .iter()
                    .fold(0u64, |acc, &c| (acc << 21) | u64::from(c));
                self.push(packed ^ SEED_CHARS, field);
            }
        }
        self.chars = chars;
        if self.config.words {
            let mut previous: Option<u64> = None;
            for token in JIEBA.cut(text, false) {
                let word = token.word;
                if !word.chars().all(char::is_alphanumeric) {
                    previous = None;
                    continue;
                }
                // FNV-1a over the normalised code points.
                let hash = word.chars().fold(SEED_WORDS, |acc, c| {
                    (acc ^ u64::from(normalise_char(c, fold))).wrapping_mul(0x100_0000_01b3)
                });
                if self.config.word_pairs
                    && let Some(before) = previous
                {
                    self.push(before.rotate_left(17) ^ hash ^ SEED_WORD_PAIRS, field);
                }
                previous = Some(hash);
                // Single characters are already character unigrams.
                if word.chars().nth(1).is_some() {
                    self.push(hash, field);
                }
            }
        }
    }
}

/// Lowercases ASCII, folds full-width ASCII forms to their ASCII form, optionally folds digits,
/// and maps everything that is neither letter nor digit to [`SEPARATOR`].
pub(crate) fn normalise_char(c: char, fold_digits: bool) -> u32 {
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
pub(crate) fn finalise(mut z: u64) -> u64 {
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
    let mut renormalise = true;
    let (title_scale, body_scale) = if config.normalise_fields {
        let (mut title_sq, mut body_sq) = (0f32, 0f32);
        for &(bucket, in_title, in_body) in &counts {
            let w = idf_of(bucket);
            title_sq += (damp(in_title) * w).powi(2);
            body_sq += (damp(in_body) * w).powi(2);
        }
        let inverse = |sq: f32| if sq > 0.0 { 1.0 / sq.sqrt() } else { 0.0 };
        match config.title_share {
            Some(share) if title_sq > 0.0 && body_sq > 0.0 => {
                renormalise = false;
                (share * inverse(title_sq), (1.0 - share) * inverse(body_sq))
            }
            _ => (config.title_weight * inverse(title_sq), inverse(body_sq)),
        }
    } else {
        (config.title_weight, 1.0)
    };
    let mut vec: SparseVec = counts
        .into_iter()
        .map(|(bucket, in_title, in_body)| {
            let value = title_scale * damp(in_title) + body_scale * damp(in_body);
            (bucket, value * idf_of(bucket))
        })
        .filter(|&(_, value)| value != 0.0)
        .collect();
    let norm = vec.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if renormalise && norm > 0.0 {
        for (_, v) in &mut vec {
            *v /= norm;
        }
    }
    vec
}

/// Smoothed inverse document frequency per bucket, `ln((1 + n) / (1 + df)) + 1` (the form
/// scikit-learn's `TfidfVectorizer(smooth_idf=True)` documents), or 0 for buckets seen in
/// fewer than `max(1, min_df)` messages, which removes them from every vector.
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
            if d == 0 || d < config.min_df {
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

    /// Character n-grams only, so the expected features can be counted by hand.
    fn chars_only() -> FeatureConfig {
        FeatureConfig {
            words: false,
            word_pairs: false,
            ..FeatureConfig::default()
        }
    }

    #[test]
    fn full_width_letters_digits_and_case_are_folded() {
        let config = chars_only();
        let a = raw_counts(&config, "", "ＡＢＣ１２３");
        let b = raw_counts(&config, "", "abc999");
        assert_eq!(a, b);
    }

    #[test]
    fn punctuation_breaks_ngrams() {
        let config = FeatureConfig {
            char_ngram_min: 2,
            ..chars_only()
        };
        assert!(raw_counts(&config, "", "停，车").is_empty());
        assert_eq!(raw_counts(&config, "", "停车").len(), 1);
    }

    #[test]
    fn title_and_body_occurrences_are_counted_apart() {
        let config = FeatureConfig {
            char_ngram_max: 1,
            ..chars_only()
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
    fn title_share_mixes_the_unit_length_fields_without_renormalising() {
        let config = FeatureConfig {
            idf: false,
            title_share: Some(0.3),
            ..chars_only()
        };
        let title = vectorise(&config, &[], "小区停车", "");
        let body = vectorise(&config, &[], "", "楼下车辆乱停乱放");
        let both = vectorise(&config, &[], "小区停车", "楼下车辆乱停乱放");
        let value = |v: &SparseVec, b: u32| v.iter().find(|e| e.0 == b).map_or(0.0, |e| e.1);
        for &(bucket, v) in &both {
            let expected = 0.3 * value(&title, bucket) + 0.7 * value(&body, bucket);
            assert!((v - expected).abs() < 1e-6);
        }
        // One field alone is unit length, as without the share.
        let legacy = FeatureConfig {
            title_share: None,
            ..config
        };
        assert_eq!(title, vectorise(&legacy, &[], "小区停车", ""));
    }

    #[test]
    fn empty_text_gives_an_empty_vector() {
        let config = FeatureConfig::default();
        assert!(vectorise(&config, &[], "", "。。。").is_empty());
    }

    #[test]
    fn whitespace_does_not_break_ngrams() {
        let config = chars_only();
        assert_eq!(
            raw_counts(&config, "", "停 车\n难"),
            raw_counts(&config, "", "停车难")
        );
    }

    #[test]
    fn words_and_word_pairs_add_their_own_features() {
        let chars = raw_counts(&chars_only(), "", "小区停车难问题").len();
        let words = FeatureConfig {
            word_pairs: false,
            ..FeatureConfig::default()
        };
        let with_words = raw_counts(&words, "", "小区停车难问题").len();
        let with_pairs = raw_counts(&FeatureConfig::default(), "", "小区停车难问题").len();
        assert!(chars < with_words && with_words < with_pairs);
    }

    #[test]
    fn buckets_rarer_than_min_df_get_zero_idf() {
        let config = FeatureConfig {
            char_ngram_max: 1,
            min_df: 2,
            ..chars_only()
        };
        let idf = compute_idf(&config, &[("", "水电"), ("", "水")]);
        let bucket = |text: &str| raw_counts(&config, "", text)[0].0 as usize;
        assert!(idf[bucket("水")] > 0.0);
        assert_eq!(idf[bucket("电")], 0.0);
        assert!(vectorise(&config, &idf, "", "电").is_empty());
    }
}
