//! docker's `--format`: Go templates (the `gtmpl` crate) over the serde values that the runtime and
//! netcfg hand the CLI, with docker's extra functions (`json`, `join`, `upper`, `lower`, `title`,
//! `split`, `truncate`, `pad`), its `table` prefix (a header row, then one row per item, in columns
//! as Go's tabwriter lays them out) and `json` (one JSON object per line). One module for every
//! command that lists or inspects. gtmpl prints lists and maps in Rust's form and ranges over a
//! map in hash order: each template is rewritten first (`rewrite.rs`) so that what it prints goes
//! through Go's `%v` (`goprint.rs`) and `range` visits a map's keys sorted, as Go's does.

mod funcs;
mod goprint;
mod rewrite;
mod table;

use serde_json::Value as Json;

/// What a `--format` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `table [TEMPLATE]` (or no `--format`): a header row, then rows, in columns.
    Table(String),
    /// A bare template: one rendering per item, each followed by a newline.
    Raw(String),
    /// `json`: one JSON object per line.
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("template parsing error: {0}")]
    Parse(String),
    #[error("template: {0}")]
    Exec(String),
}

impl Format {
    /// `--format SPEC`, or `default` (a table template without its prefix) when there is none.
    /// docker's escapes `\t` and `\n` stand for a tab and a newline.
    pub fn parse(spec: Option<&str>, default: &str) -> Format {
        let unescape = |s: &str| s.trim().replace("\\t", "\t").replace("\\n", "\n");
        match spec.map(str::trim) {
            None | Some("table") => Format::Table(unescape(default)),
            Some("json") => Format::Json,
            Some(s) if s.starts_with("table ") => Format::Table(unescape(&s["table ".len()..])),
            Some(s) => Format::Raw(unescape(s)),
        }
    }
}

/// A parsed template, ready for many renderings.
pub struct Template(gtmpl::Template);

impl Template {
    pub fn new(text: &str) -> Result<Template, FormatError> {
        let mut t = gtmpl::Template::default();
        t.add_funcs(funcs::DOCKER);
        t.parse(rewrite::rewrite(text))
            .map_err(|e| FormatError::Parse(e.to_string()))?;
        Ok(Template(t))
    }

    pub fn render(&self, v: &Json) -> Result<String, FormatError> {
        self.0
            .render(&gtmpl::Context::from(funcs::to_gtmpl(v)))
            .map_err(|e| FormatError::Exec(e.to_string()))
    }
}

/// The whole output of a listing: `header` maps each field a row has to its column title
/// (`{"ID": "CONTAINER ID", ...}`); every row is rendered with the same template.
pub fn list(format: &Format, header: &Json, rows: &[Json]) -> Result<String, FormatError> {
    let mut out = String::new();
    match format {
        Format::Json => {
            for r in rows {
                out.push_str(&r.to_string());
                out.push('\n');
            }
        }
        Format::Raw(text) => {
            let t = Template::new(text)?;
            for r in rows {
                out.push_str(&t.render(r)?);
                out.push('\n');
            }
        }
        Format::Table(text) => {
            let t = Template::new(text)?;
            let mut lines = vec![t.render(header)?];
            for r in rows {
                lines.push(t.render(r)?);
            }
            out = table::layout(&lines.join("\n"));
        }
    }
    Ok(out)
}

/// `inspect -f`: one rendering per object, each followed by a newline; `json` is `{{json .}}`.
/// Without a format: the objects as one indented JSON array, as docker prints them.
pub fn objects(format: Option<&str>, items: &[Json]) -> Result<String, FormatError> {
    let Some(spec) = format.filter(|s| !s.is_empty()) else {
        let mut s = serde_json::to_string_pretty(items).expect("JSON values serialise");
        s.push('\n');
        return Ok(s);
    };
    let text = if spec.trim() == "json" {
        "{{json .}}"
    } else {
        spec
    };
    let t = Template::new(text)?;
    let mut out = String::new();
    for v in items {
        out.push_str(&t.render(v)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod print_tests;
#[cfg(test)]
mod tests;
