//! Kernel parameters under /proc/sys. Network ones (net.*) belong to the calling thread's network namespace.

use std::io;
use std::path::PathBuf;

/// A failed sysctl write.
#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    #[error("invalid sysctl key {0:?}")]
    InvalidKey(String),
    #[error("invalid value {value:?} for sysctl {key}")]
    InvalidValue { key: String, value: String },
    #[error("read sysctl {key}")]
    Read { key: String, source: io::Error },
    #[error("set sysctl {key}={value}")]
    Write {
        key: String,
        value: String,
        source: io::Error,
    },
}

impl SysctlError {
    /// The key does not exist on this kernel (e.g. net.ipv6.* without IPv6).
    pub fn is_missing(&self) -> bool {
        matches!(self, SysctlError::Read { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Sets `key` (dotted, e.g. `net.ipv4.ip_forward`) to `value` by writing /proc/sys/<key with dots as
/// slashes>, and skips the write when the value is already set. Net keys act on the calling thread's netns
/// (/proc/sys/net is resolved per opening thread).
pub fn set(key: &str, value: &str) -> Result<(), SysctlError> {
    replace(key, value).map(drop)
}

/// [`set`], returning the value it replaced (`None` when `value` was already set).
pub fn replace(key: &str, value: &str) -> Result<Option<String>, SysctlError> {
    let path = path_of(key)?;
    if value.is_empty() || value.contains('\n') {
        return Err(SysctlError::InvalidValue {
            key: key.into(),
            value: value.into(),
        });
    }
    let was = get_at(key, &path)?;
    if was == value {
        return Ok(None);
    }
    std::fs::write(&path, value).map_err(|source| SysctlError::Write {
        key: key.into(),
        value: value.into(),
        source,
    })?;
    Ok(Some(was))
}

/// The current value of `key`, without its trailing newline.
pub fn get(key: &str) -> Result<String, SysctlError> {
    get_at(key, &path_of(key)?)
}

fn get_at(key: &str, path: &PathBuf) -> Result<String, SysctlError> {
    let text = std::fs::read_to_string(path).map_err(|source| SysctlError::Read {
        key: key.into(),
        source,
    })?;
    Ok(text.trim_end_matches('\n').to_owned())
}

/// /proc/sys/... for a dotted key. As with sysctl(8), a '/' inside a component stands for a '.' in that
/// component (`net.ipv4.conf.eth0/100.forwarding`). Every component must be a plain name, so a key cannot
/// leave /proc/sys.
fn path_of(key: &str) -> Result<PathBuf, SysctlError> {
    let mut path = PathBuf::from("/proc/sys");
    for part in key.split('.') {
        let part = part.replace('/', ".");
        if part.is_empty() || part == "." || part == ".." || part.contains('\0') {
            return Err(SysctlError::InvalidKey(key.into()));
        }
        path.push(part);
    }
    Ok(path)
}

/// The key for `net.ipv4.conf.<link>.<setting>`, with dots in the link name written as sysctl(8) expects.
pub fn link_key(family: &str, link: &str, setting: &str) -> String {
    format!("net.{family}.conf.{}.{setting}", link.replace('.', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_proc_sys() {
        let path = path_of("net.ipv4.conf.den0.route_localnet").unwrap();
        assert_eq!(
            path,
            PathBuf::from("/proc/sys/net/ipv4/conf/den0/route_localnet")
        );
    }

    #[test]
    fn dotted_link_names_round_trip() {
        let key = link_key("ipv4", "br.100", "route_localnet");
        assert_eq!(key, "net.ipv4.conf.br/100.route_localnet");
        assert_eq!(
            path_of(&key).unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/br.100/route_localnet")
        );
    }

    #[test]
    fn keys_cannot_escape() {
        for key in [
            "",
            "net..ipv4",
            "net.ipv4/../../etc",
            ".net",
            "net.",
            "net./.x",
            "net.//.x",
        ] {
            assert!(
                matches!(path_of(key), Err(SysctlError::InvalidKey(_))),
                "{key}"
            );
        }
    }
}
