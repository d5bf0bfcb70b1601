//! Image references as docker normalises them: `alpine` is `docker.io/library/alpine:latest`,
//! `host:port/repo:tag` names another registry, `name@sha256:<hex>` pins a digest. The grammar
//! is distribution's (`reference.ParseNormalizedNamed`), with docker 20.10's choice that a first
//! part with capitals is not a registry host (so `UPPER/case` is refused, not looked up).
use std::fmt;

use super::error::ImageError;

pub(crate) const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";
const MAX_NAME: usize = 255;
const MAX_TAG: usize = 128;

/// A parsed, normalised reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// Why a reference is malformed, in docker's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefProblem {
    Format,
    Uppercase,
    TooLong,
    HexName,
    Digest,
}

impl fmt::Display for RefProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefProblem::Format => "invalid reference format",
            RefProblem::Uppercase => "invalid reference format: repository name must be lowercase",
            RefProblem::TooLong => "repository name must not be more than 255 characters",
            RefProblem::HexName => {
                "cannot specify 64-byte hexadecimal strings as a repository name"
            }
            RefProblem::Digest => "invalid checksum digest format",
        })
    }
}

impl Reference {
    /// Parses what a user typed. Errors name the reference (shortened if it is long).
    pub fn parse(s: &str) -> Result<Self, ImageError> {
        parse(s).map_err(|problem| ImageError::InvalidReference {
            reference: super::error::shorten(s),
            problem,
        })
    }

    /// `docker.io`, `localhost:5000`, ...
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository inside the registry: `library/alpine`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag; `latest` when there is neither a tag nor a digest.
    pub fn tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some(DEFAULT_TAG),
            (None, Some(_)) => None,
        }
    }

    /// `sha256:<hex>` if the reference pins one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// `docker.io/library/alpine`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository as docker shows it: `alpine`, `user/app`, `localhost:5000/app`.
    pub fn familiar_repository(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            let path = self
                .path
                .strip_prefix(OFFICIAL_PREFIX)
                .unwrap_or(&self.path);
            path.to_string()
        } else {
            self.repository()
        }
    }

    /// The same reference without its tag or digest, tagged `tag`.
    pub fn with_tag(&self, tag: &str) -> Self {
        Self {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }
}

/// The full form: `docker.io/library/alpine:latest`, `host/repo@sha256:...`.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(tag) = self.tag() {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn parse(s: &str) -> Result<Reference, RefProblem> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RefProblem::HexName);
    }
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(parse_digest(d)?)),
        None => (s, None),
    };
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (&name_tag[..at], Some(&name_tag[at + 1..]))
        }
        None => (name_tag, None),
    };
    if let Some(tag) = tag {
        if !valid_tag(tag) {
            return Err(RefProblem::Format);
        }
    }
    let (domain, path) = split_domain(name);
    if path.to_lowercase() != path {
        return Err(RefProblem::Uppercase);
    }
    if !valid_domain(&domain) || path.is_empty() || !path.split('/').all(valid_component) {
        return Err(RefProblem::Format);
    }
    if domain.len() + 1 + path.len() > MAX_NAME {
        return Err(RefProblem::TooLong);
    }
    Ok(Reference {
        domain,
        path,
        tag: tag.map(str::to_string),
        digest,
    })
}

/// Docker's split: the first part is a registry host if it has a `.` or `:` or is `localhost`.
fn split_domain(name: &str) -> (String, String) {
    let (domain, rest) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first, rest.to_string())
        }
        _ => (DEFAULT_DOMAIN, name.to_string()),
    };
    let domain = if domain == LEGACY_DOMAIN {
        DEFAULT_DOMAIN
    } else {
        domain
    };
    let path = if domain == DEFAULT_DOMAIN && !rest.contains('/') {
        format!("{OFFICIAL_PREFIX}{rest}")
    } else {
        rest
    };
    (domain.to_string(), path)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Host labels of `[A-Za-z0-9-]` (not starting or ending with `-`) joined by `.`, or `[ipv6]`,
