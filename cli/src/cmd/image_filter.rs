//! `den images --filter`: dangling=, reference= (docker's glob), before=, since=, until=TIME (made
//! before it: RFC 3339, Unix seconds or a duration), label=KEY[=VALUE] (the image config's labels);
//! values of one key
//! are alternatives, different keys must all match.

use den_runtime::image::ImageSummary;

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("bad format of filter (expected name=value): {0}")]
    NoValue(String),
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    #[error("invalid filter 'dangling={0}': use true or false")]
    BadDangling(String),
    #[error("invalid filter '{key}={value}': no such image")]
    NoSuchImage { key: String, value: String },
    #[error("failed to parse value as time or duration: {0:?}")]
    BadTime(String),
}

pub fn parse_time(s: &str) -> Option<i64> {
    den_runtime::state::parse_rfc3339(s)
}

pub fn retain(images: &mut Vec<ImageSummary>, specs: &[String]) -> Result<(), FilterError> {
    let mut filters: Vec<(String, String)> = Vec::new();
    for s in specs {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| FilterError::NoValue(s.clone()))?;
        let k = k.trim().to_lowercase();
        match k.as_str() {
            "dangling" if !matches!(v, "true" | "false" | "1" | "0") => {
                return Err(FilterError::BadDangling(v.into()))
            }
            "before" | "since" if find(images, v).is_none() => {
                return Err(FilterError::NoSuchImage {
                    key: k,
                    value: v.into(),
                })
            }
            "until" if until(v).is_none() => return Err(FilterError::BadTime(v.into())),
            "dangling" | "reference" | "before" | "since" | "label" | "until" => {}
            _ => return Err(FilterError::UnknownKey(k)),
        }
        filters.push((k, v.to_string()));
    }
    let all = images.clone();
    images.retain(|i| {
        let mut keys: Vec<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
        keys.dedup();
        keys.iter().all(|k| {
            filters
                .iter()
                .filter(|(fk, _)| fk == k)
                .any(|(_, v)| one(i, k, v, &all))
        })
    });
    Ok(())
}

fn find<'a>(images: &'a [ImageSummary], key: &str) -> Option<&'a ImageSummary> {
    let id = key.trim_start_matches("sha256:");
    images.iter().find(|i| {
        let tagged = format!("{}:{}", i.repository, i.tag.as_deref().unwrap_or("latest"));
        i.name == key
            || tagged == key
            || i.repository == key
            || (id.len() >= 3 && i.id.trim_start_matches("sha256:").starts_with(id))
    })
}

/// `until=`'s time, in Unix seconds.
fn until(v: &str) -> Option<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let t = den_runtime::logs::stamp::parse_time(v, now).ok()?;
    i64::try_from(t.as_secs()).ok()
}

fn created(i: &ImageSummary) -> i64 {
    i.created.as_deref().and_then(parse_time).unwrap_or(0)
}

fn one(i: &ImageSummary, key: &str, v: &str, all: &[ImageSummary]) -> bool {
    match key {
        "dangling" => i.tag.is_none() == matches!(v, "true" | "1"),
        "reference" => {
            let tag = i.tag.as_deref().unwrap_or("latest");
            glob(v, &i.repository)
                || glob(v, &format!("{}:{tag}", i.repository))
                || glob(v, &i.name)
        }
        "before" => find(all, v).is_some_and(|r| created(i) < created(r)),
        "until" => until(v).is_some_and(|t| created(i) < t),
        "since" => find(all, v).is_some_and(|r| created(i) > created(r)),
        "label" => match v.split_once('=') {
            Some((k, want)) => i.labels.get(k).is_some_and(|have| have == want),
            None => i.labels.contains_key(v),
        },
        _ => false,
    }
}

/// docker's reference patterns: `*` stands for any run of characters but `/`.
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .take_while(|&n| !tail[..n].contains('/'))
                .filter(|&n| tail.is_char_boundary(n))
                .any(|n| glob(rest, &tail[n..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn reference_globs_stop_at_slashes() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*:latest", "alpine:latest"));
        assert!(!glob("*", "library/alpine"));
        assert!(glob("library/*", "library/alpine"));
    }
}
