//! The deadline table as a form (`/work/settings`): one block per category × urgency, each
//! deadline a number and a unit, checked by [`SlaTable::check`] with the Chinese message next to
//! the field it concerns; what a change means in sentences. Pure: the web handler reads the
//! posted fields into a map, calls [`read_form`], and saves the table it returns.

use super::{
    CONSULT_CATEGORY, DEFAULT_CATEGORY, OpinionSla, OpinionSlaByUrgency, SlaError, SlaTable, Span,
    SuggestionSla,
};
use std::collections::HashMap;

/// The opinion categories (the 7 first-level labels of the classifier and 其他): the ones that
/// may get their own row of the table.
pub const CATEGORIES: &[&str] = &[
    "城乡建设",
    "劳动和社会保障",
    "教育文体",
    "商贸旅游",
    "环境保护",
    "卫生计生",
    "交通运输",
    "其他",
];

/// Units of a deadline: (code in the form, Chinese label).
pub const UNITS: &[(&str, &str)] = &[
    ("working_days", "工作日"),
    ("calendar_days", "日"),
    ("months", "个月"),
];

/// How many categories a posted form may carry (more are ignored).
pub const MAX_CATEGORIES: usize = 40;

/// One deadline of the table: key (as in the JSON), Chinese label, whether it is a count.
pub type FieldSpec = (&'static str, &'static str, bool);

/// The deadlines of an opinion row, in the order the form shows them.
pub const OPINION_FIELDS: &[FieldSpec] = &[
    ("accept", "受理期限", false),
    ("assign", "分办期限", false),
    ("acknowledge", "签收期限", false),
    ("return_window", "申请退回时限", false),
    ("reply", "答复期限", false),
    ("review", "审核期限", false),
    ("decision", "审批研判期限", false),
    ("rating_window", "评价期限", false),
    ("rehandle_reply", "重办答复期限", false),
    ("extension_cap", "单次延期上限", false),
    ("extensions_allowed", "可延期次数", true),
    ("supervision_after", "逾期转督办", false),
    ("supervision_reply", "督办答复期限", false),
    ("max_rehandle_rounds", "重办轮次上限", true),
];

/// The deadlines of the suggestion row, in the order the form shows them.
pub const SUGGESTION_FIELDS: &[FieldSpec] = &[
    ("reply", "答复期限", false),
    ("reply_max", "最长答复期限", false),
    ("co_unit_opinion", "协办意见期限", false),
    ("re_reply", "重新答复期限", false),
    ("return_window", "申请退回时限", false),
    ("max_rehandle_rounds", "重办轮次上限", true),
];

/// The deadlines the summary line of a category × urgency names.
pub const SUMMARY_FIELDS: &[&str] = &["accept", "acknowledge", "reply", "rating_window"];

/// A value of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A deadline.
    Span(Span),
    /// A number of times.
    Count(u32),
}

impl Value {
    /// The value in Chinese (“15个工作日”, “2次”).
    pub fn label(self) -> String {
        match self {
            Value::Span(s) => s.label(),
            Value::Count(n) => format!("{n}次"),
        }
    }

    /// (amount, unit code) as the form shows them.
    pub fn form(self) -> (String, String) {
        match self {
            Value::Span(Span::WorkingDays(n)) => (n.to_string(), "working_days".into()),
            Value::Span(Span::CalendarDays(n)) => (n.to_string(), "calendar_days".into()),
            Value::Span(Span::Months(n)) => (n.to_string(), "months".into()),
            Value::Count(n) => (n.to_string(), String::new()),
        }
    }
}

/// The value of deadline `key` of an opinion row.
pub fn opinion_get(s: &OpinionSla, key: &str) -> Value {
    match key {
        "accept" => Value::Span(s.accept),
        "assign" => Value::Span(s.assign),
        "decision" => Value::Span(s.decision),
        "acknowledge" => Value::Span(s.acknowledge),
        "return_window" => Value::Span(s.return_window),
        "reply" => Value::Span(s.reply),
        "review" => Value::Span(s.review),
        "rating_window" => Value::Span(s.rating_window),
        "rehandle_reply" => Value::Span(s.rehandle_reply),
        "extension_cap" => Value::Span(s.extension_cap),
        "extensions_allowed" => Value::Count(s.extensions_allowed),
        "supervision_after" => Value::Span(s.supervision_after),
        "supervision_reply" => Value::Span(s.supervision_reply),
        _ => Value::Count(s.max_rehandle_rounds),
    }
}

