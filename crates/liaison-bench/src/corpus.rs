//! Realistic opinion text from the TipDM 2020 problem C messages (`/work/shared/data/gov-messages`,
//! see its README): real title/body pairs, plus titles and bodies of the same level-1 label
//! recombined, sometimes with a sentence of a third message appended, so that a million rows are
//! not a few thousand texts repeated verbatim.

use anyhow::{Context, Result, bail};
use rand::Rng;
use rand::seq::IndexedRandom;
use std::path::Path;

/// Longest body the intake accepts (`liaison_web::intake::BODY_MAX`), in characters.
pub const BODY_MAX: usize = 3000;
/// Longest title the intake accepts (`liaison_web::intake::TITLE_MAX`).
pub const TITLE_MAX: usize = 50;

/// A message as it appears in the corpus.
#[derive(Debug, Clone)]
pub struct Message {
    /// Subject line.
    pub title: String,
    /// Text.
    pub body: String,
    /// Index into [`Corpus::labels`], when the corpus labels it.
    pub label: Option<usize>,
}

/// A generated opinion text.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// Title, at most [`TITLE_MAX`] characters.
    pub title: String,
    /// Body, at most [`BODY_MAX`] characters.
    pub body: String,
    /// The corpus label of the body, when known.
    pub label: Option<String>,
}

/// The texts the generator draws from.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The level-1 labels, in first-seen order.
    pub labels: Vec<String>,
    /// Real title/body pairs.
    pub messages: Vec<Message>,
    /// Titles per label (index as in `labels`).
    pub titles: Vec<Vec<String>>,
    /// Bodies per label.
    pub bodies: Vec<Vec<String>>,
    /// Official replies (attachment 4), for the reply rows of handled items.
    pub replies: Vec<String>,
}

