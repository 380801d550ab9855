//! A supervised fastText-style classifier (Joulin et al. 2017, "Bag of Tricks for Efficient
//! Text Classification"): a message is the average of learned embeddings of its hashed
//! features (jieba words, adjacent word pairs and character n-grams), and a softmax layer maps
//! that average to the labels. Trained by plain SGD with a linearly decaying learning rate.
//!
//! It is used next to the linear SVM of [`super::Model`]: its errors differ from the SVM's
//! because the embeddings share strength between related features, which is what an ensemble
//! needs.
//!
//! Title and body are averaged separately and mixed with [`FastText::title_share`] when a
//! message has both; the training rows of the gov-messages data have only one of the two, so
//! the share is a prediction-time setting (fitted by cross-validation, not by training).

use serde::{Deserialize, Serialize};

use super::Example;
use super::features::{finalise, normalise_char};
use super::model::SplitMix64;
use crate::search_text::JIEBA;

/// Which features a message is made of and how large the embedding table is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FastTextConfig {
    /// The embedding table has `2^hash_bits` rows (before unused rows are dropped).
    pub hash_bits: u8,
    /// Length of every embedding.
    pub dim: u16,
    /// Shortest character n-gram; 0 disables character n-grams.
    pub char_ngram_min: u8,
    /// Longest character n-gram.
    pub char_ngram_max: u8,
    /// Use jieba words (cut without HMM).
    pub words: bool,
    /// Use pairs of adjacent jieba words.
    pub word_pairs: bool,
}

impl Default for FastTextConfig {
    fn default() -> Self {
        FastTextConfig {
            hash_bits: 20,
            dim: 64,
            char_ngram_min: 2,
            char_ngram_max: 4,
            words: true,
            word_pairs: true,
        }
    }
}

/// Training settings of [`FastText::train`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FastTextOptions {
    /// Features and table size.
    pub config: FastTextConfig,
    /// Passes over the training data.
    pub epochs: u32,
    /// Initial learning rate; it falls linearly to 0 over the training.
    pub learning_rate: f32,
    /// Seed of the initial embeddings and of the example order.
    pub seed: u64,
    /// Weight of the title's average when a message has both title and body.
    pub title_share: f32,
}

impl Default for FastTextOptions {
    fn default() -> Self {
        FastTextOptions {
            config: FastTextConfig::default(),
            epochs: 20,
            learning_rate: 0.3,
            seed: 20_200_228,
            title_share: 0.5,
        }
    }
}

const SEED_CHARS: u64 = 0x6a09_e667_f3bc_c908;
const SEED_WORDS: u64 = 0xbb67_ae85_84ca_a73b;
const SEED_WORD_PAIRS: u64 = 0x3c6e_f372_fe94_f82b;
const FNV_PRIME: u64 = 0x100_0000_01b3;

/// The hashed feature rows of one field (title or body), one entry per occurrence.
pub fn feature_rows(config: &FastTextConfig, text: &str) -> Vec<u32> {
    let shift = 64 - u32::from(config.hash_bits);
    let row = |hash: u64| (finalise(hash) >> shift) as u32;
    let mut out = Vec::new();
    if config.char_ngram_min > 0 {
        let chars: Vec<u32> = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| normalise_char(c, true))
            .collect();
        for n in usize::from(config.char_ngram_min)..=usize::from(config.char_ngram_max) {
            for window in chars.windows(n) {
                if window.contains(&0) {
                    continue;
                }
                let hash = window.iter().fold(SEED_CHARS ^ n as u64, |acc, &c| {
                    (acc ^ u64::from(c)).wrapping_mul(FNV_PRIME)
                });
                out.push(row(hash));
            }
        }
    }
    if config.words {
        let mut previous: Option<u64> = None;
        for token in JIEBA.cut(text, false) {
            let word = token.word;
            if !word.chars().all(char::is_alphanumeric) {
                previous = None;
                continue;
            }
            let hash = word.chars().fold(SEED_WORDS, |acc, c| {
                (acc ^ u64::from(normalise_char(c, true))).wrapping_mul(FNV_PRIME)
            });
            if config.word_pairs
                && let Some(before) = previous
            {
                out.push(row(before.rotate_left(17) ^ hash ^ SEED_WORD_PAIRS));
            }
            previous = Some(hash);
            out.push(row(hash));
        }
    }
    out
}

