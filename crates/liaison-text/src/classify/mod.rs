//! The opinion classifier: suggests the level-1 category (一级标签) of a citizen's message.
//!
//! The model is a linear classifier over hashed character n-grams and jieba words (see
//! [`features`] and [`Model`]), trained on the TipDM 2020 problem C messages (see [`data`]) by
//! `cargo run -p liaison-text --release --example train_classifier -- <data dir>`, which
//! writes `model/classifier.bin`. That file is embedded in the binary, so [`classify`] works
//! on a machine without the data.
//!
//! Staff corrections feed back through [`Model::learn`]: keep the corrections (message and
//! chosen label) in the database, and at start-up clone [`embedded_model`] and replay them in
//! order with [`DEFAULT_AGGRESSIVENESS`]; then learn each new correction as it is made. This
//! needs no model file on disk and survives a model upgrade.

pub mod data;
pub mod eval;
pub mod fasttext;
pub mod features;
pub mod model;

use std::sync::LazyLock;

pub use data::{DataError, TrainingSet, load_eval_set, load_training_set};
pub use eval::{EvalReport, LabelScores, evaluate};
pub use fasttext::{FastText, FastTextConfig, FastTextOptions};
pub use features::FeatureConfig;
pub use model::{Algorithm, Blend, DEFAULT_AGGRESSIVENESS, Model, ModelError, TrainOptions};

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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The data set as CI lays it out: `../shared` next to the repository root.
    fn data_dir() -> Option<PathBuf> {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/gov-messages");
        dir.join(data::FULL_ROWS_FILE).exists().then_some(dir)
    }

    #[test]
    fn embedded_model_knows_the_seven_level_one_labels() {
        let mut labels = embedded_model().labels().to_vec();
        labels.sort();
        assert_eq!(
            labels,
            [
                "交通运输",
                "劳动和社会保障",
                "卫生计生",
                "商贸旅游",
                "城乡建设",
                "教育文体",
                "环境保护"
            ]
        );
    }

    #[test]
    fn obvious_messages_get_the_obvious_label() {
        for (title, body, label) in [
            ("小区楼下餐馆油烟扰民", "", "环境保护"),
            ("孩子上学划片问题", "", "教育文体"),
            ("社保卡补办", "", "劳动和社会保障"),
            (
                "",
                "小区楼下的餐馆每天排放油烟，噪音很大，严重影响居民休息，请环保部门处理。",
                "环境保护",
            ),
            (
                "出租车拒载还乱收费",
                "昨晚在火车站打出租车，司机拒载，后来上车又不打表，要价一百元。",
                "交通运输",
            ),
            (
                "医院挂号难",
                "市人民医院专家号总是挂不上，看病排队时间太长。",
                "卫生计生",
            ),
        ] {
            let prediction = classify(title, body);
            assert_eq!(prediction.label_l1, label, "{title}{body}: {prediction:?}");
        }
    }

    #[test]
    fn scores_are_probabilities_sorted_best_first() {
        let prediction = classify("小区停车难", "小区车位太少，车辆乱停乱放。");
        assert_eq!(prediction.scores.len(), 7);
        let sum: f32 = prediction.scores.iter().map(|(_, p)| p).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{sum}");
        assert!(prediction.scores.windows(2).all(|w| w[0].1 >= w[1].1));
        assert_eq!(prediction.scores[0].0, prediction.label_l1);
        assert_eq!(prediction.scores[0].1, prediction.confidence);
    }

    #[test]
    fn empty_messages_still_get_a_prediction() {
        let prediction = classify("", "");
        assert_eq!(prediction.scores.len(), 7);
        assert!(prediction.confidence > 0.0 && prediction.confidence <= 1.0);
    }

    #[test]
    fn model_survives_a_round_trip_through_bytes() {
        let model = embedded_model();
        let copy = Model::from_bytes(&model.to_bytes()).expect("round trip");
        for (title, body) in [
            ("社保卡补办", ""),
            ("", "小区楼下餐馆油烟扰民"),
            ("路灯坏了", "晚上很黑"),
        ] {
            assert_eq!(model.predict(title, body), copy.predict(title, body));
        }
    }

    #[test]
    fn damaged_model_files_are_rejected() {
        assert!(matches!(Model::from_bytes(b""), Err(ModelError::BadHeader)));
        assert!(matches!(
            Model::from_bytes(b"XXXX\x01\0\0\0\0\0\0\0"),
            Err(ModelError::BadHeader)
        ));
        let truncated = &EMBEDDED_MODEL[..EMBEDDED_MODEL.len() - 1];
        assert!(matches!(
            Model::from_bytes(truncated),
            Err(ModelError::Truncated)
        ));
        let mut bad_json = EMBEDDED_MODEL.to_vec();
        bad_json[12] = b'!';
        assert!(matches!(
            Model::from_bytes(&bad_json),
            Err(ModelError::Header(_))
        ));
    }

    fn toy_examples() -> Vec<Example> {
        let mut examples = Vec::new();
        for i in 0..40 {
            examples.push(Example::new(
                "",
                &format!("垃圾焚烧污染空气{i}"),
                "环境保护",
            ));
            examples.push(Example::new(
                "",
                &format!("学校老师上课作业{i}"),
                "教育文体",
            ));
            examples.push(Example::new(
                "",
                &format!("社保养老保险缴费{i}"),
                "劳动和社会保障",
            ));
        }
        examples
    }

    fn small_options() -> TrainOptions {
        TrainOptions {
            features: FeatureConfig {
                hash_bits: 12,
                words: false,
                word_pairs: false,
                min_df: 1,
                ..FeatureConfig::default()
            },
            epochs: 5,
            ..TrainOptions::default()
        }
    }

    #[test]
    fn training_is_deterministic_and_learns_the_toy_labels() {
        let examples = toy_examples();
        let a = Model::train(&examples, &small_options());
        let b = Model::train(&examples, &small_options());
        assert_eq!(a, b);
        assert_eq!(a.predict("", "空气污染").label_l1, "环境保护");
        assert_eq!(a.predict("", "老师作业").label_l1, "教育文体");
        let report = evaluate(&a, &examples);
        assert_eq!(report.accuracy, 1.0);
    }

    #[test]
    fn every_algorithm_learns_the_toy_labels() {
        let examples = toy_examples();
        for algorithm in [
            Algorithm::LinearSvm,
            Algorithm::Logistic,
            Algorithm::MulticlassSvm,
            Algorithm::NaiveBayes { alpha: 0.1 },
            Algorithm::ComplementNaiveBayes { alpha: 0.1 },
            Algorithm::DualSvm { c: 1.0 },
            Algorithm::NbSvm { c: 1.0, alpha: 1.0 },
        ] {
            let opts = TrainOptions {
                algorithm,
                ..small_options()
            };
            let model = Model::train(&examples, &opts);
            assert_eq!(evaluate(&model, &examples).accuracy, 1.0, "{algorithm:?}");
        }
    }

    #[test]
    fn a_bag_of_sgd_runs_is_deterministic_and_differs_from_one_run() {
        let examples = toy_examples();
        let bagged = TrainOptions {
            bag: 3,
            ..small_options()
        };
        let a = Model::train(&examples, &bagged);
        assert_eq!(a, Model::train(&examples, &bagged));
        assert_ne!(a, Model::train(&examples, &small_options()));
        assert_eq!(evaluate(&a, &examples).accuracy, 1.0);
    }

    #[test]
    fn a_blend_is_the_geometric_mean_of_its_two_learners() {
        let examples = toy_examples();
        let nbsvm = Algorithm::NbSvm { c: 1.0, alpha: 1.0 };
        let blended = |share: f32| TrainOptions {
            blend: Some(Blend {
                algorithm: nbsvm,
                epochs: 5,
                share,
            }),
            ..small_options()
        };
        // Share 0 leaves the main learner alone.
        assert_eq!(
            Model::train(&examples, &blended(0.0)),
            Model::train(&examples, &small_options())
        );
        // Share 1 ranks like the second learner alone.
        let alone = Model::train(
            &examples,
            &TrainOptions {
                algorithm: nbsvm,
                ..small_options()
            },
        );
        let other = Model::train(&examples, &blended(1.0));
        for text in [
            "空气污染",
            "老师作业",
            "社保缴费",
            "学校门口垃圾焚烧",
            "老师缴费",
        ] {
            let label = |m: &Model| m.predict("", text).label_l1;
            assert_eq!(label(&other), label(&alone), "{text}");
        }
        let half = Model::train(&examples, &blended(0.5));
        assert_eq!(evaluate(&half, &examples).accuracy, 1.0);
        let mut corrected = half.clone();
        assert!(corrected.learn(&Example::new("", "学校门口垃圾焚烧", "教育文体"), 0.5));
        assert_ne!(corrected, half);
    }

    #[test]
    fn corrections_move_the_prediction_towards_the_corrected_label() {
        let mut model = Model::train(&toy_examples(), &small_options());
        let message = Example::new("", "学校门口垃圾焚烧", "教育文体");
        let before = model.predict(&message.title, &message.body);
        assert_eq!(before.label_l1, "环境保护");
        let mut rounds = 0;
        while model.predict(&message.title, &message.body).label_l1 != "教育文体" {
            assert!(model.learn(&message, 0.5));
            rounds += 1;
            assert!(rounds < 20, "the correction never took effect");
        }
        // Other messages keep their labels.
        assert_eq!(model.predict("", "社保缴费").label_l1, "劳动和社会保障");
    }

    #[test]
    fn a_few_staff_corrections_teach_the_embedded_model_a_new_case() {
        let mut model = embedded_model().clone();
        let message = Example::new(
            "公交线路太少",
            "我们小区附近只有一路公交车，早高峰等车要半小时，希望增开线路。",
            "交通运输",
        );
        let mut rounds = 0;
        while model.predict(&message.title, &message.body).label_l1 != "交通运输" {
            assert!(model.learn(&message, DEFAULT_AGGRESSIVENESS));
            rounds += 1;
            assert!(rounds <= 3, "still not learned after {rounds} corrections");
        }
        assert!(rounds >= 1, "the embedded model already knew this case");
        assert_eq!(classify("社保卡补办", "").label_l1, "劳动和社会保障");
        assert_eq!(model.predict("社保卡补办", "").label_l1, "劳动和社会保障");
        assert_eq!(model.predict("孩子上学划片问题", "").label_l1, "教育文体");
    }

    #[test]
    fn corrections_with_unknown_labels_or_empty_text_are_refused() {
        let mut model = Model::train(&toy_examples(), &small_options());
        assert!(!model.learn(&Example::new("", "垃圾", "不存在的标签"), 0.5));
        assert!(!model.learn(&Example::new("", "。。", "环境保护"), 0.5));
    }

    #[test]
    fn report_prints_a_table_with_every_label() {
        let examples = toy_examples();
        let model = Model::train(&examples, &small_options());
        let text = evaluate(&model, &examples).to_string();
        for label in [
            "环境保护",
            "教育文体",
            "劳动和社会保障",
            "macro-F1",
            "confusion",
        ] {
            assert!(text.contains(label), "{text}");
        }
    }

    #[test]
    fn missing_data_files_give_a_chinese_error() {
        let error = load_eval_set(std::path::Path::new("/nonexistent/x.csv")).unwrap_err();
        assert!(error.to_string().contains("无法读取数据文件"), "{error}");
    }

    #[test]
    fn training_set_shares_no_text_with_the_test_set() {
        let Some(dir) = data_dir() else { return };
        let train = load_training_set(&dir).expect("training set");
        let test = load_eval_set(&dir.join(data::FULL_ROWS_FILE)).expect("test set");
        let squeeze = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let titles: std::collections::HashSet<&str> =
            test.iter().map(|e| e.title.as_str()).collect();
        let bodies: std::collections::HashSet<String> =
            test.iter().map(|e| squeeze(&e.body)).collect();
        for example in &train.examples {
            assert!(example.title.is_empty() || !titles.contains(example.title.as_str()));
            assert!(example.body.is_empty() || !bodies.contains(&squeeze(&example.body)));
        }
        assert_eq!(train.titles + train.bodies, train.examples.len());
    }

    #[test]
    fn embedded_model_reaches_its_published_score_on_the_held_out_messages() {
        let Some(dir) = data_dir() else { return };
        let test = load_eval_set(&dir.join(data::FULL_ROWS_FILE)).expect("test set");
        let report = evaluate(embedded_model(), &test);
        // The figure reported when the model was trained (0.9167); the target of 0.92
        // was not reached by this model family, see the crate's report.
        assert!(report.macro_f1 >= 0.916, "{report}");
    }
}
