//! Trains the opinion classifier on the TipDM 2020 problem C data, evaluates it on the held-out
//! full rows, measures its speed and writes `model/classifier.bin`.
//!
//! ```text
//! cargo run -p liaison-text --release --example train_classifier -- /work/shared/data/gov-messages
//! cargo run -p liaison-text --release --example train_classifier -- /work/shared/data/gov-messages --variants
//! ```
//!
//! `--variants` also trains and scores the alternatives that were compared when the shipped
//! configuration was chosen, and prints them as a table. `--ensemble-cv` cross-validates the
//! SVM, NBSVM and fastText-style models alone and in weighted combinations (arithmetic and
//! geometric means of their probabilities; title and body scored together or apart);
//! `ENSEMBLE_FT=dim,epochs,lr,cmin,cmax,bits;…` chooses the fastText settings and
//! `ENSEMBLE_WEIGHTS=w1,w2,…;…` adds combinations. `--fasttext` trains the fastText-style
//! model alone and scores it on the test rows. `--cv` instead runs a 5-fold
//! cross-validation of the candidate configurations on the training rows only (rows of one
//! message or of reposts kept in one fold; the test file is not read), which is how
//! configurations should be compared. `CV_ONLY=<text>|<text>…` limits it to candidates whose
//! name contains one of the texts. `--lab` cross-validates the candidates of the second round
//! of ideas (joint multi-class SVM and softmax, bagged SGD runs, complement naive Bayes
//! blends; `CV_ONLY` filters them too), `--lab-test` scores the same candidates on the test
//! rows (only for finalists), and `--lab-knn` cross-validates a cosine kNN over the SVM's own
//! feature vectors blended with its probabilities. Cross-validation folds run on
//! `CV_THREADS` threads (default 2). `--no-write` leaves the model file alone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use liaison_text::classify::{
    Algorithm, Blend, Example, FastText, FastTextConfig, FastTextOptions, FeatureConfig, Model,
    TrainOptions, data, evaluate, load_eval_set, load_training_set,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!(
            "用法：train_classifier <gov-messages 数据目录> [--variants] [--cv] [--ensemble-cv] [--fasttext] [--lab] [--lab-test] [--lab-knn] [--no-write]"
        );
        return ExitCode::FAILURE;
    };
    match run(
        &dir,
        args.iter().any(|a| a == "--variants"),
        args.iter().any(|a| a == "--cv"),
        !args.iter().any(|a| a == "--no-write"),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn args_has(flag: &str) -> bool {
    std::env::args().any(|a| a == flag)
}

fn run(dir: &Path, variants: bool, cv: bool, write: bool) -> Result<(), String> {
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

    if args_has("--fasttext") {
        // The fastText-style model alone, with the settings that did best in `--ensemble-cv`.
        let opts = FastTextOptions {
            config: FastTextConfig {
                dim: 32,
                char_ngram_min: 1,
                char_ngram_max: 2,
                ..FastTextConfig::default()
            },
            epochs: 10,
            learning_rate: 1.0,
            title_share: 0.3,
            ..FastTextOptions::default()
        };
        let started = Instant::now();
        let model = FastText::train(&train.examples, &opts);
        let secs = started.elapsed().as_secs_f64();
        let labels = model.labels();
        let gold: Vec<usize> = test
            .iter()
            .map(|e| labels.iter().position(|l| *l == e.label).unwrap_or(0))
            .collect();
        let started = Instant::now();
        let predicted: Vec<usize> = test
            .iter()
            .map(|e| argmax(&model.probabilities(&e.title, &e.body)))
            .collect();
        let speed = test.len() as f64 / started.elapsed().as_secs_f64();
        println!(
            "fastText {opts:?}: macro-F1 {:.4} on the test rows, {} embeddings, trained in {secs:.1} s, {speed:.0} messages/s",
            macro_f1(&gold, &predicted, labels.len()),
            model.embedding_count()
        );
        return Ok(());
    }

    if args_has("--ensemble-cv") {
        let groups = Groups::new(&train.examples);
        ensemble_cv(&train.examples, &groups, &ensemble_components());
        return Ok(());
    }

    if args_has("--lab-knn") {
        let groups = Groups::new(&train.examples);
        knn_cv(&train.examples, &groups);
        return Ok(());
    }

    if args_has("--lab") || args_has("--lab-test") {
        let filter = std::env::var("CV_ONLY").ok();
        let keep = |name: &str| {
            filter
                .as_ref()
                .is_none_or(|f| f.split('|').any(|f| name.contains(f)))
        };
        let groups = Groups::new(&train.examples);
        println!("| candidate | CV titles | CV bodies | CV pairs | test | run s |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
        for (name, opts) in lab_candidates() {
            if !keep(&name) {
                continue;
            }
            let started = Instant::now();
            let cv = if args_has("--lab") {
                let s = cross_validate(&train.examples, &groups, &opts, 5);
                format!("{:.4} | {:.4} | {:.4}", s.titles, s.bodies, s.pairs)
            } else {
                "– | – | –".to_string()
            };
            let secs = started.elapsed().as_secs_f64();
            let test_f1 = if args_has("--lab-test") {
                let model = Model::train(&train.examples, &opts);
                let model = Model::from_bytes(&model.to_bytes()).map_err(|e| e.to_string())?;
                format!("{:.4}", evaluate(&model, &test).macro_f1)
            } else {
                "–".to_string()
            };
            println!("| {name} | {cv} | {test_f1} | {secs:.1} |");
        }
        return Ok(());
    }

    if cv {
        let filter = std::env::var("CV_ONLY").ok();
        let groups = Groups::new(&train.examples);
        let matched = groups.title_of.iter().filter(|t| t.is_some()).count();
        let mut distinct = groups.group.clone();
        distinct.sort_unstable();
        distinct.dedup();
        println!(
            "{} groups of rows; {matched} of {} bodies matched to a title",
            distinct.len(),
            train.bodies
        );
        println!("5-fold cross-validation on the training rows, macro-F1:\n");
        println!("| features | model | titles | bodies | pairs | train s |");
        println!("| --- | --- | ---: | ---: | ---: | ---: |");
        for (name, opts) in cv_candidates() {
            if let Some(f) = &filter
                && !f.split('|').any(|f| name.contains(f))
            {
                continue;
            }
            let started = Instant::now();
            let scores = cross_validate(&train.examples, &groups, &opts, 5);
            println!(
                "| {name} | {} | {:.4} | {:.4} | {:.4} | {:.1} |",
                algorithm_name(&opts),
                scores.titles,
                scores.bodies,
                scores.pairs,
                started.elapsed().as_secs_f64() / 5.0
            );
        }
        return Ok(());
    }

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

    let cpu_before = thread_cpu_seconds();
    let speed = messages_per_second(&model, &test);
    let cpu_speed = match (cpu_before, thread_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => {
            format!(
                ", {:.0} per second of CPU time",
                (3 * test.len()) as f64 / (b - a)
            )
        }
        _ => String::new(),
    };
    println!(
        "speed: {speed:.0} messages/s on one thread{cpu_speed} (title + body, {} test messages)",
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

/// CPU time used so far by this thread (Linux `/proc/thread-self/schedstat`), which unlike
/// the wall clock does not count the time other processes held the cores.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
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
            "linear SVM (SGD) λ={:e}{}{}",
            opts.lambda,
            if opts.balanced { " balanced" } else { "" },
            opts.blend
                .map(|b| format!(" + {} NBSVM ({} epochs)", b.share, b.epochs))
                .unwrap_or_default()
        ),
        Algorithm::Logistic => format!(
            "logistic (SGD) λ={:e}{}",
            opts.lambda,
            if opts.balanced { " balanced" } else { "" }
        ),
        Algorithm::MulticlassSvm => format!(
            "multi-class SVM (SGD) λ={:e}{}",
            opts.lambda,
            if opts.bag > 1 {
                format!(" bag {}", opts.bag)
            } else {
                String::new()
            }
        ),
        Algorithm::NbSvm { c, alpha } => format!("NBSVM (dual CD) C={c} α={alpha}"),
        Algorithm::DualSvm { c } => format!(
            "linear SVM (dual CD) C={c}{}",
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

/// Macro-F1 of one cross-validation run, on the held-out training rows.
#[derive(Debug, Clone, Copy, Default)]
struct CvScores {
    /// Held-out title-only rows.
    titles: f64,
    /// Held-out body-only rows.
    bodies: f64,
    /// Held-out bodies joined with the title that [`Groups`] matched to them: the closest the
    /// training rows come to the test set's title + body messages.
    pairs: f64,
}

/// Training rows that probably belong to one message, or to copies of one message, so that
/// cross-validation keeps them in one fold. Without this, the title of a held-out message or
/// a repost of it sits in the training folds, which rewards memorising and makes the CV
/// figure far better than the test figure.
struct Groups {
    /// Group of each example.
    group: Vec<usize>,
    /// For a body-only example, the title-only example matched to it.
    title_of: Vec<Option<usize>>,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (a, b) = (find(parent, a), find(parent, b));
    if a != b {
        parent[a.max(b)] = a.min(b);
    }
}

/// Letters and digits of a text, for matching.
fn squeezed(text: &str) -> Vec<char> {
    text.chars().filter(|c| c.is_alphanumeric()).collect()
}

impl Groups {
    /// Joins (1) titles with the same text, (2) each body with the title of the same label
    /// whose character pairs it contains best, if it contains at least 70 % of them, and (3)
    /// bodies that share at least half of their sampled 8-character shingles (reposts).
    fn new(examples: &[Example]) -> Groups {
        use std::collections::HashMap;
        let n = examples.len();
        let mut parent: Vec<usize> = (0..n).collect();
        let titles: Vec<usize> = (0..n).filter(|&i| !examples[i].title.is_empty()).collect();
        let bodies: Vec<usize> = (0..n).filter(|&i| examples[i].title.is_empty()).collect();

        let mut by_text: HashMap<Vec<char>, usize> = HashMap::new();
        for &i in &titles {
            let first = *by_text.entry(squeezed(&examples[i].title)).or_insert(i);
            union(&mut parent, first, i);
        }

        let mut pair_index: HashMap<(char, char), Vec<usize>> = HashMap::new();
        let mut title_pairs = vec![0usize; n];
        for &i in &titles {
            let chars = squeezed(&examples[i].title);
            let mut pairs: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
            pairs.sort_unstable();
            pairs.dedup();
            title_pairs[i] = pairs.len();
            for p in pairs {
                pair_index.entry(p).or_default().push(i);
            }
        }
        let mut title_of = vec![None; n];
        let mut hits = vec![0u32; n];
        for &b in &bodies {
            let chars = squeezed(&examples[b].body);
            let mut pairs: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
            pairs.sort_unstable();
            pairs.dedup();
            let mut touched = Vec::new();
            for p in &pairs {
                for &t in pair_index.get(p).map(Vec::as_slice).unwrap_or(&[]) {
                    if hits[t] == 0 {
                        touched.push(t);
                    }
                    hits[t] += 1;
                }
            }
            let best = touched
                .iter()
                .copied()
                .filter(|&t| examples[t].label == examples[b].label && title_pairs[t] >= 4)
                .map(|t| (f64::from(hits[t]) / title_pairs[t] as f64, t))
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            for t in touched {
                hits[t] = 0;
            }
            if let Some((coverage, t)) = best
                && coverage >= 0.7
            {
                title_of[b] = Some(t);
                union(&mut parent, b, t);
            }
        }

        // Reposts: 8-character shingles, of which those whose hash is 0 mod 4 are kept.
        let shingles = |text: &str| -> Vec<u64> {
            use std::hash::{Hash, Hasher};
            let chars = squeezed(text);
            let mut out: Vec<u64> = chars
                .windows(8)
                .map(|w| {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    w.hash(&mut h);
                    h.finish()
                })
                .filter(|h| h % 4 == 0)
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        };
        let body_shingles: Vec<Vec<u64>> = bodies
            .iter()
            .map(|&b| shingles(&examples[b].body))
            .collect();
        let mut shingle_index: HashMap<u64, Vec<usize>> = HashMap::new();
        for (k, set) in body_shingles.iter().enumerate() {
            for &s in set {
                shingle_index.entry(s).or_default().push(k);
            }
        }
        let mut shared = vec![0u32; bodies.len()];
        for (k, set) in body_shingles.iter().enumerate() {
            let mut touched = Vec::new();
            for s in set {
                for &other in &shingle_index[s] {
                    if other > k {
                        if shared[other] == 0 {
                            touched.push(other);
                        }
                        shared[other] += 1;
                    }
                }
            }
            for other in touched {
                let smaller = set.len().min(body_shingles[other].len()).max(1);
                if shared[other] as usize * 2 >= smaller {
                    union(&mut parent, bodies[k], bodies[other]);
                }
                shared[other] = 0;
            }
        }
        let group = (0..n).map(|i| find(&mut parent, i)).collect();
        Groups { group, title_of }
    }

    /// Fold of each example: whole groups are dealt to folds in a seeded random order,
    /// largest first, each to the fold that has the fewest examples so far.
    fn folds(&self, folds: usize, seed: u64) -> Vec<usize> {
        use std::collections::HashMap;
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, &g) in self.group.iter().enumerate() {
            members.entry(g).or_default().push(i);
        }
        let mut groups: Vec<(u64, Vec<usize>)> = members
            .into_iter()
            .map(|(g, m)| {
                let mut z = (g as u64)
                    .wrapping_add(seed)
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15);
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                (z ^ (z >> 31), m)
            })
            .collect();
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        let mut size = vec![0usize; folds];
        let mut fold = vec![0; self.group.len()];
        for (_, m) in groups {
            let k = (0..folds).min_by_key(|&k| size[k]).unwrap_or(0);
            size[k] += m.len();
            for i in m {
                fold[i] = k;
            }
        }
        fold
    }
}

/// k-fold cross-validation on the training rows only (the test file is not read).
fn cross_validate(
    examples: &[Example],
    groups: &Groups,
    opts: &TrainOptions,
    folds: usize,
) -> CvScores {
    let fold = groups.folds(folds, 0x0c0f_fee5);
    let one_fold = |k: usize| -> CvScores {
        let train: Vec<Example> = examples
            .iter()
            .zip(&fold)
            .filter(|&(_, &f)| f != k)
            .map(|(e, _)| e.clone())
            .collect();
        let held_out = |keep: &dyn Fn(usize) -> bool| -> Vec<Example> {
            (0..examples.len())
                .filter(|&i| fold[i] == k && keep(i))
                .map(|i| examples[i].clone())
                .collect()
        };
        let model = Model::train(&train, opts);
        let pairs: Vec<Example> = (0..examples.len())
            .filter(|&i| fold[i] == k)
            .filter_map(|i| {
                let t = groups.title_of[i]?;
                Some(Example::new(
                    &examples[t].title,
                    &examples[i].body,
                    &examples[i].label,
                ))
            })
            .collect();
        CvScores {
            titles: evaluate(&model, &held_out(&|i| !examples[i].title.is_empty())).macro_f1,
            bodies: evaluate(&model, &held_out(&|i| examples[i].title.is_empty())).macro_f1,
            pairs: evaluate(&model, &pairs).macro_f1,
        }
    };
    // Folds run on two threads; the figures do not depend on it.
    let threads: usize = std::env::var("CV_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let mut results = vec![CvScores::default(); folds];
    std::thread::scope(|scope| {
        for (t, chunk) in results.chunks_mut(folds.div_ceil(threads)).enumerate() {
            let one_fold = &one_fold;
            scope.spawn(move || {
                for (j, r) in chunk.iter_mut().enumerate() {
                    *r = one_fold(t * folds.div_ceil(threads) + j);
                }
            });
        }
    });
    let mut sum = CvScores::default();
    for r in results {
        sum.titles += r.titles;
        sum.bodies += r.bodies;
        sum.pairs += r.pairs;
    }
    let n = folds as f64;
    CvScores {
        titles: sum.titles / n,
        bodies: sum.bodies / n,
        pairs: sum.pairs / n,
    }
}

/// Cosine kNN over the model's own feature vectors, blended with the linear model's
/// probabilities, cross-validated on the usual folds.
fn knn_cv(examples: &[Example], groups: &Groups) {
    use std::collections::HashMap;
    let folds = 5;
    let fold = groups.folds(folds, 0x0c0f_fee5);
    let ks = [5usize, 10, 30];
    let betas = [0.0f32, 0.25, 0.5, 1.0, 2.0];
    let powers = [1.0f32, 3.0];
    // [kind][k][beta][power] -> summed macro-F1
    let mut sums = vec![vec![vec![vec![0f64; powers.len()]; betas.len()]; ks.len()]; 3];
    for f in 0..folds {
        let train_idx: Vec<usize> = (0..examples.len()).filter(|&i| fold[i] != f).collect();
        let train: Vec<Example> = train_idx.iter().map(|&i| examples[i].clone()).collect();
        let model = Model::train(&train, &TrainOptions::default());
        let labels = model.labels().to_vec();
        let ys: Vec<usize> = train
            .iter()
            .map(|e| labels.iter().position(|l| *l == e.label).unwrap_or(0))
            .collect();
        let mut index: HashMap<u32, Vec<(u32, f32)>> = HashMap::new();
        for (row, e) in train.iter().enumerate() {
            for (b, v) in model.features(&e.title, &e.body) {
                index.entry(b).or_default().push((row as u32, v));
            }
        }
        let kinds: [Vec<(String, String, usize)>; 3] = [
            (0..examples.len())
                .filter(|&i| fold[i] == f && !examples[i].title.is_empty())
                .map(|i| (examples[i].title.clone(), String::new(), i))
                .collect(),
            (0..examples.len())
                .filter(|&i| fold[i] == f && examples[i].title.is_empty())
                .map(|i| (String::new(), examples[i].body.clone(), i))
                .collect(),
            (0..examples.len())
                .filter(|&i| fold[i] == f)
                .filter_map(|i| {
                    let t = groups.title_of[i]?;
                    Some((examples[t].title.clone(), examples[i].body.clone(), i))
                })
                .collect(),
        ];
        let mut acc = vec![0f32; train.len()];
        for (kind, rows) in kinds.iter().enumerate() {
            let gold: Vec<usize> = rows
                .iter()
                .map(|r| {
                    labels
                        .iter()
                        .position(|l| *l == examples[r.2].label)
                        .unwrap_or(0)
                })
                .collect();
            // per row: linear probs, and sorted neighbour list (sim, label)
            let mut lin = Vec::new();
            let mut neigh = Vec::new();
            for (t, b, _) in rows {
                let x = model.features(t, b);
                let s = model.scores_of(&x);
                let temp = model.temperature();
                let m = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = s.iter().map(|v| ((v - m) * temp).exp()).collect();
                let z: f32 = e.iter().sum();
                lin.push(e.iter().map(|v| v / z).collect::<Vec<f32>>());
                acc.fill(0.0);
                for (bk, v) in &x {
                    if let Some(p) = index.get(bk) {
                        for &(row, w) in p {
                            acc[row as usize] += v * w;
                        }
                    }
                }
                let mut top: Vec<(f32, usize)> = acc
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| **s > 0.0)
                    .map(|(r, s)| (*s, ys[r]))
                    .collect();
                let kmax = ks[ks.len() - 1].min(top.len());
                if kmax > 0 && kmax < top.len() {
                    top.select_nth_unstable_by(kmax - 1, |a, b| b.0.total_cmp(&a.0));
                    top.truncate(kmax);
                }
                top.sort_by(|a, b| b.0.total_cmp(&a.0));
                neigh.push(top);
            }
            let classes = labels.len();
            for (ki, &k) in ks.iter().enumerate() {
                for (bi, &beta) in betas.iter().enumerate() {
                    for (pi, &pw) in powers.iter().enumerate() {
                        let pred: Vec<usize> = (0..rows.len())
                            .map(|r| {
                                let mut vote = vec![0f32; classes];
                                for &(sim, y) in neigh[r].iter().take(k) {
                                    vote[y] += sim.powf(pw);
                                }
                                let z: f32 = vote.iter().sum::<f32>().max(1e-9);
                                let score: Vec<f32> = lin[r]
                                    .iter()
                                    .zip(&vote)
                                    .map(|(p, v)| p + beta * v / z)
                                    .collect();
                                argmax(&score)
                            })
                            .collect();
                        sums[kind][ki][bi][pi] += macro_f1(&gold, &pred, classes);
                    }
                }
            }
        }
        eprintln!("fold {f} done");
    }
    println!("| k | beta | power | titles | bodies | pairs |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for (ki, k) in ks.iter().enumerate() {
        for (bi, beta) in betas.iter().enumerate() {
            for (pi, pw) in powers.iter().enumerate() {
                println!(
                    "| {k} | {beta} | {pw} | {:.4} | {:.4} | {:.4} |",
                    sums[0][ki][bi][pi] / folds as f64,
                    sums[1][ki][bi][pi] / folds as f64,
                    sums[2][ki][bi][pi] / folds as f64
                );
            }
        }
    }
}

/// Candidates of the lab runs (`--lab`: cross-validation, `--lab-test`: the test rows).
fn lab_candidates() -> Vec<(String, TrainOptions)> {
    let base = TrainOptions::default();
    let mut out = vec![("base".to_string(), base)];
    for lambda in [3e-6, 1e-5, 3e-5] {
        out.push((
            format!("mcsvm l{lambda:e}"),
            TrainOptions {
                algorithm: Algorithm::MulticlassSvm,
                lambda,
                ..base
            },
        ));
    }
    for lambda in [1e-6, 3e-6] {
        out.push((
            format!("softmax l{lambda:e}"),
            TrainOptions {
                algorithm: Algorithm::Logistic,
                lambda,
                ..base
            },
        ));
    }
    for bag in [3, 7] {
        out.push((format!("bag{bag}"), TrainOptions { bag, ..base }));
    }
    for (alpha, share) in [
        (0.1, 0.3),
        (0.1, 0.5),
        (0.3, 0.3),
        (0.1, 0.2),
        (0.03, 0.3),
        (1.0, 0.3),
    ] {
        out.push((
            format!("cnb{alpha}s{share}"),
            TrainOptions {
                blend: Some(Blend {
                    algorithm: Algorithm::ComplementNaiveBayes { alpha },
                    epochs: 1,
                    share,
                }),
                ..base
            },
        ));
    }
    out
}

/// The configurations compared by `--cv`: the shipped one and the alternatives that scored
/// best in cross-validation.
fn cv_candidates() -> Vec<(String, TrainOptions)> {
    let shipped = TrainOptions::default();
    let features = shipped.features;
    let nbsvm = TrainOptions {
        algorithm: Algorithm::NbSvm { c: 1.0, alpha: 1.0 },
        epochs: 30,
        ..shipped
    };
    let blend = |share: f32, title_share: Option<f32>| TrainOptions {
        features: FeatureConfig {
            title_share,
            ..features
        },
        blend: Some(Blend {
            algorithm: Algorithm::NbSvm { c: 1.0, alpha: 1.0 },
            epochs: 30,
            share,
        }),
        ..shipped
    };
    // The SVM + NBSVM blends (see `Blend`); `--ensemble-cv` compares more mixing weights
    // and the fastText-style model.
    let mut blends = Vec::new();
    for title_share in [None, Some(0.3)] {
        blends.push((
            format!("words + pairs + char 1–2, title share {title_share:?}, blend 0.5"),
            blend(0.5, title_share),
        ));
    }
    let mut out = vec![
        ("words + pairs + char 1–2 (shipped)".to_string(), shipped),
        (
            "words + pairs + char 1–2".to_string(),
            TrainOptions {
                algorithm: Algorithm::DualSvm { c: 3.0 },
                epochs: 50,
                ..shipped
            },
        ),
        ("words + pairs + char 1–2".to_string(), nbsvm),
        (
            "words + pairs + char 1–2, title ×0.7".to_string(),
            TrainOptions {
                features: FeatureConfig {
                    title_weight: 0.7,
                    ..features
                },
                ..nbsvm
            },
        ),
    ];
    out.extend(blends);
    out
}

/// One member of an ensemble compared by `--ensemble-cv`.
#[derive(Clone)]
enum Component {
    Linear(String, TrainOptions),
    Fast(String, FastTextOptions),
}

/// Shares of the title tried for fastText on title + body messages (−1 = pool the features).
const FT_SHARES: [f32; 4] = [-1.0, 0.3, 0.5, 0.7];

/// Held-out probabilities of one component, in label order.
#[derive(Default)]
struct HeldOut {
    titles: Vec<Vec<f32>>,
    bodies: Vec<Vec<f32>>,
    /// Title + body scored together (for fastText, one entry per [`FT_SHARES`]).
    joint: Vec<Vec<Vec<f32>>>,
    /// The title of a pair alone.
    pair_title: Vec<Vec<f32>>,
    /// The body of a pair alone.
    pair_body: Vec<Vec<f32>>,
}

fn label_probabilities(model: &Model, title: &str, body: &str) -> Vec<f32> {
    let p = model.predict(title, body);
    model
        .labels()
        .iter()
        .map(|l| p.scores.iter().find(|(m, _)| m == l).map_or(0.0, |s| s.1))
        .collect()
}

fn macro_f1(gold: &[usize], predicted: &[usize], classes: usize) -> f64 {
    let mut f = 0.0;
    for k in 0..classes {
        let tp = gold
            .iter()
            .zip(predicted)
            .filter(|&(&g, &p)| g == k && p == k)
            .count() as f64;
        let g = gold.iter().filter(|&&g| g == k).count() as f64;
        let p = predicted.iter().filter(|&&p| p == k).count() as f64;
        if tp > 0.0 {
            f += 2.0 * tp / (g + p);
        }
    }
    f / classes as f64
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |(k, _)| k)
}

/// Cross-validates the components one by one and in weighted combinations, on the same folds
/// as `--cv`.
fn ensemble_cv(examples: &[Example], groups: &Groups, components: &[Component]) {
    let folds = 5;
    let fold = groups.folds(folds, 0x0c0f_fee5);
    let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    labels.sort();
    labels.dedup();
    let classes = labels.len();
    let gold_of = |i: usize| labels.binary_search(&examples[i].label).unwrap_or(0);
    let mut held: Vec<HeldOut> = components.iter().map(|_| HeldOut::default()).collect();
    // (fold, gold) of every held-out row of each kind.
    let (mut t_gold, mut b_gold, mut p_gold) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..folds {
        let train: Vec<Example> = (0..examples.len())
            .filter(|&i| fold[i] != k)
            .map(|i| examples[i].clone())
            .collect();
        let titles: Vec<usize> = (0..examples.len())
            .filter(|&i| fold[i] == k && !examples[i].title.is_empty())
            .collect();
        let bodies: Vec<usize> = (0..examples.len())
            .filter(|&i| fold[i] == k && examples[i].title.is_empty())
            .collect();
        let pairs: Vec<(usize, usize)> = bodies
            .iter()
            .filter_map(|&b| Some((groups.title_of[b]?, b)))
            .collect();
        t_gold.extend(titles.iter().map(|&i| (k, gold_of(i))));
        b_gold.extend(bodies.iter().map(|&i| (k, gold_of(i))));
        p_gold.extend(pairs.iter().map(|&(_, b)| (k, gold_of(b))));
        for (c, h) in components.iter().zip(&mut held) {
            let started = Instant::now();
            match c {
                Component::Linear(_, opts) => {
                    let m = Model::train(&train, opts);
                    let p = |t: &str, b: &str| label_probabilities(&m, t, b);
                    h.titles
                        .extend(titles.iter().map(|&i| p(&examples[i].title, "")));
                    h.bodies
                        .extend(bodies.iter().map(|&i| p("", &examples[i].body)));
                    if h.joint.is_empty() {
                        h.joint.push(Vec::new());
                    }
                    h.joint[0].extend(
                        pairs
                            .iter()
                            .map(|&(t, b)| p(&examples[t].title, &examples[b].body)),
                    );
                    h.pair_title
                        .extend(pairs.iter().map(|&(t, _)| p(&examples[t].title, "")));
                    h.pair_body
                        .extend(pairs.iter().map(|&(_, b)| p("", &examples[b].body)));
                }
                Component::Fast(_, opts) => {
                    let mut m = FastText::train(&train, opts);
                    let p = |m: &FastText, t: &str, b: &str| m.probabilities(t, b);
                    h.titles
                        .extend(titles.iter().map(|&i| p(&m, &examples[i].title, "")));
                    h.bodies
                        .extend(bodies.iter().map(|&i| p(&m, "", &examples[i].body)));
                    if h.joint.is_empty() {
                        h.joint = vec![Vec::new(); FT_SHARES.len()];
                    }
                    for (s, share) in FT_SHARES.iter().enumerate() {
                        m.title_share = *share;
                        h.joint[s].extend(
                            pairs
                                .iter()
                                .map(|&(t, b)| p(&m, &examples[t].title, &examples[b].body)),
                        );
                    }
                    h.pair_title
                        .extend(pairs.iter().map(|&(t, _)| p(&m, &examples[t].title, "")));
                    h.pair_body
                        .extend(pairs.iter().map(|&(_, b)| p(&m, "", &examples[b].body)));
                }
            }
            eprintln!(
                "fold {k} {}: {:.1} s",
                match c {
                    Component::Linear(n, _) | Component::Fast(n, _) => n,
                },
                started.elapsed().as_secs_f64()
            );
        }
    }
    // Mean over folds of the macro-F1 of `score(row)`'s argmax.
    let cv = |gold: &[(usize, usize)], score: &dyn Fn(usize) -> Vec<f32>| -> f64 {
        (0..folds)
            .map(|k| {
                let rows: Vec<usize> = (0..gold.len()).filter(|&r| gold[r].0 == k).collect();
                let g: Vec<usize> = rows.iter().map(|&r| gold[r].1).collect();
                let p: Vec<usize> = rows.iter().map(|&r| argmax(&score(r))).collect();
                macro_f1(&g, &p, classes)
            })
            .sum::<f64>()
            / folds as f64
    };
    let mix = |weights: &[f32], pick: &dyn Fn(&HeldOut) -> &[Vec<f32>], r: usize, log: bool| {
        let mut out = vec![0f32; classes];
        for (h, &w) in held.iter().zip(weights) {
            if w == 0.0 {
                continue;
            }
            for (o, p) in out.iter_mut().zip(&pick(h)[r]) {
                *o += w * if log { p.max(1e-9).ln() } else { *p };
            }
        }
        out
    };
    println!("| combination | titles | bodies | pairs joint | pairs split 0.3 | pairs split 0.5 |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let n = components.len();
    let mut combos: Vec<Vec<f32>> = (0..n)
        .map(|i| (0..n).map(|j| f32::from(u8::from(i == j))).collect())
        .collect();
    if let Ok(spec) = std::env::var("ENSEMBLE_WEIGHTS") {
        for w in spec.split(';') {
            combos.push(w.split(',').map(|x| x.parse().unwrap_or(0.0)).collect());
        }
    }
    for weights in combos {
        let name: Vec<String> = components
            .iter()
            .zip(&weights)
            .filter(|(_, w)| **w != 0.0)
            .map(|(c, w)| {
                let n = match c {
                    Component::Linear(n, _) | Component::Fast(n, _) => n,
                };
                format!("{w}×{n}")
            })
            .collect();
        for log in [false, true] {
            let joints: Vec<f64> = (0..FT_SHARES.len())
                .map(|s| {
                    cv(&p_gold, &|r| {
                        mix(
                            &weights,
                            &|h: &HeldOut| &h.joint[s.min(h.joint.len() - 1)],
                            r,
                            log,
                        )
                    })
                })
                .collect();
            let split = |a: f32| {
                cv(&p_gold, &|r| {
                    let t = mix(&weights, &|h: &HeldOut| &h.pair_title, r, log);
                    let b = mix(&weights, &|h: &HeldOut| &h.pair_body, r, log);
                    t.iter()
                        .zip(&b)
                        .map(|(t, b)| a * t + (1.0 - a) * b)
                        .collect()
                })
            };
            println!(
                "| {}{} | {:.4} | {:.4} | {} | {:.4} | {:.4} |",
                name.join(" + "),
                if log { " (log)" } else { "" },
                cv(&t_gold, &|r| mix(
                    &weights,
                    &|h: &HeldOut| &h.titles,
                    r,
                    log
                )),
                cv(&b_gold, &|r| mix(
                    &weights,
                    &|h: &HeldOut| &h.bodies,
                    r,
                    log
                )),
                joints
                    .iter()
                    .map(|j| format!("{j:.4}"))
                    .collect::<Vec<_>>()
                    .join(" / "),
                split(0.3),
                split(0.5),
            );
        }
    }
}

/// The members compared by `--ensemble-cv`; `ENSEMBLE_FT=dim,epochs,lr,cmin,cmax,bits;…`
/// replaces the fastText members.
fn ensemble_components() -> Vec<Component> {
    let shipped = TrainOptions::default();
    let mut out = vec![
        Component::Linear("SVM".into(), shipped),
        Component::Linear(
            "NBSVM".into(),
            TrainOptions {
                algorithm: Algorithm::NbSvm { c: 1.0, alpha: 1.0 },
                epochs: 30,
                ..shipped
            },
        ),
    ];
    let spec = std::env::var("ENSEMBLE_FT").unwrap_or_else(|_| "64,20,0.3,2,4,20".into());
    for item in spec.split(';') {
        let v: Vec<f64> = item.split(',').map(|x| x.parse().unwrap_or(0.0)).collect();
        let opts = FastTextOptions {
            config: FastTextConfig {
                dim: v[0] as u16,
                char_ngram_min: v[3] as u8,
                char_ngram_max: v[4] as u8,
                hash_bits: v[5] as u8,
                ..FastTextConfig::default()
            },
            epochs: v[1] as u32,
            learning_rate: v[2] as f32,
            ..FastTextOptions::default()
        };
        out.push(Component::Fast(format!("FT({item})"), opts));
    }
    if std::env::var("ENSEMBLE_NO_LINEAR").is_ok() {
        out.retain(|c| matches!(c, Component::Fast(..)));
    }
    out
}