/// A trained fastText-style model.
#[derive(Debug, Clone, PartialEq)]
pub struct FastText {
    labels: Vec<String>,
    config: FastTextConfig,
    /// Weight of the title's average when a message has both title and body.
    pub title_share: f32,
    /// For each table row (`2^hash_bits`), the index of its embedding in `embeddings`, or
    /// `u32::MAX` for rows never seen in training, which are left out of the average.
    rows: Vec<u32>,
    /// The embeddings of the rows seen in training, `dim` each.
    embeddings: Vec<f32>,
    /// `labels × dim`, label-major.
    output: Vec<f32>,
}

impl FastText {
    /// Trains a model. Deterministic for the same examples and options.
    ///
    /// # Panics
    /// If `examples` is empty.
    pub fn train(examples: &[Example], opts: &FastTextOptions) -> FastText {
        assert!(!examples.is_empty(), "cannot train on no examples");
        let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        labels.sort();
        labels.dedup();
        let classes = labels.len();
        let config = opts.config;
        let dim = usize::from(config.dim);
        let table = 1usize << config.hash_bits;
        let docs: Vec<(Vec<u32>, Vec<u32>, usize)> = examples
            .iter()
            .map(|e| {
                (
                    feature_rows(&config, &e.title),
                    feature_rows(&config, &e.body),
                    labels.binary_search(&e.label).unwrap_or(0),
                )
            })
            .collect();
        // Compact the table to the rows that occur, so the untouched random rows of a large
        // hash space cost neither memory nor noise at prediction time.
        let mut rows = vec![u32::MAX; table];
        let mut used = 0u32;
        for (t, b, _) in &docs {
            for &r in t.iter().chain(b) {
                if rows[r as usize] == u32::MAX {
                    rows[r as usize] = used;
                    used += 1;
                }
            }
        }
        let docs: Vec<(Vec<u32>, Vec<u32>, usize)> = docs
            .into_iter()
            .map(|(t, b, y)| {
                let map = |v: Vec<u32>| v.into_iter().map(|r| rows[r as usize]).collect();
                (map(t), map(b), y)
            })
            .collect();
        let mut rng = SplitMix64(opts.seed);
        // Uniform in ±1/dim, as fastText initialises its input matrix; the output starts at 0.
        let bound = 1.0 / dim as f64;
        let mut embeddings: Vec<f32> = (0..used as usize * dim)
            .map(|_| ((rng.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * bound)
            .map(|v| v as f32)
            .collect();
        let mut output = vec![0f32; classes * dim];
        let mut order: Vec<usize> = (0..docs.len()).collect();
        let total = (opts.epochs as usize * docs.len()).max(1) as f32;
        let mut seen = 0usize;
        let mut hidden = vec![0f32; dim];
        let mut grad = vec![0f32; dim];
        let mut probs = vec![0f32; classes];
        for _ in 0..opts.epochs {
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            for &i in &order {
                let lr = opts.learning_rate * (1.0 - seen as f32 / total);
                seen += 1;
                let (t, b, y) = &docs[i];
                let (ct, cb) = field_coefficients(t.len(), b.len(), opts.title_share);
                if ct == 0.0 && cb == 0.0 {
                    continue;
                }
                hidden.fill(0.0);
                for (ids, c) in [(t, ct), (b, cb)] {
                    for &r in ids.iter() {
                        let e = &embeddings[r as usize * dim..][..dim];
                        for (h, v) in hidden.iter_mut().zip(e) {
                            *h += c * v;
                        }
                    }
                }
                output_probabilities(&output, &hidden, &mut probs);
                grad.fill(0.0);
                for k in 0..classes {
                    let alpha = lr * (if k == *y { 1.0 } else { 0.0 } - probs[k]);
                    let o = &mut output[k * dim..][..dim];
                    for ((g, w), h) in grad.iter_mut().zip(o.iter_mut()).zip(&hidden) {
                        *g += alpha * *w;
                        *w += alpha * h;
                    }
                }
                for (ids, c) in [(t, ct), (b, cb)] {
                    for &r in ids.iter() {
                        let e = &mut embeddings[r as usize * dim..][..dim];
                        for (v, g) in e.iter_mut().zip(&grad) {
                            *v += c * g;
                        }
                    }
                }
            }
        }
        FastText {
            labels,
            config,
            title_share: opts.title_share,
            rows,
            embeddings,
            output,
        }
    }

    /// The labels, in the order of [`FastText::probabilities`].
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Number of embeddings kept (rows seen in training).
    pub fn embedding_count(&self) -> usize {
        self.embeddings.len() / usize::from(self.config.dim).max(1)
    }

    /// The probability of every label, in label order.
    pub fn probabilities(&self, title: &str, body: &str) -> Vec<f32> {
        let dim = usize::from(self.config.dim);
        let known = |text: &str| -> Vec<u32> {
            feature_rows(&self.config, text)
                .into_iter()
                .map(|r| self.rows[r as usize])
                .filter(|&r| r != u32::MAX)
                .collect()
        };
        let (t, b) = (known(title), known(body));
        let (ct, cb) = field_coefficients(t.len(), b.len(), self.title_share);
        let mut hidden = vec![0f32; dim];
        for (ids, c) in [(&t, ct), (&b, cb)] {
            for &r in ids {
                let e = &self.embeddings[r as usize * dim..][..dim];
                for (h, v) in hidden.iter_mut().zip(e) {
                    *h += c * v;
                }
            }
        }
        let mut probs = vec![0f32; self.labels.len()];
        output_probabilities(&self.output, &hidden, &mut probs);
        probs
    }
}

/// Per-occurrence weights of the title and body features: each field is averaged, and the two
/// averages are mixed by `title_share` when both are present.
fn field_coefficients(title: usize, body: usize, title_share: f32) -> (f32, f32) {
    match (title, body) {
        (0, 0) => (0.0, 0.0),
        (t, 0) => (1.0 / t as f32, 0.0),
        (0, b) => (0.0, 1.0 / b as f32),
        (t, b) if title_share < 0.0 => {
            let n = 1.0 / (t + b) as f32;
            (n, n)
        }
        (t, b) => (title_share / t as f32, (1.0 - title_share) / b as f32),
    }
}

/// Softmax of `output · hidden` into `probs`.
fn output_probabilities(output: &[f32], hidden: &[f32], probs: &mut [f32]) {
    let dim = hidden.len();
    for (k, p) in probs.iter_mut().enumerate() {
        *p = output[k * dim..][..dim]
            .iter()
            .zip(hidden)
            .map(|(w, h)| w * h)
            .sum();
    }
    let max = probs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for p in probs.iter_mut() {
        *p = (*p - max).exp();
        sum += *p;
    }
    for p in probs.iter_mut() {
        *p /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy_examples() -> Vec<Example> {
        let mut examples = Vec::new();
        for i in 0..30 {
            examples.push(Example::new(
                "",
                &format!("垃圾焚烧污染空气{i}"),
                "环境保护",
            ));
            examples.push(Example::new(&format!("学校老师作业{i}"), "", "教育文体"));
            examples.push(Example::new(
                "",
                &format!("社保养老保险缴费{i}"),
                "劳动和社会保障",
            ));
        }
        examples
    }

    fn small() -> FastTextOptions {
        FastTextOptions {
            config: FastTextConfig {
                hash_bits: 12,
                dim: 16,
                ..FastTextConfig::default()
            },
            epochs: 10,
            ..FastTextOptions::default()
        }
    }

    fn best(model: &FastText, title: &str, body: &str) -> String {
        let p = model.probabilities(title, body);
        let k = (0..p.len())
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap_or(0);
        model.labels()[k].clone()
    }

    #[test]
    fn learns_the_toy_labels_deterministically() {
        let a = FastText::train(&toy_examples(), &small());
        assert_eq!(a, FastText::train(&toy_examples(), &small()));
        assert_eq!(best(&a, "", "空气污染"), "环境保护");
        assert_eq!(best(&a, "老师作业", ""), "教育文体");
        assert_eq!(best(&a, "", "养老保险"), "劳动和社会保障");
        let p = a.probabilities("社保", "缴费");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(a.embedding_count() > 0);
    }

    #[test]
    fn unknown_text_gets_uniform_probabilities() {
        let model = FastText::train(&toy_examples(), &small());
        for p in model.probabilities("", "。。") {
            assert!((p - 1.0 / 3.0).abs() < 1e-6);
        }
    }

    #[test]
    fn title_share_decides_between_title_and_body() {
        let mut model = FastText::train(&toy_examples(), &small());
        model.title_share = 1.0;
        assert_eq!(best(&model, "老师作业", "空气污染"), "教育文体");
        model.title_share = 0.0;
        assert_eq!(best(&model, "老师作业", "空气污染"), "环境保护");
    }

    #[test]
    fn features_cover_chars_words_and_pairs() {
        let config = FastTextConfig {
            char_ngram_min: 2,
            char_ngram_max: 2,
            words: false,
            word_pairs: false,
            ..FastTextConfig::default()
        };
        // 停车, 车难 — punctuation breaks the n-grams.
        assert_eq!(feature_rows(&config, "停车难，").len(), 2);
        let words = FastTextConfig {
            words: true,
            ..config
        };
        assert!(feature_rows(&words, "停车难").len() > 2);
    }
}
