//! Trains the opinion classifier on the TipDM 2020 problem C data, evaluates it on the held-out
//! full rows, measures its speed and writes `model/classifier.bin`.
//!
//! ```text
//! cargo run -p liaison-text --release --example train_classifier -- /work/shared/data/gov-messages
//! cargo run -p liaison-text --release --example train_classifier -- /work/shared/data/gov-messages --variants
//! ```
//!
//! `--variants` also trains and scores the alternatives that were compared when the shipped
//! configuration was chosen, and prints them as a table. `--no-write` leaves the model file alone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use liaison_text::classify::{
    Algorithm, Example, FeatureConfig, Model, TrainOptions, data, evaluate, load_eval_set,
    load_training_set,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!("用法：train_classifier <gov-messages 数据目录> [--variants] [--no-write]");
        return ExitCode::FAILURE;
    };
    match run(
        &dir,
        args.iter().any(|a| a == "--variants"),
        !args.iter().any(|a| a == "--no-write"),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &Path, variants: bool, write: bool) -> Result<(), String> {
    let train = load_training_set(dir).map_err(|e| e.to_string())?;
    let test = load_eval_set(&dir.join(data::FULL_ROWS_FILE)).map_err(|e| e.to_string())?;
    println!(
        "training: {} examples ({} titles, {} bodies; {} bodies equal to a test body left out)",
        train.examples.len(),
        train.titles,
        train.bodies,
        train.dropped_test_duplicates
    );
    println!("test: {} messages (title + body)\n", test.len());

    if variants {
        println!("| features | model | macro-F1 | accuracy | msg/s | train s |");
        println!("| --- | --- | ---: | ---: | ---: | ---: |");
        // Every variant is scored as it would ship: written to bytes and read back.
        for (name, opts) in variant_list() {
            let started = Instant::now();
            let model = Model::train(&train.examples, &opts);
            let train_secs = started.elapsed().as_secs_f64();
            let model = Model::from_bytes(&model.to_bytes()).map_err(|e| e.to_string())?;
            let report = evaluate(&model, &test);
            let speed = messages_per_second(&model, &test);
            println!(
                "| {name} | {} | {:.4} | {:.4} | {:.0} | {:.1} |",
                algorithm_name(&opts),
                report.macro_f1,
                report.accuracy,
                speed,
                train_secs
            );
        }
        println!();
    }

    let opts = TrainOptions::default();
    println!("shipped configuration: {opts:?}\n");
    let started = Instant::now();
    let trained = Model::train(&train.examples, &opts);
    println!("trained in {:.1} s", started.elapsed().as_secs_f64());
    let bytes = trained.to_bytes();
    let model = Model::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let full_precision = evaluate(&trained, &test);
    let report = evaluate(&model, &test);
    println!(
        "macro-F1 before quantisation {:.4}, as stored {:.4}\n",
        full_precision.macro_f1, report.macro_f1
    );
    println!("{report}");
    let mean_confidence = test
        .iter()
        .map(|e| f64::from(model.predict(&e.title, &e.body).confidence))
        .sum::<f64>()
        / test.len() as f64;
    println!(
        "calibration: mean confidence {mean_confidence:.4} against accuracy {:.4}",
        report.accuracy
    );
    let started = Instant::now();
    Model::from_bytes(&bytes).map_err(|e| e.to_string())?;
    println!(
        "loading the model file takes {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    println!(
        "speed: {:.0} messages/s on one thread (title + body, {} test messages)",
        messages_per_second(&model, &test),
        test.len()
    );
    online_corrections(&model, &test);
    if write {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("model/classifier.bin");
        std::fs::write(&path, &bytes).map_err(|e| format!("无法写入 {}：{e}", path.display()))?;
        println!("wrote {} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}

/// Simulates staff corrections: the test messages arrive in file order, each is classified,
/// and when the suggestion is wrong the model learns the right label before the next one.
/// Prints the share of right suggestions for several step limits (0 = never learn).
fn online_corrections(model: &Model, test: &[Example]) {
    print!("online corrections, share of right suggestions by step limit:");
    for aggressiveness in [0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 100.0] {
        let mut live = model.clone();
        let mut right = 0;
        for example in test {
            if live.predict(&example.title, &example.body).label_l1 == example.label {
                right += 1;
            } else if aggressiveness > 0.0 {
                live.learn(example, aggressiveness);
            }
        }
        print!(
            "  {aggressiveness}: {:.4}",
            right as f64 / test.len() as f64
        );
    }
    println!();
}

/// Classifies the whole test set a few times on this thread and reports the rate.
fn messages_per_second(model: &Model, test: &[Example]) -> f64 {
    let rounds = 3;
    let started = Instant::now();
    let mut checksum = 0usize;
    for _ in 0..rounds {
        for example in test {
            checksum += model.predict(&example.title, &example.body).label_l1.len();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    (rounds * test.len()) as f64 / secs
}

fn algorithm_name(opts: &TrainOptions) -> String {
    match opts.algorithm {
        Algorithm::NaiveBayes { alpha } => format!("multinomial NB α={alpha}"),
        Algorithm::ComplementNaiveBayes { alpha } => format!("complement NB α={alpha}"),
        Algorithm::LinearSvm => format!(
            "linear SVM (SGD) λ={:e}{}",
            opts.lambda,
            if opts.balanced { " balanced" } else { "" }
        ),
        Algorithm::Logistic => format!(
            "logistic (SGD) λ={:e}{}",
            opts.lambda,
            if opts.balanced { " balanced" } else { "" }
        ),
    }
}

/// The alternatives compared against the shipped configuration: first the features (all with
/// the shipped SVM), then the learning algorithms (all with the shipped features).
fn variant_list() -> Vec<(String, TrainOptions)> {
    let shipped = TrainOptions::default();
    let features = shipped.features;
    let chars_only = FeatureConfig {
        words: false,
        word_pairs: false,
        min_df: 1,
        ..features
    };
    let feature_variants = [
        (
            "char 1–2, title ×2, joint norm",
            FeatureConfig {
                title_weight: 2.0,
                normalise_fields: false,
                ..chars_only
            },
        ),
        ("char 1–2", chars_only),
        (
            "char 1–3",
            FeatureConfig {
                char_ngram_max: 3,
                ..chars_only
            },
        ),
        (
            "char 2",
            FeatureConfig {
                char_ngram_min: 2,
                ..chars_only
            },
        ),
        (
            "words + word pairs",
            FeatureConfig {
                char_ngram_max: 0,
                ..features
            },
        ),
        (
            "words + char 1–2",
            FeatureConfig {
                word_pairs: false,
                min_df: 1,
                ..features
            },
        ),
        (
            "words + pairs + char 1–2, no IDF",
            FeatureConfig {
                idf: false,
                ..features
            },
        ),
        ("words + pairs + char 1–2 (shipped)", features),
    ];
    let mut out: Vec<(String, TrainOptions)> = feature_variants
        .into_iter()
        .map(|(name, features)| {
            (
                name.to_string(),
                TrainOptions {
                    features,
                    ..shipped
                },
            )
        })
        .collect();
    let name = "words + pairs + char 1–2";
    for (algorithm, lambda, balanced) in [
        (Algorithm::LinearSvm, 1e-4, false),
        (Algorithm::LinearSvm, 3e-5, false),
        (Algorithm::LinearSvm, 1e-5, true),
        (Algorithm::Logistic, 1e-5, false),
        (Algorithm::NaiveBayes { alpha: 0.01 }, 0.0, false),
        (Algorithm::ComplementNaiveBayes { alpha: 0.1 }, 0.0, false),
    ] {
        out.push((
            name.to_string(),
            TrainOptions {
                algorithm,
                lambda,
                balanced,
                ..shipped
            },
        ));
    }
    for seed in 1..=4 {
        out.push((
            format!("{name}, seed {seed}"),
            TrainOptions { seed, ..shipped },
        ));
    }
    out
}
