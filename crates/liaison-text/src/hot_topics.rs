//! Hot topics (民意热词): the words that many recent opinions share, with how many items mention
//! each, how that compares with the window before, and example titles — for the analysis pages
//! and the deputies' hot-word push.
//!
//! Opinions arrive already segmented for search (`search_text`), so this only counts: for each
//! word, the number of items in the current and the previous window that contain it. Words that
//! appear in too large a share of all items (问题, 希望, 反映 …) say nothing about a topic and are
//! dropped, as are single characters and pure numbers.

use std::collections::{HashMap, HashSet};

/// One opinion as the finder needs it.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    /// In the current window (true) or the previous one (false).
    pub current: bool,
    /// Title, for examples.
    pub title: &'a str,
    /// Space-separated words (the search text).
    pub words: &'a str,
}

/// A hot topic.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Topic {
    /// The word.
    pub keyword: String,
    /// Items in the current window containing it.
    pub count: usize,
    /// Items in the previous window containing it.
    pub previous: usize,
    /// Up to three example titles from the current window.
    pub examples: Vec<String>,
}

impl Topic {
    /// Change against the previous window, in items.
    pub fn trend(&self) -> i64 {
        self.count as i64 - self.previous as i64
    }
}

/// Words of civic complaints that carry no topic of their own.
const GENERIC: &[&str] = &[
    "关于",
    "问题",
    "希望",
    "反映",
    "建议",
    "请求",
    "要求",
    "情况",
    "现在",
    "没有",
    "我们",
    "他们",
    "你们",
    "自己",
    "这个",
    "那个",
    "什么",
    "怎么",
    "如何",
    "一个",
    "已经",
    "可以",
    "不能",
    "还是",
    "领导",
    "部门",
    "相关",
    "解决",
    "处理",
    "尽快",
    "严重",
    "影响",
    "市民",
    "群众",
    "居民",
    "目前",
    "一直",
    "但是",
    "因为",
    "所以",
    "而且",
    "并且",
    "或者",
    "以及",
    "进行",
    "有关",
    "是否",
    "存在",
    "导致",
    "造成",
    "出现",
    "政府",
    "你好",
    "您好",
    "谢谢",
    "感谢",
    "请问",
    "多次",
    "至今",
    "是不是",
];

fn is_topic_word(w: &str) -> bool {
    let n = w.chars().count();
    (2..=8).contains(&n)
        && !w
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_punctuation())
        && !GENERIC.contains(&w)
}

/// The `limit` hottest topics of the current window, most items first. A word present in more
/// than `max_share` of all items (e.g. 0.3) is too common to be a topic (checked from 50 items on).
pub fn hot_topics(docs: &[Doc<'_>], limit: usize, max_share: f64) -> Vec<Topic> {
    let total = docs.len().max(1) as f64;
    let mut current: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut previous: HashMap<&str, usize> = HashMap::new();
    let mut all: HashMap<&str, usize> = HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        let words: HashSet<&str> = d
            .words
            .split_whitespace()
            .filter(|w| is_topic_word(w))
            .collect();
        for w in words {
            *all.entry(w).or_default() += 1;
            if d.current {
                current.entry(w).or_default().push(i);
            } else {
                *previous.entry(w).or_default() += 1;
            }
        }
    }
    let mut topics: Vec<Topic> = current
        .into_iter()
        // The share rule needs enough items to mean anything.
        .filter(|(w, items)| {
            items.len() >= 2 && (docs.len() < 50 || (all[w] as f64) / total <= max_share)
        })
        .map(|(w, items)| Topic {
            keyword: w.to_owned(),
            count: items.len(),
            previous: previous.get(w).copied().unwrap_or(0),
            examples: items
                .iter()
                .take(3)
                .map(|i| docs[*i].title.to_owned())
                .collect(),
        })
        .collect();
    // Longer words are more specific (停车难 over 停车) when counts tie.
    topics.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.keyword.chars().count().cmp(&a.keyword.chars().count()))
            .then(a.keyword.cmp(&b.keyword))
    });
    // A word contained in a hotter, longer word with the same items adds nothing.
    let mut kept: Vec<Topic> = Vec::new();
    for t in topics {
        if kept
            .iter()
            .any(|k| k.keyword.contains(&t.keyword) && k.count >= t.count)
        {
            continue;
        }
        kept.push(t);
        if kept.len() == limit {
            break;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_shared_specific_words_come_first_with_their_trend() {
        let a = crate::search_text::segment_for_index("小区停车难，晚上没有车位");
        let b = crate::search_text::segment_for_index("停车难问题严重，希望增加车位");
        let c = crate::search_text::segment_for_index("学校门口停车难");
        let d = crate::search_text::segment_for_index("噪声扰民");
        let e = crate::search_text::segment_for_index("停车难");
        let docs = vec![
            Doc {
                current: true,
                title: "小区停车难",
                words: &a,
            },
            Doc {
                current: true,
                title: "停车难",
                words: &b,
            },
            Doc {
                current: true,
                title: "学校门口停车",
                words: &c,
            },
            Doc {
                current: true,
                title: "噪声",
                words: &d,
            },
            Doc {
                current: false,
                title: "旧",
                words: &e,
            },
        ];
        let t = hot_topics(&docs, 5, 1.0);
        assert_eq!(t[0].keyword, "停车难");
        assert_eq!(t[0].count, 3);
        assert_eq!(t[0].previous, 1);
        assert_eq!(t[0].trend(), 2);
        assert!(
            t.iter().all(|x| x.keyword != "停车"),
            "contained in a hotter word"
        );
        assert!(
            t.iter().all(|x| x.keyword != "问题"),
            "generic words are not topics"
        );
    }

    #[test]
    fn real_hot_issue_messages_give_recognisable_topics() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/gov-messages");
        let file = dir.join("tipdm2020c_attachment3_hot_issue_messages.csv");
        let Ok(mut rdr) = csv::Reader::from_path(&file) else {
            return;
        };
        let rows: Vec<(String, String)> = rdr
            .records()
            .filter_map(Result::ok)
            .map(|r| {
                (
                    r.get(2).unwrap_or("").to_owned(),
                    r.get(4).unwrap_or("").to_owned(),
                )
            })
            .collect();
        let words: Vec<String> = rows
            .iter()
            .map(|(t, b)| crate::search_text::segment_for_index(&format!("{t} {b}")))
            .collect();
        let docs: Vec<Doc<'_>> = rows
            .iter()
            .zip(&words)
            .map(|((t, _), w)| Doc {
                current: true,
                title: t,
                words: w,
            })
            .collect();
        let t = hot_topics(&docs, 10, 0.3);
        assert_eq!(t.len(), 10);
        assert!(t[0].count > 20, "{t:?}");
    }
}
