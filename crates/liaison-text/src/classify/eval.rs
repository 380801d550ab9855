//! Evaluation of a model on labelled examples: per-label precision, recall and F1, macro-F1
//! (the score of the TipDM 2020 contest) and accuracy.

use std::fmt;

use super::{Example, Model};

/// Scores of one label.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScores {
    /// The label.
    pub label: String,
    /// Test examples that carry this label.
    pub support: usize,
    /// Share of predictions of this label that were right.
    pub precision: f64,
    /// Share of examples of this label that were found.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// One row per label of the model, in the model's label order.
    pub per_label: Vec<LabelScores>,
    /// Unweighted mean of the per-label F1 scores.
    pub macro_f1: f64,
    /// Share of examples predicted correctly.
    pub accuracy: f64,
    /// Number of test examples.
    pub examples: usize,
    /// `confusion[gold][predicted]`, in the model's label order; test labels unknown to the
    /// model are counted in `unknown_labels` only.
    pub confusion: Vec<Vec<usize>>,
    /// Test examples whose label the model does not know (always counted as wrong).
    pub unknown_labels: usize,
}

/// Predicts every example of `test` with `model` and scores the predictions.
pub fn evaluate(model: &Model, test: &[Example]) -> EvalReport {
    let labels = model.labels();
    let classes = labels.len();
    let mut confusion = vec![vec![0usize; classes]; classes];
    let mut unknown_labels = 0;
    for example in test {
        let predicted = model.rank(&example.title, &example.body)[0].0;
        match labels.iter().position(|l| *l == example.label) {
            Some(gold) => confusion[gold][predicted] += 1,
            None => unknown_labels += 1,
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_label: Vec<LabelScores> = (0..classes)
        .map(|k| {
            let right = confusion[k][k];
            let support: usize = confusion[k].iter().sum();
            let predicted: usize = confusion.iter().map(|row| row[k]).sum();
            let precision = ratio(right, predicted);
            let recall = ratio(right, support);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            LabelScores {
                label: labels[k].clone(),
                support,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let right: usize = (0..classes).map(|k| confusion[k][k]).sum();
    EvalReport {
        macro_f1: per_label.iter().map(|s| s.f1).sum::<f64>() / classes.max(1) as f64,
        accuracy: ratio(right, test.len()),
        examples: test.len(),
        per_label,
        confusion,
        unknown_labels,
    }
}

/// Display width of a label: CJK characters take two terminal columns.
fn width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn pad(text: &str, to: usize) -> String {
    format!("{text}{}", " ".repeat(to.saturating_sub(width(text))))
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label_width = self
            .per_label
            .iter()
            .map(|s| width(&s.label))
            .max()
            .unwrap_or(0)
            .max(8);
        writeln!(
            f,
            "{}  precision  recall      f1  support",
            pad("label", label_width)
        )?;
        for s in &self.per_label {
            writeln!(
                f,
                "{}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}",
                pad(&s.label, label_width),
                s.precision,
                s.recall,
                s.f1,
                s.support
            )?;
        }
        writeln!(
            f,
            "{}  macro-F1 {:.4}  accuracy {:.4}  ({} examples)",
            pad("", label_width),
            self.macro_f1,
            self.accuracy,
            self.examples
        )?;
        if self.unknown_labels > 0 {
            writeln!(
                f,
                "{} examples had labels unknown to the model",
                self.unknown_labels
            )?;
        }
        writeln!(
            f,
            "\nconfusion (rows = gold, columns = predicted, same order):"
        )?;
        for (s, row) in self.per_label.iter().zip(&self.confusion) {
            let cells: Vec<String> = row.iter().map(|n| format!("{n:>5}")).collect();
            writeln!(f, "{}{}", pad(&s.label, label_width), cells.join(""))?;
        }
        Ok(())
    }
}
