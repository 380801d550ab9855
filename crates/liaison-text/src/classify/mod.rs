//! The opinion classifier: suggests the level-1 category (一级标签) of a citizen's message.
//!
//! The model is a linear classifier over hashed character n-grams (see [`features`] and
//! [`Model`]), trained on the TipDM 2020 problem C messages (see [`data`]) by
//! `cargo run -p liaison-text --release --example train_classifier -- <data dir>`, which
//! writes `model/classifier.bin`. That file is embedded in the binary, so [`classify`] works
//! on a machine without the data. Staff corrections can be fed back with [`Model::learn`].

pub mod data;
pub mod eval;
pub mod features;
pub mod model;

use std::sync::LazyLock;

pub use data::{DataError, TrainingSet, load_eval_set, load_training_set};
pub use eval::{EvalReport, LabelScores, evaluate};
pub use features::FeatureConfig;
pub use model::{Algorithm, Model, ModelError, TrainOptions};

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Subject line (留言主题); may be empty.
    pub title: String,
    /// Message text (留言详情); may be empty.
    pub body: String,
    /// Level-1 label (一级标签).
    pub label: String,
}

impl Example {
    /// An example from borrowed text.
    pub fn new(title: &str, body: &str, label: &str) -> Self {
        Example {
            title: title.to_string(),
            body: body.to_string(),
            label: label.to_string(),
        }
    }
}

/// The classifier's answer for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The most likely level-1 label.
    pub label_l1: String,
    /// Its estimated probability (0–1).
    pub confidence: f32,
    /// Every label with its estimated probability, highest first; they sum to 1.
    pub scores: Vec<(String, f32)>,
}

/// The model file built into the binary.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!("../../model/classifier.bin");

static MODEL: LazyLock<Model> = LazyLock::new(|| {
    // The file is produced by the training example and checked by this crate's tests, so a
    // failure here is a build defect, not a runtime condition.
    Model::from_bytes(EMBEDDED_MODEL).expect("the embedded model/classifier.bin is valid")
});

/// The embedded model, loaded on first use.
pub fn embedded_model() -> &'static Model {
    &MODEL
}

/// Classifies a message with the embedded model.
pub fn classify(title: &str, body: &str) -> Prediction {
    MODEL.predict(title, body)
}