/// Sets deadline `key` of an opinion row (a value of the wrong kind is ignored).
pub fn opinion_set(s: &mut OpinionSla, key: &str, v: Value) {
    match (key, v) {
        ("accept", Value::Span(x)) => s.accept = x,
        ("assign", Value::Span(x)) => s.assign = x,
        ("decision", Value::Span(x)) => s.decision = x,
        ("acknowledge", Value::Span(x)) => s.acknowledge = x,
        ("return_window", Value::Span(x)) => s.return_window = x,
        ("reply", Value::Span(x)) => s.reply = x,
        ("review", Value::Span(x)) => s.review = x,
        ("rating_window", Value::Span(x)) => s.rating_window = x,
        ("rehandle_reply", Value::Span(x)) => s.rehandle_reply = x,
        ("extension_cap", Value::Span(x)) => s.extension_cap = x,
        ("extensions_allowed", Value::Count(n)) => s.extensions_allowed = n,
        ("supervision_after", Value::Span(x)) => s.supervision_after = x,
        ("supervision_reply", Value::Span(x)) => s.supervision_reply = x,
        ("max_rehandle_rounds", Value::Count(n)) => s.max_rehandle_rounds = n,
        _ => {}
    }
}

/// The value of deadline `key` of the suggestion row.
pub fn suggestion_get(s: &SuggestionSla, key: &str) -> Value {
    match key {
        "reply" => Value::Span(s.reply),
        "reply_max" => Value::Span(s.reply_max),
        "co_unit_opinion" => Value::Span(s.co_unit_opinion),
        "re_reply" => Value::Span(s.re_reply),
        "return_window" => Value::Span(s.return_window),
        _ => Value::Count(s.max_rehandle_rounds),
    }
}

/// Sets deadline `key` of the suggestion row (a value of the wrong kind is ignored).
pub fn suggestion_set(s: &mut SuggestionSla, key: &str, v: Value) {
    match (key, v) {
        ("reply", Value::Span(x)) => s.reply = x,
        ("reply_max", Value::Span(x)) => s.reply_max = x,
        ("co_unit_opinion", Value::Span(x)) => s.co_unit_opinion = x,
        ("re_reply", Value::Span(x)) => s.re_reply = x,
        ("return_window", Value::Span(x)) => s.return_window = x,
        ("max_rehandle_rounds", Value::Count(n)) => s.max_rehandle_rounds = n,
        _ => {}
    }
}

/// “交办后15个工作日内答复”, or “交办当日答复” for zero.
pub fn within(event: &str, span: Span, verb: &str) -> String {
    match span {
        Span::WorkingDays(0) | Span::CalendarDays(0) | Span::Months(0) => {
            format!("{event}当日{verb}")
        }
        s => format!("{event}后{}内{verb}", s.label()),
    }
}

/// What a value of the opinion table means, in a sentence.
pub fn opinion_meaning(key: &str, v: Value) -> String {
    match (key, v) {
        ("accept", Value::Span(s)) => within("收到", s, "受理或不予受理"),
        ("assign", Value::Span(s)) => within("受理", s, "交办承办单位"),
        ("decision", Value::Span(s)) => within("承办单位申请退回或群众不满意", s, "作出决定"),
        ("acknowledge", Value::Span(s)) => within("交办", s, "签收"),
        ("return_window", Value::Span(s)) => within("交办", s, "可申请退回"),
        ("reply", Value::Span(s)) => within("交办", s, "答复"),
        ("review", Value::Span(s)) => within("答复", s, "审核"),
        ("rating_window", Value::Span(s)) => {
            format!("{}，逾期未评价的办结", within("反馈", s, "评价"))
        }
        ("rehandle_reply", Value::Span(s)) => within("重办", s, "重新答复"),
        ("extension_cap", Value::Span(s)) if s.label() == "当日" => "延期不得延长答复期限".into(),
        ("extension_cap", Value::Span(s)) => format!("每次延期最多延长{}", s.label()),
        ("extensions_allowed", Value::Count(0)) => "不允许延期".into(),
        ("extensions_allowed", Value::Count(n)) => format!("最多延期{n}次"),
        ("supervision_after", Value::Span(s)) if s.label() == "当日" => {
            "超过答复期限即列入督办".into()
        }
        ("supervision_after", Value::Span(s)) => {
            format!("超过答复期限{}仍未答复的，列入督办", s.label())
        }
        ("supervision_reply", Value::Span(s)) => within("列入督办", s, "答复"),
        ("max_rehandle_rounds", Value::Count(0)) => "群众不满意时不再重办，转督办".into(),
        ("max_rehandle_rounds", Value::Count(n)) => {
            format!("群众不满意最多重办{n}轮，之后转督办")
        }
        (_, v) => v.label(),
    }
}

