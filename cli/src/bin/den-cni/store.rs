//! den-cni's record of each attachment, `<dataDir>/cni/<owner>.json`: what DEL, CHECK and GC need
//! when the runtime gives only the container id and interface name. The owner is a 64-hex id made
//! from those and the network, so the veth name, the lease and the firewall comments name it as
//! den's own do.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use den_netcfg::Attachment;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::reply::{CniError, Code};

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
    pub netns: String,
    /// Written before `attach` with what is known then (owner, network, host ports), so that an
    /// interrupted ADD is undone by the next ADD or DEL; complete once attached.
    pub complete: bool,
    pub attachment: Attachment,
}

/// The den owner id of the attachment of interface `ifname` of container `container_id` to
/// `network`.
pub fn owner(network: &str, container_id: &str, ifname: &str) -> String {
    let digest = Sha256::digest(format!("{network}\n{container_id}\n{ifname}"));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("cni")
}

fn path(data_dir: &Path, owner: &str) -> PathBuf {
    dir(data_dir).join(format!("{owner}.json"))
}

fn io_err<'a>(what: &'a str, path: &'a Path) -> impl FnOnce(io::Error) -> CniError + 'a {
    move |e| CniError::new(Code::Io, format!("{what} {}: {e}", path.display()))
}

pub fn load(data_dir: &Path, owner: &str) -> Result<Option<Record>, CniError> {
    let p = path(data_dir, owner);
    match fs::read(&p) {
        Ok(body) => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| CniError::new(Code::Io, format!("reading {}: {e}", p.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("reading", &p)(e)),
    }
}

/// Write `rec` atomically (a temporary file renamed over the record).
pub fn save(data_dir: &Path, rec: &Record) -> Result<(), CniError> {
    let d = dir(data_dir);
    fs::create_dir_all(&d).map_err(io_err("creating", &d))?;
    let p = path(data_dir, &rec.attachment.container_id);
    let tmp = p.with_extension("json.tmp");
    let body = serde_json::to_vec_pretty(rec).expect("records serialize");
    fs::write(&tmp, body).map_err(io_err("writing", &tmp))?;
    fs::rename(&tmp, &p).map_err(io_err("renaming", &p))
}

pub fn remove(data_dir: &Path, owner: &str) -> Result<(), CniError> {
    let p = path(data_dir, owner);
    match fs::remove_file(&p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("removing", &p)(e)),
        _ => Ok(()),
    }
}

/// Every record of network `network`.
pub fn all(data_dir: &Path, network: &str) -> Result<Vec<Record>, CniError> {
    let d = dir(data_dir);
    let entries = match fs::read_dir(&d) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("listing", &d)(e)),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(io_err("listing", &d))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(owner) = name.strip_suffix(".json") {
            if let Some(rec) = load(data_dir, owner)? {
                if rec.attachment.network == network {
                    out.push(rec);
                }
            }
        }
    }
    Ok(out)
}