/// then an optional `:port`.
fn valid_domain(domain: &str) -> bool {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, after)) if v6.parse::<std::net::Ipv6Addr>().is_ok() => match after {
                "" => return true,
                p => ("v6", p.strip_prefix(':').map(Some).unwrap_or(Some(""))),
            },
            _ => return false,
        }
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (domain, None),
        }
    };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host.split('.').all(label) && port_ok
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    tag.len() <= MAX_TAG
        && tag.as_bytes().first().is_some_and(|&b| word(b))
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-')
}

/// `sha256:<64 lowercase hex>` (the one algorithm den can verify).
fn parse_digest(d: &str) -> Result<String, RefProblem> {
    match d.split_once(':') {
        Some(("sha256", hex))
            if hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(d.to_string())
        }
        _ => Err(RefProblem::Digest),
    }
}

/// Whether two names given for images mean the same one: equal as typed, or equal once both
/// are normalised.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a == b
        || match (parse(a), parse(b)) {
            (Ok(a), Ok(b)) => a == b || a.to_string() == b.to_string(),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        parse(s)
            .map(|r| r.to_string())
            .unwrap_or_else(|p| format!("ERR {p}"))
    }

    #[test]
    fn short_names_are_normalised_like_docker() {
        assert_eq!(full("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(full("alpine:3.19"), "docker.io/library/alpine:3.19");
        assert_eq!(full("user/app"), "docker.io/user/app:latest");
        assert_eq!(
            full("index.docker.io/nginx"),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(full("localhost:5000/a/b:v1"), "localhost:5000/a/b:v1");
        assert_eq!(full("10.0.0.1:5000/app"), "10.0.0.1:5000/app:latest");
        assert_eq!(full("[::1]:5000/app:t"), "[::1]:5000/app:t");
        assert_eq!(
            full("a-b__c---e/x.y_z:T.1-x"),
            "docker.io/a-b__c---e/x.y_z:T.1-x"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            full(&format!("app@{d}")),
            format!("docker.io/library/app@{d}")
        );
        assert_eq!(
            full(&format!("app:v@{d}")),
            format!("docker.io/library/app:v@{d}")
        );
        let r = parse("localhost:5000/a/b").unwrap();
        assert_eq!((r.domain(), r.path()), ("localhost:5000", "a/b"));
        assert_eq!(
            parse("docker.io/library/x:1")
                .unwrap()
                .familiar_repository(),
            "x"
        );
    }

    #[test]
    fn malformed_references_are_refused_in_dockers_words() {
        let err = |s: &str| parse(s).unwrap_err();
        assert_eq!(err("UPPER/case"), RefProblem::Uppercase);
        assert_eq!(err("Alpine"), RefProblem::Uppercase);
        assert_eq!(err("a::b"), RefProblem::Format);
        assert_eq!(err(""), RefProblem::Format);
        assert_eq!(err("a/"), RefProblem::Format);
        assert_eq!(err("-a"), RefProblem::Format);
        assert_eq!(err("a..b"), RefProblem::Format);
        assert_eq!(err("a:-x"), RefProblem::Format);
        assert_eq!(err(&format!("a:{}", "t".repeat(129))), RefProblem::Format);
        assert_eq!(err(&"a".repeat(256)), RefProblem::TooLong);
        assert_eq!(err(&"ab".repeat(32)), RefProblem::HexName);
        assert_eq!(err("a@sha256:abc"), RefProblem::Digest);
        assert_eq!(err("h:x/app"), RefProblem::Format);
    }

    #[test]
    fn names_match_as_normalised() {
        assert!(same_name("t", "docker.io/library/t:latest"));
        assert!(same_name("library/t:latest", "t"));
        assert!(!same_name("t:1", "t"));
        assert!(!same_name("other/t", "t"));
    }
}