/// What a value of the suggestion table means, in a sentence.
pub fn suggestion_meaning(key: &str, v: Value) -> String {
    match (key, v) {
        ("reply", Value::Span(s)) => within("交办", s, "答复"),
        ("reply_max", Value::Span(s)) => format!("复杂建议最长{}", within("交办", s, "答复")),
        ("co_unit_opinion", Value::Span(s)) => within("交办", s, "向主办单位提出协办意见"),
        ("re_reply", Value::Span(s)) => within("评价不满意", s, "重新答复"),
        ("return_window", Value::Span(s)) => within("交办", s, "可申请退回"),
        ("max_rehandle_rounds", Value::Count(n)) => format!("代表不满意最多重新办理{n}轮"),
        (_, v) => v.label(),
    }
}

/// The Chinese name of a category key of the table.
pub fn category_label(key: &str) -> String {
    match key {
        DEFAULT_CATEGORY => "默认（未单独设置的分类）".to_owned(),
        CONSULT_CATEGORY => "咨询类".to_owned(),
        other => other.to_owned(),
    }
}

/// The short name of a category in sentences (“默认”, “咨询类”, “环境保护”).
pub fn category_short(key: &str) -> String {
    match key {
        DEFAULT_CATEGORY => "默认".to_owned(),
        other => category_label(other),
    }
}

/// Categories that may get their own entry: 咨询类 and the classifier's categories.
pub fn known_category(key: &str) -> bool {
    key == DEFAULT_CATEGORY || key == CONSULT_CATEGORY || CATEGORIES.contains(&key)
}

/// Urgencies of the table: (code, Chinese label).
pub const URGENCIES: &[(&str, &str)] = &[("normal", "一般"), ("urgent", "紧急")];

/// One deadline field of the form.
#[derive(Debug, Clone)]
pub struct FieldForm {
    /// Name prefix of its inputs (`<name>_n`, `<name>_u`), also their ids.
    pub name: String,
    /// Key of the deadline (as in the JSON).
    pub key: &'static str,
    /// Chinese label.
    pub label: &'static str,
    /// A number of times, not a deadline (no unit).
    pub count: bool,
    /// Number as typed.
    pub amount: String,
    /// Unit code as chosen (empty for counts).
    pub unit: String,
    /// What is wrong with it, in Chinese.
    pub error: Option<String>,
    /// What the value means (empty when it is not valid).
    pub meaning: String,
}

#[derive(Debug, Clone)]
/// The deadlines of one category at one urgency.
pub struct UrgencyForm {
    /// Urgency code.
    pub code: &'static str,
    /// Chinese label.
    pub label: &'static str,
    /// Its deadlines.
    pub fields: Vec<FieldForm>,
    /// The main deadlines in a sentence (empty when a field has an error).
    pub summary: String,
}

#[derive(Debug, Clone)]
/// The rows of one category.
pub struct CategoryForm {
    /// Name prefix of its inputs.
    pub prefix: String,
    /// Category key of the table.
    pub key: String,
    /// Chinese name.
    pub label: String,
    /// May be removed (all but the default row).
    pub removable: bool,
    /// Ticked for removal.
    pub remove: bool,
    /// One block per urgency.
    pub urgencies: Vec<UrgencyForm>,
}

