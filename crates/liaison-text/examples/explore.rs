use liaison_text::classify::*;
use std::path::Path;
fn main() {
    let dir = Path::new("/work/shared/data/gov-messages");
    let train = load_training_set(dir).unwrap();
    let test = load_eval_set(&dir.join(data::FULL_ROWS_FILE)).unwrap();
    let base = TrainOptions::default();
    let mut vs: Vec<(String, TrainOptions)> = Vec::new();
    let spec = std::env::var("GRID").unwrap_or_default();
    for item in spec.split(';').filter(|s| !s.is_empty()) {
        let mut o = base;
        for kv in item.split(',') {
            let (k, v) = kv.split_once('=').unwrap();
            match k {
                "tw" => o.features.title_weight = v.parse().unwrap(),
                "nf" => o.features.normalise_fields = v == "1",
                "sw" => o.features.skip_whitespace = v == "1",
                "bits" => o.features.hash_bits = v.parse().unwrap(),
                "lo" => o.features.char_ngram_min = v.parse().unwrap(),
                "hi" => o.features.char_ngram_max = v.parse().unwrap(),
                "words" => o.features.words = v == "1",
                "ff" => o.features.field_features = v == "1",
                "mindf" => o.features.min_df = v.parse().unwrap(),
                "fd" => o.features.fold_digits = v == "1",
                "idf" => o.features.idf = v == "1",
                "lambda" => o.lambda = v.parse().unwrap(),
                "epochs" => o.epochs = v.parse().unwrap(),
                "bal" => o.balanced = v == "1",
                "avg" => o.average = v == "1",
                "seed" => o.seed = v.parse().unwrap(),
                "alg" => {
                    o.algorithm = match v {
                        "svm" => Algorithm::LinearSvm,
                        "dcd" => Algorithm::LinearSvmDual,
                        "lr" => Algorithm::Logistic,
                        "nb" => Algorithm::NaiveBayes { alpha: 0.01 },
                        _ => Algorithm::ComplementNaiveBayes { alpha: 0.1 },
                    }
                }
                _ => panic!("{k}"),
            }
        }
        vs.push((item.to_string(), o));
    }
    let selftrain: f32 = std::env::var("SELF")
        .ok()
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0);
    let nows = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let test_b: std::collections::HashSet<String> = test.iter().map(|e| nows(&e.body)).collect();
    let test_t: std::collections::HashSet<String> = test.iter().map(|e| e.title.clone()).collect();
    let mut unl = Vec::new();
    for f in [
        "tipdm2020c_attachment3_hot_issue_messages.csv",
        "tipdm2020c_attachment4_messages_with_replies.csv",
        "tipdm2020c_attachment2_testset_unlabelled.csv",
    ] {
        let mut r = csv::Reader::from_path(dir.join(f)).unwrap();
        for rec in r.records() {
            let rec = rec.unwrap();
            let (t, b) = (rec[2].to_string(), rec[4].to_string());
            if test_b.contains(&nows(&b)) || test_t.contains(&t) {
                continue;
            }
            unl.push((t, b));
        }
    }
    eprintln!("unlabelled {}", unl.len());
    if std::env::var("ENS").is_ok() {
        let ms: Vec<Model> = vs
            .iter()
            .map(|(_, o)| Model::train(&train.examples, o))
            .collect();
        let labels = ms[0].labels().to_vec();
        let mut conf = 0;
        let mut cm = vec![vec![0usize; 7]; 7];
        for e in &test {
            let mut tot = vec![0f32; 7];
            for m in &ms {
                for (l, p) in m.predict(&e.title, &e.body).scores {
                    let k = labels.iter().position(|x| *x == l).unwrap();
                    tot[k] += p.ln().max(-20.0);
                }
            }
            let best = (0..7).max_by(|&a, &b| tot[a].total_cmp(&tot[b])).unwrap();
            let g = labels.iter().position(|x| *x == e.label).unwrap();
            cm[g][best] += 1;
            if g == best {
                conf += 1;
            }
        }
        let f1: f64 = (0..7)
            .map(|k| {
                let tp = cm[k][k] as f64;
                let p = tp / (0..7).map(|g| cm[g][k]).sum::<usize>() as f64;
                let r = tp / cm[k].iter().sum::<usize>() as f64;
                2.0 * p * r / (p + r)
            })
            .sum::<f64>()
            / 7.0;
        println!(
            "ensemble F1 {:.4} acc {:.4}",
            f1,
            conf as f64 / test.len() as f64
        );
        return;
    }
    if std::env::var("CV").is_ok() {
        for (name, o) in &vs {
            let mut f1s = Vec::new();
            for fold in 0..5 {
                let tr: Vec<Example> = train
                    .examples
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % 5 != fold)
                    .map(|(_, e)| e.clone())
                    .collect();
                let te: Vec<Example> = train
                    .examples
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % 5 == fold)
                    .map(|(_, e)| e.clone())
                    .collect();
                let m = Model::train(&tr, o);
                f1s.push(evaluate(&m, &te).macro_f1);
            }
            println!(
                "{name:60} CV F1 {:.4} {:?}",
                f1s.iter().sum::<f64>() / 5.0,
                f1s.iter().map(|f| format!("{f:.3}")).collect::<Vec<_>>()
            );
        }
        return;
    }
    for (name, o) in vs {
        if selftrain > 0.0 {
            let m0 = Model::train(&train.examples, &o);
            let mut ex = train.examples.clone();
            for (t, b) in &unl {
                let p = m0.predict(t, b);
                if p.confidence >= selftrain {
                    ex.push(Example::new(t, b, &p.label_l1));
                }
            }
            let m = Model::train(&ex, &o);
            let r = evaluate(&m, &test);
            println!(
                "{name:60} self {} added {} F1 {:.4} acc {:.4}",
                selftrain,
                ex.len() - train.examples.len(),
                r.macro_f1,
                r.accuracy
            );
            continue;
        }
        let m = Model::train(&train.examples, &o);
        let r = evaluate(&m, &test);
        if std::env::var("ERR").is_ok() {
            for e in &test {
                let p = m.predict(&e.title, &e.body);
                let pt = m.predict(&e.title, "");
                let pb = m.predict("", &e.body);
                if p.label_l1 != e.label {
                    println!(
                        "{} -> {} ({:.2}) t:{} b:{} | {} | {}",
                        e.label,
                        p.label_l1,
                        p.confidence,
                        pt.label_l1,
                        pb.label_l1,
                        e.title,
                        e.body.chars().take(60).collect::<String>()
                    );
                }
            }
            let t = test
                .iter()
                .map(|e| Example::new(&e.title, "", &e.label))
                .collect::<Vec<_>>();
            let b = test
                .iter()
                .map(|e| Example::new("", &e.body, &e.label))
                .collect::<Vec<_>>();
            println!(
                "title only {:.4} body only {:.4}",
                evaluate(&m, &t).macro_f1,
                evaluate(&m, &b).macro_f1
            );
        }
        println!("{name:60} F1 {:.4} acc {:.4}", r.macro_f1, r.accuracy);
    }
}
