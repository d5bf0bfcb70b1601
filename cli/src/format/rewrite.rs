//! Rewrites a Go template before gtmpl parses it, so that it prints and ranges as Go's
//! text/template does (see `goprint.rs`):
//! - a printing action `{{PIPELINE}}` becomes `{{PIPELINE | denPrintAction}}`;
//! - `{{range PIPELINE}}` and `{{range $v := PIPELINE}}` range over `PIPELINE | denRangeValues`
//!   (a map's values in sorted key order);
//! - `{{range $k, $v := PIPELINE}}` becomes
//!   `{{$m := PIPELINE}}{{$ks := $m | denRangeKeys}}{{range $i, $v := $m | denRangeValues}}{{$k := index $ks $i}}`.
//!
//! Control actions (`if`, `with`, `else`, `end`, `define`, `template`, `block`), declarations
//! (`$x := …`) and comments are kept as they are. Only actions are looked at: text, and strings,
//! raw strings and characters inside actions, are copied unchanged. A template this cannot split
//! (an unclosed action) is handed to gtmpl unchanged, so that gtmpl names the error.

use super::goprint::{PRINT_ACTION, RANGE_KEYS, RANGE_VALUES};

const KEYWORDS: &[&str] = &[
    "if", "else", "end", "with", "define", "template", "block", "break", "continue",
];

pub fn rewrite(text: &str) -> String {
    rewrite_actions(text).unwrap_or_else(|| text.to_string())
}

fn rewrite_actions(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    let mut ranges = 0;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = action_end(after)?;
        let action = Action::split(&after[..close]);
        out.push_str(&action.rewritten(&mut ranges));
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// Where the `}}` that closes an action starting at `s` (just past its `{{`) is.
fn action_end(s: &str) -> Option<usize> {
    let body = s.strip_prefix("- ").unwrap_or(s);
    let skipped = s.len() - body.len();
    if body.trim_start().starts_with("/*") {
        let start = skipped + body.find("/*")? + 2;
        let end = start + s[start..].find("*/")? + 2;
        let tail = &s[end..];
        let trimmed = tail.strip_prefix(" -").unwrap_or(tail);
        return trimmed
            .starts_with("}}")
            .then_some(end + (tail.len() - trimmed.len()));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => i = quoted_end(bytes, i)?,
            b'`' => i += 1 + s[i + 1..].find('`')?,
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the quote that closes the string or character opened at `start`.
fn quoted_end(bytes: &[u8], start: usize) -> Option<usize> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'\n' => return None,
            b if b == quote => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// One action's text between `{{` and `}}`, its trim markers apart.
struct Action<'a> {
    left_trim: &'a str,
    body: &'a str,
    right_trim: &'a str,
}

impl<'a> Action<'a> {
    fn split(inner: &'a str) -> Action<'a> {
        let (left_trim, rest) = match inner.strip_prefix("- ") {
            Some(r) => ("- ", r),
            None => ("", inner),
        };
        let (body, right_trim) = match rest.strip_suffix(" -") {
            Some(b) => (b, " -"),
            None => (rest, ""),
        };
        Action {
            left_trim,
            body,
            right_trim,
        }
    }

    fn wrap(&self, left: &str, body: &str, right: &str) -> String {
        format!("{{{{{left}{body}{right}}}}}")
    }

    fn rewritten(&self, ranges: &mut usize) -> String {
        let body = self.body.trim();
        let (l, r) = (self.left_trim, self.right_trim);
        let word = first_word(body);
        if body.is_empty() || body.starts_with("/*") || declared_vars(body).is_some() {
            return self.wrap(l, self.body, r);
        }
        if word == "range" {
            return self.range(&body["range".len()..], ranges);
        }
        if KEYWORDS.contains(&word) {
            return self.wrap(l, self.body, r);
        }
        self.wrap(l, &format!("{body} | {PRINT_ACTION}"), r)
    }

    fn range(&self, rest: &str, ranges: &mut usize) -> String {
        let (l, r) = (self.left_trim, self.right_trim);
        let rest = rest.trim();
        match declared_vars(rest) {
            None => self.wrap(l, &format!("range {rest} | {RANGE_VALUES}"), r),
            Some((vars, pipe)) if vars.len() == 1 => self.wrap(
                l,
                &format!("range {} := {pipe} | {RANGE_VALUES}", vars[0]),
                r,
            ),
            Some((vars, pipe)) => {
                *ranges += 1;
                let n = *ranges;
                let (m, ks, i) = (
                    format!("$denRangeMap{n}"),
                    format!("$denRangeKeys{n}"),
                    format!("$denRangeIndex{n}"),
                );
                [
                    self.wrap(l, &format!("{m} := {pipe}"), ""),
                    self.wrap("", &format!("{ks} := {m} | {RANGE_KEYS}"), ""),
                    self.wrap(
                        "",
                        &format!("range {i}, {} := {m} | {RANGE_VALUES}", vars[1]),
                        "",
                    ),
                    self.wrap("", &format!("{} := index {ks} {i}", vars[0]), r),
                ]
                .concat()
            }
        }
    }
}

fn first_word(body: &str) -> &str {
    let end = body
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    &body[..end]
}

/// `$a := PIPE` or `$a, $b := PIPE`: the variables and the pipeline.
fn declared_vars(body: &str) -> Option<(Vec<&str>, &str)> {
    let (head, pipe) = body.split_once(":=")?;
    let vars: Vec<&str> = head.split(',').map(str::trim).collect();
    let is_var = |v: &&str| {
        v.strip_prefix('$')
            .is_some_and(|n| n.chars().all(|c| c.is_alphanumeric() || c == '_'))
    };
    (vars.len() <= 2 && vars.iter().all(is_var)).then(|| (vars, pipe.trim()))
}