/// The deadline table form.
#[derive(Debug, Clone, Default)]
pub struct SlaForm {
    /// Opinion rows, default first.
    pub categories: Vec<CategoryForm>,
    /// The suggestion row.
    pub suggestion: Vec<FieldForm>,
    /// Categories that can still get their own entry: (key, label).
    pub addable: Vec<(String, String)>,
    /// Problems, each with the id of its field: (anchor, message).
    pub errors: Vec<(String, String)>,
    /// What the change means (preview, or after saving).
    pub changes: Vec<String>,
    /// Heading of `changes`.
    pub changes_title: String,
    /// Units of a deadline: (code, Chinese label).
    pub units: &'static [(&'static str, &'static str)],
}

fn field(name: String, spec: FieldSpec, v: Value, meaning: String) -> FieldForm {
    let (amount, unit) = v.form();
    FieldForm {
        name,
        key: spec.0,
        label: spec.1,
        count: spec.2,
        amount,
        unit,
        error: None,
        meaning,
    }
}

fn summary_of(category: &str, urgency: &str, fields: &[FieldForm]) -> String {
    if fields.iter().any(|f| f.error.is_some()) {
        return String::new();
    }
    let parts: Vec<&str> = SUMMARY_FIELDS
        .iter()
        .filter_map(|k| fields.iter().find(|f| f.key == *k))
        .map(|f| f.meaning.as_str())
        .collect();
    format!(
        "{}·{urgency}：{}。",
        category_short(category),
        parts.join("；")
    )
}

impl SlaForm {
    /// The form showing `t`, default first, then 咨询类, then the other categories.
    pub fn of_table(t: &SlaTable) -> SlaForm {
        let mut keys: Vec<&String> = t.opinion.keys().collect();
        keys.sort_by_key(|k| match k.as_str() {
            DEFAULT_CATEGORY => 0,
            CONSULT_CATEGORY => 1,
            _ => 2,
        });
        let categories = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| category_form(i, k, &t.opinion[k], false))
            .collect();
        let suggestion = SUGGESTION_FIELDS
            .iter()
            .map(|spec| {
                let v = suggestion_get(&t.suggestion, spec.0);
                field(
                    format!("s_{}", spec.0),
                    *spec,
                    v,
                    suggestion_meaning(spec.0, v),
                )
            })
            .collect();
        let mut f = SlaForm {
            categories,
            suggestion,
            units: UNITS,
            ..Default::default()
        };
        f.fill_addable();
        f
    }

    fn fill_addable(&mut self) {
        let present: Vec<&str> = self.categories.iter().map(|c| c.key.as_str()).collect();
        self.addable = std::iter::once(CONSULT_CATEGORY)
            .chain(CATEGORIES.iter().copied())
            .filter(|k| !present.contains(k))
            .map(|k| (k.to_owned(), category_label(k)))
            .collect();
    }
}

fn category_form(index: usize, key: &str, e: &OpinionSlaByUrgency, remove: bool) -> CategoryForm {
    let prefix = format!("o{index}");
    let urgencies = URGENCIES
        .iter()
        .map(|&(code, label)| {
            let sla = if code == "urgent" {
                &e.urgent
            } else {
                &e.normal
            };
            let fields: Vec<FieldForm> = OPINION_FIELDS
                .iter()
                .map(|spec| {
                    let v = opinion_get(sla, spec.0);
                    field(
                        format!("{prefix}_{code}_{}", spec.0),
                        *spec,
                        v,
                        opinion_meaning(spec.0, v),
                    )
                })
                .collect();
            UrgencyForm {
                code,
                label,
                summary: summary_of(key, label, &fields),
                fields,
            }
        })
        .collect();
    CategoryForm {
        prefix,
        key: key.to_owned(),
        label: category_label(key),
        removable: key != DEFAULT_CATEGORY,
        remove,
        urgencies,
    }
}

/// Reads one field as typed: the value, or the Chinese message.
fn read_value(form: &HashMap<String, String>, f: &mut FieldForm) -> Option<Value> {
    f.amount = form
        .get(&format!("{}_n", f.name))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    if !f.count {
        f.unit = form
            .get(&format!("{}_u", f.name))
            .cloned()
            .unwrap_or_default();
    }
    let n = if f.amount.is_empty() {
        f.error = Some("请填写数字".into());
        None
    } else {
        match f.amount.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                f.error = Some(format!(
                    "“{}”不是有效的数字，请填写 0 或正整数（不带小数点和单位）",
                    f.amount
                ));
                None
            }
        }
    };
    if f.count {
        return n.map(Value::Count);
    }
    let span = match f.unit.as_str() {
        "working_days" => n.map(Span::WorkingDays),
        "calendar_days" => n.map(Span::CalendarDays),
        "months" => n.map(Span::Months),
        _ => {
            if f.error.is_none() {
                f.error = Some("请选择单位（工作日、日或个月）".into());
            }
            None
        }
    };
    span.map(Value::Span)
}

