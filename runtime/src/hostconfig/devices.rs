//! `--device /dev/X[:/dev/Y][:rwm]`: a host device node, made in the container and allowed by
//! its device rules.

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use serde::{Deserialize, Serialize};

use super::HostConfigError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    pub cgroup_permissions: String,
    /// `c` or `b`, and the node's numbers (read from the host when the container is created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<(char, i64, i64)>,
}

fn is_perms(s: &str) -> bool {
    !s.is_empty() && s.len() <= 3 && s.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
}

impl DeviceMapping {
    pub fn parse(s: &str) -> Result<DeviceMapping, HostConfigError> {
        let parts: Vec<&str> = s.split(':').collect();
        let (host, dest, perms) = match parts.as_slice() {
            [h] => (*h, *h, "rwm"),
            [h, p] if is_perms(p) => (*h, *h, *p),
            [h, d] => (*h, *d, "rwm"),
            [h, d, p] if is_perms(p) => (*h, *d, *p),
            _ => {
                return Err(HostConfigError::Invalid {
                    flag: "--device",
                    value: s.into(),
                    reason: "use /dev/X[:/dev/Y][:rwm]".into(),
                })
            }
        };
        if !dest.starts_with('/') {
            return Err(HostConfigError::Invalid {
                flag: "--device",
                value: s.into(),
                reason: "the container path must be absolute".into(),
            });
        }
        let mut m = DeviceMapping {
            path_on_host: host.into(),
            path_in_container: dest.into(),
            cgroup_permissions: perms.into(),
            node: None,
        };
        m.stat()?;
        Ok(m)
    }

    /// Read the node's type and numbers from the host.
    pub fn stat(&mut self) -> Result<(char, i64, i64), HostConfigError> {
        let md =
            std::fs::metadata(&self.path_on_host).map_err(|source| HostConfigError::Device {
                path: self.path_on_host.clone(),
                source,
            })?;
        let typ = match md.file_type() {
            t if t.is_char_device() => 'c',
            t if t.is_block_device() => 'b',
            _ => {
                return Err(HostConfigError::NotADevice {
                    path: self.path_on_host.clone(),
                })
            }
        };
        let rdev = md.rdev();
        let node = (typ, libc::major(rdev) as i64, libc::minor(rdev) as i64);
        self.node = Some(node);
        Ok(node)
    }
}
