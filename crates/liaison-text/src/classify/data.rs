//! Loaders for the TipDM 2020 problem C message files (`/work/shared/data/gov-messages`, see
//! its README), arranged so that the test messages never leak into training.
//!
//! - Training: titles of `tipdm2020c_attachment2_titles_all.csv` with `in_full_rows == False`
//!   (title only), plus bodies of `tipdm2020c_attachment2_bodies_labelled.csv` with an empty
//!   `message_id` (body only; such rows never carry a title). Bodies that equal a test body
//!   once whitespace is removed are dropped too: the same message posted twice under two ids
//!   can match a full row without carrying its id.
//! - Test: `tipdm2020c_attachment2_full_rows.csv`, title and body.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::Example;

/// The titles of all 9,210 labelled messages.
pub const TITLES_FILE: &str = "tipdm2020c_attachment2_titles_all.csv";
/// The whitespace-free bodies of about 88 % of them.
pub const BODIES_FILE: &str = "tipdm2020c_attachment2_bodies_labelled.csv";
/// The 2,236 messages with every column: the test set.
pub const FULL_ROWS_FILE: &str = "tipdm2020c_attachment2_full_rows.csv";

/// Errors reading the data files.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file cannot be opened or read.
    #[error("无法读取数据文件 {path}：{source}，请检查路径是否正确")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid CSV.
    #[error("数据文件 {path} 不是有效的 CSV：{source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// A column the loader needs is absent.
    #[error("数据文件 {path} 缺少列 {column}，请使用 gov-messages 数据集的原始文件")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: &'static str,
    },
}

/// The training examples and where they came from.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    /// Title-only examples followed by body-only examples.
    pub examples: Vec<Example>,
    /// Number of title-only examples.
    pub titles: usize,
    /// Number of body-only examples.
    pub bodies: usize,
    /// Bodies left out because they equal a test body.
    pub dropped_test_duplicates: usize,
}

/// One CSV file read into rows of the requested columns.
fn read_columns(path: &Path, columns: &[&'static str]) -> Result<Vec<Vec<String>>, DataError> {
    let csv_error = |source| DataError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::Reader::from_reader(std::io::BufReader::new(file));
    let headers = reader.headers().map_err(csv_error)?.clone();
    let positions = columns
        .iter()
        .map(|&column| {
            headers
                .iter()
                .position(|h| h == column)
                .ok_or(DataError::MissingColumn {
                    path: path.to_path_buf(),
                    column,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        rows.push(
            positions
                .iter()
                .map(|&i| record.get(i).unwrap_or("").to_string())
                .collect(),
        );
    }
    Ok(rows)
}

fn without_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Loads the training examples from the data directory (see the module documentation for
/// which rows are used and why).
pub fn load_training_set(dir: &Path) -> Result<TrainingSet, DataError> {
    let test_bodies: HashSet<String> = read_columns(&dir.join(FULL_ROWS_FILE), &["body"])?
        .into_iter()
        .map(|row| without_whitespace(&row[0]))
        .collect();
    let mut examples = Vec::new();
    for row in read_columns(
        &dir.join(TITLES_FILE),
        &["title", "label_l1", "in_full_rows"],
    )? {
        if row[2] == "False" {
            examples.push(Example::new(&row[0], "", &row[1]));
        }
    }
    let titles = examples.len();
    let mut dropped_test_duplicates = 0;
    let body_columns = ["body_nows", "label_l1", "message_id", "title"];
    for row in read_columns(&dir.join(BODIES_FILE), &body_columns)? {
        if !row[2].is_empty() {
            continue;
        }
        if test_bodies.contains(&without_whitespace(&row[0])) {
            dropped_test_duplicates += 1;
            continue;
        }
        examples.push(Example::new(&row[3], &row[0], &row[1]));
    }
    let bodies = examples.len() - titles;
    Ok(TrainingSet {
        examples,
        titles,
        bodies,
        dropped_test_duplicates,
    })
}

/// Loads a labelled evaluation file with `title`, `body` and `label_l1` columns, such as
/// `tipdm2020c_attachment2_full_rows.csv`.
pub fn load_eval_set(csv: &Path) -> Result<Vec<Example>, DataError> {
    Ok(read_columns(csv, &["title", "body", "label_l1"])?
        .into_iter()
        .map(|row| Example::new(&row[0], &row[1], &row[2]))
        .collect())
}
