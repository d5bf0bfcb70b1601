//! The flags `network ls` and `volume ls` share with docker's: `-q`, `--format`, `--filter`.

use anyhow::Result;
use serde_json::Value;

use crate::format::{self, Format};

#[derive(clap::Args)]
pub struct LsArgs {
    /// Only names (volumes) or ids (networks).
    #[arg(short = 'q', long)]
    quiet: bool,
    /// `table TEMPLATE`, a Go template over each row's fields, or `json`.
    #[arg(long)]
    format: Option<String>,
    /// Filter: name=, id=, driver=, scope=, label=KEY[=VALUE]; networks also type=custom|builtin,
    /// volumes also dangling=true|false (mounted by no container).
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("bad format of filter (expected name=value): {0}")]
    NoValue(String),
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    #[error("invalid filter 'dangling={0}': use true or false")]
    BadDangling(String),
}

impl LsArgs {
    /// Whether a `--filter KEY=…` was given.
    pub fn filters_on(&self, key: &str) -> bool {
        self.filter
            .iter()
            .any(|f| f.split_once('=').is_some_and(|(k, _)| k.trim() == key))
    }
}

/// Prints `rows` (each an object of text fields) as `a` asks; `quiet_key` is the field `-q` prints.
pub fn print(
    a: &LsArgs,
    header: &str,
    table: &str,
    mut rows: Vec<Value>,
    quiet_key: &str,
) -> Result<i32> {
    let filters = parse(&a.filter)?;
    // Only the rows that know it (volumes) take dangling=, as docker's network ls takes no such key.
    if filters.iter().any(|(k, _)| k == "dangling")
        && rows.iter().any(|r| r.get("Dangling").is_none())
    {
        return Err(FilterError::UnknownKey("dangling".into()).into());
    }
    rows.retain(|r| {
        // One key's values are alternatives; different keys must all match.
        let keys: std::collections::BTreeSet<&str> =
            filters.iter().map(|(k, _)| k.as_str()).collect();
        keys.iter().all(|k| {
            filters
                .iter()
                .filter(|(fk, _)| fk == k)
                .any(|(_, v)| matches(r, k, v))
        })
    });
    if a.quiet {
        for r in &rows {
            println!("{}", r[quiet_key].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    let header: Value = serde_json::from_str(header).expect("header is JSON");
    let f = Format::parse(a.format.as_deref(), table);
    print!("{}", format::list(&f, &header, &rows)?);
    Ok(0)
}

const KEYS: &[&str] = &["name", "id", "driver", "scope", "label", "type", "dangling"];

fn parse(specs: &[String]) -> Result<Vec<(String, String)>, FilterError> {
    specs
        .iter()
        .map(|s| {
            let (k, v) = s
                .split_once('=')
                .ok_or_else(|| FilterError::NoValue(s.clone()))?;
            let k = k.trim().to_lowercase();
            if !KEYS.contains(&k.as_str()) {
                return Err(FilterError::UnknownKey(k));
            }
            if k == "dangling" && !matches!(v, "true" | "false" | "1" | "0") {
                return Err(FilterError::BadDangling(v.into()));
            }
            Ok((k, v.to_string()))
        })
        .collect()
}

fn matches(r: &Value, key: &str, v: &str) -> bool {
    let field = |name: &str| r[name].as_str().unwrap_or_default().to_string();
    match key {
        "name" => field("Name").contains(v),
        "id" => field("FullID").starts_with(v) || field("ID").starts_with(v) || field("Name") == v,
        "driver" => field("Driver") == v,
        "scope" => field("Scope") == v,
        "dangling" => field("Dangling") == (matches!(v, "true" | "1")).to_string(),
        "type" => match v {
            "builtin" => field("Name") == "bridge",
            "custom" => field("Name") != "bridge",
            _ => false,
        },
        "label" => field("Labels")
            .split(',')
            .any(|l| l == v || l.split_once('=').is_some_and(|(k, _)| k == v)),
        _ => false,
    }
}
