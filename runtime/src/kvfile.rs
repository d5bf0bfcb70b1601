//! docker's `--env-file` and `--label-file` format: one `KEY=VALUE` a line, the value taken as it
//! is (no quotes removed, no trimming at its end); leading whitespace and empty lines and lines
//! starting with `#` skipped; a `KEY` alone takes the host's value (`--env-file`, and is left out
//! where the host has none) or an empty one (`--label-file`).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KvFileError {
    #[error("open {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} contains invalid utf8 bytes at line {line}", path.display())]
    Utf8 { path: PathBuf, line: usize },
    #[error("variable '{0}' contains whitespaces")]
    Whitespace(String),
    #[error("no variable name on line '{0}'")]
    NoName(String),
    #[error("invalid label {0:?}: the key is empty")]
    EmptyLabelKey(String),
}

/// What a bare `KEY` line means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bare {
    /// `--env-file`: the host's value, or nothing if the host has none.
    HostEnv,
    /// `--label-file`: the key with an empty value.
    Empty,
}

/// The `KEY=VALUE` entries of the files at `paths`, in order.
pub fn read(paths: &[PathBuf], bare: Bare) -> Result<Vec<String>, KvFileError> {
    let mut out = Vec::new();
    for path in paths {
        let body = fs::read(path).map_err(|source| KvFileError::Read {
            path: path.clone(),
            source,
        })?;
        out.extend(parse(path, &body, bare)?);
    }
    Ok(out)
}

fn parse(path: &Path, body: &[u8], bare: Bare) -> Result<Vec<String>, KvFileError> {
    let mut out = Vec::new();
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line = std::str::from_utf8(raw).map_err(|_| KvFileError::Utf8 {
            path: path.to_path_buf(),
            line: i + 1,
        })?;
        let line = line.strip_suffix('\r').unwrap_or(line).trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        if key.is_empty() {
            return Err(KvFileError::NoName(line.to_string()));
        }
        if key.contains(char::is_whitespace) {
            return Err(KvFileError::Whitespace(key.to_string()));
        }
        match (value, bare) {
            (Some(v), _) => out.push(format!("{key}={v}")),
            (None, Bare::HostEnv) => {
                if let Ok(v) = std::env::var(key) {
                    out.push(format!("{key}={v}"));
                }
            }
            (None, Bare::Empty) => out.push(format!("{key}=")),
        }
    }
    Ok(out)
}

/// `-l`/`--label-file` entries as docker's Labels map: `KEY=VALUE`, or `KEY` (empty value); later
/// entries win.
pub fn labels(entries: &[String]) -> Result<BTreeMap<String, String>, KvFileError> {
    let mut map = BTreeMap::new();
    for e in entries {
        let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
        if k.is_empty() {
            return Err(KvFileError::EmptyLabelKey(e.clone()));
        }
        map.insert(k.to_string(), v.to_string());
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_env_file_rules() {
        let path = std::env::var("PATH").expect("tests run with a PATH");
        let body = b"# comment\n\n  A=1\nB= spaced \"q\" \nPATH\nDEN_UNSET_IN_TESTS\nC=x=y\r\n";
        let got = parse(Path::new("f"), body, Bare::HostEnv).unwrap();
        assert_eq!(
            got,
            [
                "A=1".to_string(),
                "B= spaced \"q\" ".into(),
                format!("PATH={path}"),
                "C=x=y".into()
            ]
        );
        let labels = parse(Path::new("f"), b"a.b=1\nflag\n", Bare::Empty).unwrap();
        assert_eq!(labels, ["a.b=1", "flag="]);
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse(Path::new("f"), b"=v\n", Bare::HostEnv).unwrap_err();
        assert_eq!(e.to_string(), "no variable name on line '=v'");
        let e = parse(Path::new("f"), b"MY VAR=1\n", Bare::HostEnv).unwrap_err();
        assert_eq!(e.to_string(), "variable 'MY VAR' contains whitespaces");
        let e = parse(Path::new("f"), b"A=1\nB=\xff\n", Bare::HostEnv).unwrap_err();
        assert_eq!(e.to_string(), "f contains invalid utf8 bytes at line 2");
    }

    #[test]
    fn later_labels_win() {
        let m = labels(&["a=1".into(), "b".into(), "a=2".into()]).unwrap();
        assert_eq!(m.get("a").map(String::as_str), Some("2"));
        assert_eq!(m.get("b").map(String::as_str), Some(""));
        assert!(labels(&["=x".into()]).is_err());
    }
}