/// Reads the named columns of a corpus file (a missing column is an error).
fn columns(dir: &Path, file: &str, names: &[&str]) -> Result<Vec<Vec<String>>> {
    let path = dir.join(file);
    let mut r = csv::Reader::from_path(&path)
        .with_context(|| format!("无法读取语料文件 {}", path.display()))?;
    let headers = r.headers()?.clone();
    let idx: Vec<usize> = names
        .iter()
        .map(|n| {
            headers
                .iter()
                .position(|h| h == *n)
                .with_context(|| format!("语料文件 {} 缺少列 {n}", path.display()))
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.with_context(|| format!("语料文件 {} 格式有误", path.display()))?;
        if rec.len() != headers.len() {
            bail!("语料文件 {} 有一行列数不对", path.display());
        }
        out.push(idx.iter().map(|&i| rec[i].to_owned()).collect());
    }
    Ok(out)
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

impl Corpus {
    /// Loads the corpus directory.
    pub fn load(dir: &Path) -> Result<Corpus> {
        let mut c = Corpus {
            labels: Vec::new(),
            messages: Vec::new(),
            titles: Vec::new(),
            bodies: Vec::new(),
            replies: Vec::new(),
        };
        for row in columns(
            dir,
            "tipdm2020c_attachment2_titles_all.csv",
            &["title", "label_l1"],
        )? {
            let l = c.label_index(&row[1]);
            c.titles[l].push(row[0].clone());
        }
        for row in columns(
            dir,
            "tipdm2020c_attachment2_bodies_labelled.csv",
            &["body_nows", "label_l1"],
        )? {
            let l = c.label_index(&row[1]);
            c.bodies[l].push(row[0].clone());
        }
        for row in columns(
            dir,
            "tipdm2020c_attachment2_full_rows.csv",
            &["title", "body", "label_l1"],
        )? {
            let l = c.label_index(&row[2]);
            c.messages.push(Message {
                title: row[0].clone(),
                body: row[1].clone(),
                label: Some(l),
            });
        }
        for file in [
            "tipdm2020c_attachment2_testset_unlabelled.csv",
            "tipdm2020c_attachment3_hot_issue_messages.csv",
            "tipdm2020c_attachment4_messages_with_replies.csv",
        ] {
            for row in columns(dir, file, &["title", "body"])? {
                c.messages.push(Message {
                    title: row[0].clone(),
                    body: row[1].clone(),
                    label: None,
                });
            }
        }
        for row in columns(
            dir,
            "tipdm2020c_attachment4_messages_with_replies.csv",
            &["reply"],
        )? {
            c.replies.push(truncate_chars(&row[0], 2000));
        }
        c.messages
            .retain(|m| !m.title.trim().is_empty() && !m.body.trim().is_empty());
        if c.messages.is_empty() || c.labels.is_empty() || c.replies.is_empty() {
            bail!("语料目录 {} 中没有可用的留言", dir.display());
        }
        Ok(c)
    }

    fn label_index(&mut self, label: &str) -> usize {
        match self.labels.iter().position(|l| l == label) {
            Some(i) => i,
            None => {
                self.labels.push(label.to_owned());
                self.titles.push(Vec::new());
                self.bodies.push(Vec::new());
                self.labels.len() - 1
            }
        }
    }

    /// One opinion text: half the time a real message, otherwise a title and a body of the same
    /// label; a third of the texts get a sentence of another message appended.
    pub fn compose(&self, rng: &mut impl Rng) -> Text {
        let (title, mut body, label) = if rng.random_bool(0.5) {
            let m = self.messages.choose(rng).expect("messages is not empty");
            (
                m.title.clone(),
                m.body.clone(),
                m.label.map(|l| self.labels[l].clone()),
            )
        } else {
            let l = rng.random_range(0..self.labels.len());
            let title = self.titles[l]
                .choose(rng)
                .or_else(|| self.messages.choose(rng).map(|m| &m.title))
                .expect("messages is not empty")
                .clone();
            match self.bodies[l].choose(rng) {
                Some(b) => (title, b.clone(), Some(self.labels[l].clone())),
                None => {
                    let m = self.messages.choose(rng).expect("messages is not empty");
                    (title, m.body.clone(), None)
                }
            }
        };
        if rng.random_bool(0.35) {
            let other = &self
                .messages
                .choose(rng)
                .expect("messages is not empty")
                .body;
            if let Some(s) = first_sentence(other) {
                body.push_str("另外，");
                body.push_str(s);
            }
        }
        Text {
            title: truncate_chars(title.trim(), TITLE_MAX),
            body: truncate_chars(body.trim(), BODY_MAX),
            label,
        }
    }

    /// Search words as staff type them: one or two words of a random title.
    pub fn query(&self, rng: &mut impl Rng) -> String {
        for _ in 0..20 {
            let m = self.messages.choose(rng).expect("messages is not empty");
            let words: Vec<String> = liaison_text::search_text::segment_for_query(&m.title)
                .into_iter()
                .filter(|w| w.chars().count() >= 2 && !w.chars().any(|c| c.is_ascii()))
                .collect();
            if words.is_empty() {
                continue;
            }
            let first = words.choose(rng).expect("not empty").clone();
            if words.len() > 1 && rng.random_bool(0.4) {
                let second = words.choose(rng).expect("not empty");
                if *second != first {
                    return format!("{first} {second}");
                }
            }
            return first;
        }
        "停车".to_owned()
    }
}

/// The first sentence (up to and including 。！？) of a text, if it is of a sensible length.
fn first_sentence(text: &str) -> Option<&str> {
    let end = text
        .char_indices()
        .find(|(_, c)| matches!(c, '。' | '！' | '？'))
        .map(|(i, c)| i + c.len_utf8())?;
    let s = &text[..end];
    (s.chars().count() >= 8 && s.chars().count() <= 150).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn tiny() -> Corpus {
        Corpus {
            labels: vec!["城乡建设".into(), "交通运输".into()],
            messages: vec![Message {
                title: "小区停车难".into(),
                body: "小区里车位太少。晚上回家找不到地方停车！".into(),
                label: None,
            }],
            titles: vec![vec!["路灯不亮".into()], vec!["公交线路调整".into()]],
            bodies: vec![
                vec!["路灯坏了三个月没人修。".into()],
                vec!["希望增加公交班次。".into()],
            ],
            replies: vec!["已处理。".into()],
        }
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("联络站意见", 2), "联络");
        assert_eq!(truncate_chars("ab", 5), "ab");
    }

    #[test]
    fn the_first_sentence_ends_at_chinese_punctuation() {
        assert_eq!(
            first_sentence("小区里车位太少了。晚上回家找不到地方停车！"),
            Some("小区里车位太少了。")
        );
        assert_eq!(first_sentence("没有句号"), None);
    }

    #[test]
    fn composed_texts_respect_the_intake_limits_and_keep_labels_coherent() {
        let c = tiny();
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..200 {
            let t = c.compose(&mut rng);
            assert!(t.title.chars().count() <= TITLE_MAX);
            assert!(t.body.chars().count() <= BODY_MAX);
            assert!(!t.title.is_empty() && !t.body.is_empty());
            if t.title == "路灯不亮" {
                assert_eq!(t.label.as_deref(), Some("城乡建设"));
            }
        }
    }

    #[test]
    fn the_same_seed_composes_the_same_texts() {
        let c = tiny();
        let a: Vec<Text> = {
            let mut rng = SmallRng::seed_from_u64(1);
            (0..20).map(|_| c.compose(&mut rng)).collect()
        };
        let mut rng = SmallRng::seed_from_u64(1);
        let b: Vec<Text> = (0..20).map(|_| c.compose(&mut rng)).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn queries_are_chinese_words_of_a_title() {
        let c = tiny();
        let mut rng = SmallRng::seed_from_u64(3);
        let q = c.query(&mut rng);
        assert!(q.split(' ').all(|w| "小区停车难".contains(w)), "{q}");
    }
}