/// What the posted form asks for.
pub enum Intent {
    /// Save the table (“保存期限表”).
    Save,
    /// Show what the change means, save nothing (“预览修改”).
    Preview,
    /// Add a row for this category, save nothing (“添加分类”).
    Add(String),
}

/// Reads the posted form against the saved table `current`: the form to show again (with the
/// Chinese message next to each field that is wrong) and, when every field is right, the table.
pub fn read_form(
    form: &HashMap<String, String>,
    current: &SlaTable,
) -> (SlaForm, Option<SlaTable>, Intent) {
    let intent = match form.get("intent").map(String::as_str) {
        Some("preview") => Intent::Preview,
        Some("add") => Intent::Add(
            form.get("add_category")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
        ),
        _ => Intent::Save,
    };
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut categories: Vec<CategoryForm> = Vec::new();
    let mut table = SlaTable {
        opinion: Default::default(),
        suggestion: current.suggestion.clone(),
    };
    let mut valid = true;
    for i in 0..MAX_CATEGORIES {
        let Some(key) = form.get(&format!("o{i}_key")).map(|k| k.trim().to_owned()) else {
            break;
        };
        if categories.iter().any(|c| c.key == key)
            || !(known_category(&key) || current.opinion.contains_key(&key))
        {
            continue;
        }
        let remove = key != DEFAULT_CATEGORY && form.contains_key(&format!("o{i}_remove"));
        // Start from the saved entry (or the default one) and overwrite with what was typed.
        let base = current
            .opinion
            .get(&key)
            .or_else(|| current.opinion.get(DEFAULT_CATEGORY))
            .cloned()
            .unwrap_or(OpinionSlaByUrgency {
                normal: OpinionSla::NORMAL,
                urgent: OpinionSla::URGENT,
            });
        let mut c = category_form(categories.len(), &key, &base, remove);
        // Inputs keep the index they were posted under.
        let posted = format!("o{i}");
        let mut entry = base;
        for u in &mut c.urgencies {
            let sla = if u.code == "urgent" {
                &mut entry.urgent
            } else {
                &mut entry.normal
            };
            for f in &mut u.fields {
                let mut typed = f.clone();
                typed.name = format!("{posted}_{}_{}", u.code, f.key);
                let v = read_value(form, &mut typed);
                f.amount = typed.amount;
                f.unit = typed.unit;
                f.error = typed.error;
                match v {
                    Some(v) => {
                        opinion_set(sla, f.key, v);
                        f.meaning = opinion_meaning(f.key, v);
                    }
                    // A row being deleted need not be filled in correctly.
                    None if remove => f.error = None,
                    None => {
                        valid = false;
                        f.meaning = String::new();
                    }
                }
            }
        }
        if !remove {
            table.opinion.insert(key.clone(), entry);
        }
        categories.push(c);
    }
    // The default entry cannot be dropped from the form.
    if !categories.iter().any(|c| c.key == DEFAULT_CATEGORY) {
        let base = current
            .opinion
            .get(DEFAULT_CATEGORY)
            .cloned()
            .unwrap_or(OpinionSlaByUrgency {
                normal: OpinionSla::NORMAL,
                urgent: OpinionSla::URGENT,
            });
        categories.insert(0, category_form(0, DEFAULT_CATEGORY, &base, false));
        table.opinion.insert(DEFAULT_CATEGORY.to_owned(), base);
    }
    let mut suggestion = Vec::new();
    for spec in SUGGESTION_FIELDS {
        let v0 = suggestion_get(&current.suggestion, spec.0);
        let mut f = field(format!("s_{}", spec.0), *spec, v0, String::new());
        match read_value(form, &mut f) {
            Some(v) => {
                suggestion_set(&mut table.suggestion, spec.0, v);
                f.meaning = suggestion_meaning(spec.0, v);
            }
            None => valid = false,
        }
        suggestion.push(f);
    }
    let mut out = SlaForm {
        categories,
        suggestion,
        units: UNITS,
        ..Default::default()
    };
    // Ranges: the table's own check, one field at a time; a field it refuses gets the message
    // and the default value in its place, and the check runs again for the next one.
    let mut flagged: Vec<String> = Vec::new();
    loop {
        match table.check() {
            Ok(()) => break,
            Err(SlaError::OutOfRange { field, hint, .. }) => {
                if flagged.contains(&field) {
                    break;
                }
                valid = false;
                out.flag(&field, hint);
                use_fallback(&mut table, &field);
                flagged.push(field);
            }
            Err(e) => {
                valid = false;
                errors.push((String::new(), e.to_string()));
                break;
            }
        }
    }
    // Renumber the inputs in the order shown, then list the problems with links to them.
    let renumbered: Vec<CategoryForm> = out
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| renumber(c, i))
        .collect();
    out.categories = renumbered;
    for c in &mut out.categories {
        for u in &mut c.urgencies {
            u.summary = summary_of(&c.key, u.label, &u.fields);
            for f in &u.fields {
                if let Some(e) = &f.error {
                    errors.push((
                        format!("{}_n", f.name),
                        format!("{}·{}·{}：{e}", category_short(&c.key), u.label, f.label),
                    ));
                }
            }
        }
    }
    for f in &out.suggestion {
        if let Some(e) = &f.error {
            errors.push((
                format!("{}_n", f.name),
                format!("闭会建议·{}：{e}", f.label),
            ));
        }
    }
    out.errors = errors;
    if let Intent::Add(key) = &intent {
        if key.is_empty() {
            out.errors.push((
                "add_category".into(),
                "请先在“添加分类”中选择要单独设置期限的分类".into(),
            ));
        } else if !known_category(key) {
            out.errors
                .push(("add_category".into(), "请选择列表中的分类".into()));
        } else if !out.categories.iter().any(|c| &c.key == key) {
            // A new category starts as a copy of the default row as typed.
            let base =
                table
                    .opinion
                    .get(DEFAULT_CATEGORY)
                    .cloned()
                    .unwrap_or(OpinionSlaByUrgency {
                        normal: OpinionSla::NORMAL,
                        urgent: OpinionSla::URGENT,
                    });
            let i = out.categories.len();
            out.categories.push(category_form(i, key, &base, false));
            table.opinion.insert(key.clone(), base);
        }
    }
    out.fill_addable();
    (out, valid.then_some(table), intent)
}

