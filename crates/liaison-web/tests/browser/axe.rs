//! Accessibility checks with axe-core (from npm, see `scripts/install-browser-deps.sh`), run in
//! the page through WebDriver.
//!
//! WebDriver scripts run through the DevTools protocol, which Chromium does not hold to the
//! page's Content-Security-Policy (`script-src 'self'`), so axe can be injected without
//! loosening the policy the app sends; the accessibility test asserts that this holds.

use crate::harness::{Page, prerequisite, workspace_root};
use serde_json::{Value, json};
use std::fmt;
use std::path::PathBuf;

/// The WCAG 2.0/2.1 A and AA rules: the level Chinese government sites are held to
/// (GB/T 37668-2019 follows WCAG 2.0 AA).
const TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// Where axe-core is: `AXE_CORE_JS`, else where the install script puts it.
fn axe_path() -> PathBuf {
    match std::env::var_os("AXE_CORE_JS") {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join("target/axe/node_modules/axe-core/axe.min.js"),
    }
}

/// The source of axe-core; `None` (skip) when it is not installed and skipping is allowed.
pub fn axe_source() -> Option<String> {
    let path = axe_path();
    if !prerequisite(path.exists(), &format!("axe-core ({})", path.display())) {
        return None;
    }
    Some(std::fs::read_to_string(&path).expect("read axe-core"))
}

/// One rule that failed on a page, with the elements that fail it.
pub struct Violation {
    /// Page path.
    pub page: String,
    /// Viewport width.
    pub width: u32,
    /// axe rule id, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    /// What the rule asks for.
    pub help: String,
    /// CSS selectors of the failing elements, with axe's summary of why each fails.
    pub nodes: Vec<(String, String)>,
}

impl Violation {
    /// Whether this must fail the test.
    pub fn is_blocking(&self) -> bool {
        self.impact == "serious" || self.impact == "critical"
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "[{}] {} at {}px: {} — {}",
            self.impact, self.page, self.width, self.id, self.help
        )?;
        for (target, summary) in &self.nodes {
            writeln!(f, "    {target}: {}", summary.replace('\n', " / "))?;
        }
        Ok(())
    }
}

/// Injects axe into the page shown now and returns its violations.
pub async fn check(page: &Page, source: &str, path: &str, width: u32) -> Vec<Violation> {
    page.client
        .execute(source, vec![])
        .await
        .unwrap_or_else(|e| panic!("inject axe-core into {path}: {e}"));
    assert_eq!(
        page.eval("typeof window.axe").await,
        json!("object"),
        "axe-core did not load into {path} (blocked by the page's CSP?)"
    );
    let result = page
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
               .then(r => done({violations: r.violations.map(v => ({
                   id: v.id, impact: v.impact || '', help: v.help,
                   nodes: v.nodes.map(n => [n.target.join(' '), n.failureSummary || ''])}))}))
               .catch(e => done({error: String(e)}));",
            vec![json!(TAGS)],
        )
        .await
        .unwrap_or_else(|e| panic!("run axe-core on {path}: {e}"));
    if let Some(e) = result.get("error") {
        panic!("axe-core failed on {path}: {e}");
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    result["violations"]
        .as_array()
        .expect("violations array")
        .iter()
        .map(|v| Violation {
            page: path.to_owned(),
            width,
            id: text(&v["id"]),
            impact: text(&v["impact"]),
            help: text(&v["help"]),
            nodes: v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| (text(&n[0]), text(&n[1])))
                .collect(),
        })
        .collect()
}