impl SlaForm {
    /// The field of the form a path of `SlaTable::check` names gets `hint`.
    fn flag(&mut self, path: &str, hint: &str) {
        let mut parts = path.split('.');
        match parts.next() {
            Some("opinion") => {
                let rest: Vec<&str> = parts.collect();
                if let [category @ .., urgency, key] = rest.as_slice() {
                    let category = category.join(".");
                    if let Some(f) = self
                        .categories
                        .iter_mut()
                        .filter(|c| c.key == category)
                        .flat_map(|c| c.urgencies.iter_mut())
                        .filter(|u| u.code == *urgency)
                        .flat_map(|u| u.fields.iter_mut())
                        .find(|f| f.key == *key)
                    {
                        f.error = Some(hint.to_owned());
                        f.meaning = String::new();
                    }
                }
            }
            Some("suggestion") => {
                let key = parts.next().unwrap_or_default();
                if let Some(f) = self.suggestion.iter_mut().find(|f| f.key == key) {
                    f.error = Some(hint.to_owned());
                    f.meaning = String::new();
                }
            }
            _ => {}
        }
    }
}

/// Puts a sound value where the check refused one, so that it can go on to the next field.
fn use_fallback(t: &mut SlaTable, path: &str) {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["opinion", category @ .., urgency, key] => {
            let category = category.join(".");
            let (fallback, sla) = match t.opinion.get_mut(&category) {
                Some(e) if *urgency == "urgent" => (&OpinionSla::URGENT, &mut e.urgent),
                Some(e) => (&OpinionSla::NORMAL, &mut e.normal),
                None => return,
            };
            opinion_set(sla, key, opinion_get(fallback, key));
        }
        ["suggestion", key] => {
            suggestion_set(
                &mut t.suggestion,
                key,
                suggestion_get(&SuggestionSla::DEFAULT, key),
            );
        }
        _ => {}
    }
}

/// The category's inputs named after its position `i` on the page.
fn renumber(c: &CategoryForm, i: usize) -> CategoryForm {
    let prefix = format!("o{i}");
    let mut c = c.clone();
    for u in &mut c.urgencies {
        for f in &mut u.fields {
            f.name = format!("{prefix}_{}_{}", u.code, f.key);
        }
    }
    c.prefix = prefix;
    c
}

/// The differences between two tables in sentences.
pub fn changes(before: &SlaTable, after: &SlaTable) -> Vec<String> {
    let mut out = Vec::new();
    let mut keys: Vec<&String> = before.opinion.keys().chain(after.opinion.keys()).collect();
    keys.sort_by_key(|k| {
        (
            match k.as_str() {
                DEFAULT_CATEGORY => 0,
                CONSULT_CATEGORY => 1,
                _ => 2,
            },
            k.to_string(),
        )
    });
    keys.dedup();
    let fallback = OpinionSlaByUrgency {
        normal: OpinionSla::NORMAL,
        urgent: OpinionSla::URGENT,
    };
    for k in keys {
        let name = category_short(k);
        let (old, new) = match (before.opinion.get(k), after.opinion.get(k)) {
            (Some(_), None) => {
                out.push(format!("删除“{name}”的单独期限，今后按默认期限计算"));
                continue;
            }
            (None, Some(n)) => {
                out.push(format!("新增“{name}”的单独期限"));
                (before.opinion.get(DEFAULT_CATEGORY).unwrap_or(&fallback), n)
            }
            (Some(o), Some(n)) => (o, n),
            (None, None) => continue,
        };
        for (code, label) in URGENCIES {
            let (o, n) = if *code == "urgent" {
                (&old.urgent, &new.urgent)
            } else {
                (&old.normal, &new.normal)
            };
            for (key, flabel, _) in OPINION_FIELDS {
                let (a, b) = (opinion_get(o, key), opinion_get(n, key));
                if a != b {
                    out.push(format!(
                        "{name}·{label}·{flabel}：{} → {}（{}）",
                        a.label(),
                        b.label(),
                        opinion_meaning(key, b)
                    ));
                }
            }
        }
    }
    for (key, flabel, _) in SUGGESTION_FIELDS {
        let (a, b) = (
            suggestion_get(&before.suggestion, key),
            suggestion_get(&after.suggestion, key),
        );
        if a != b {
            out.push(format!(
                "闭会建议·{flabel}：{} → {}（{}）",
                a.label(),
                b.label(),
                suggestion_meaning(key, b)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a browser posts for `f` unchanged: every category's key and every field.
    fn posted(f: &SlaForm) -> HashMap<String, String> {
        let mut m = HashMap::new();
        let mut put = |field: &FieldForm| {
            m.insert(format!("{}_n", field.name), field.amount.clone());
            if !field.count {
                m.insert(format!("{}_u", field.name), field.unit.clone());
            }
        };
        for c in &f.categories {
            for u in &c.urgencies {
                u.fields.iter().for_each(&mut put);
            }
        }
        f.suggestion.iter().for_each(&mut put);
        for c in &f.categories {
            m.insert(format!("{}_key", c.prefix), c.key.clone());
        }
        m
    }

    #[test]
    fn the_form_of_a_table_reads_back_as_the_same_table() {
        let t = SlaTable::default();
        let f = SlaForm::of_table(&t);
        assert_eq!(f.categories[0].key, DEFAULT_CATEGORY, "default first");
        let (out, table, intent) = read_form(&posted(&f), &t);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert!(matches!(intent, Intent::Save));
        assert_eq!(table, Some(t.clone()));
        assert!(changes(&t, &table.unwrap()).is_empty());
    }

    #[test]
    fn a_wrong_number_or_a_missing_unit_is_named_at_its_field_and_kept() {
        let t = SlaTable::default();
        let mut m = posted(&SlaForm::of_table(&t));
        m.insert("o0_normal_reply_n".into(), "十五".into());
        m.insert("o0_urgent_accept_u".into(), String::new());
        let (out, table, _) = read_form(&m, &t);
        assert!(table.is_none(), "nothing to save");
        let reply = out.categories[0].urgencies[0]
            .fields
            .iter()
            .find(|f| f.key == "reply")
            .unwrap();
        assert_eq!(reply.amount, "十五", "what was typed is kept");
        assert_eq!(
            reply.error.as_deref(),
            Some("“十五”不是有效的数字，请填写 0 或正整数（不带小数点和单位）")
        );
        assert!(
            out.errors.contains(&(
                "o0_normal_reply_n".to_owned(),
                "默认·一般·答复期限：“十五”不是有效的数字，请填写 0 或正整数（不带小数点和单位）"
                    .to_owned()
            ))
        );
        assert!(
            out.errors
                .iter()
                .any(|(a, m)| a == "o0_urgent_accept_n"
                    && m.ends_with("请选择单位（工作日、日或个月）")),
            "{:?}",
            out.errors
        );
        assert!(out.categories[0].urgencies[0].summary.is_empty());
    }

    #[test]
    fn a_value_out_of_range_gets_the_tables_own_hint() {
        let t = SlaTable::default();
        let mut m = posted(&SlaForm::of_table(&t));
        m.insert("o0_normal_reply_n".into(), "0".into());
        let (out, table, _) = read_form(&m, &t);
        assert!(table.is_none());
        let (_, message) = out
            .errors
            .iter()
            .find(|(a, _)| a == "o0_normal_reply_n")
            .expect("the reply field is flagged");
        assert!(message.contains("该期限不能为0"), "{message}");
    }

    #[test]
    fn a_change_reads_as_a_sentence_and_a_category_row_is_added_and_removed() {
        let t = SlaTable::default();
        let mut m = posted(&SlaForm::of_table(&t));
        m.insert("o0_normal_reply_n".into(), "10".into());
        m.insert("o0_normal_reply_u".into(), "working_days".into());
        let (_, table, _) = read_form(&m, &t);
        let changed = changes(&t, &table.clone().unwrap());
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert!(
            changed[0].starts_with("默认·一般·答复期限：")
                && changed[0].contains("交办后10个工作日内答复"),
            "{changed:?}"
        );

        // “添加分类” without a choice is refused at the picker; with one, a row like the default.
        m.insert("intent".into(), "add".into());
        let (out, _, _) = read_form(&m, &t);
        assert_eq!(out.errors.last().unwrap().0, "add_category");
        m.insert("add_category".into(), "环境保护".into());
        let (out, table, intent) = read_form(&m, &t);
        assert!(matches!(intent, Intent::Add(ref k) if k == "环境保护"));
        assert!(out.categories.iter().any(|c| c.key == "环境保护"));
        assert!(table.unwrap().opinion.contains_key("环境保护"));
        assert!(!out.addable.iter().any(|(k, _)| k == "环境保护"));

        // The row saved, then ticked for removal: gone from the table, said in the changes.
        let mut with_row = t.clone();
        with_row
            .opinion
            .insert("环境保护".into(), t.opinion[DEFAULT_CATEGORY].clone());
        let mut m = posted(&SlaForm::of_table(&with_row));
        let prefix = SlaForm::of_table(&with_row)
            .categories
            .iter()
            .find(|c| c.key == "环境保护")
            .unwrap()
            .prefix
            .clone();
        m.insert(format!("{prefix}_remove"), "1".into());
        let (_, table, _) = read_form(&m, &with_row);
        let table = table.unwrap();
        assert!(!table.opinion.contains_key("环境保护"));
        assert_eq!(
            changes(&with_row, &table),
            ["删除“环境保护”的单独期限，今后按默认期限计算"]
        );
    }

    #[test]
    fn unknown_categories_and_the_default_rows_removal_are_ignored() {
        let t = SlaTable::default();
        let mut m = posted(&SlaForm::of_table(&t));
        m.insert("o0_remove".into(), "1".into());
        let n = SlaForm::of_table(&t).categories.len();
        m.insert(format!("o{n}_key"), "not-a-category".into());
        let (out, table, _) = read_form(&m, &t);
        assert_eq!(table, Some(t));
        assert!(!out.categories.iter().any(|c| c.key == "not-a-category"));
    }
}
