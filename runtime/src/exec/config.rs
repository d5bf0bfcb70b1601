//! A container's OCI spec on disk: `config.json` in its directory (the OCI bundle convention),
//! written by `den run` before the container starts, read by `den exec` (the process's user,
//! capabilities, env, cwd) and by `--network container:` (the /etc files to share).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

pub const SPEC_FILE: &str = "config.json";

#[derive(Debug, thiserror::Error)]
pub enum SpecFileError {
    #[error("container {name} has no {SPEC_FILE}: it was started by an older den")]
    Missing { name: String },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid OCI spec in {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Write `spec` to `<dir>/config.json`, atomically (temp file + rename).
pub fn save_spec(dir: &Path, spec: &Spec) -> io::Result<()> {
    let body = serde_json::to_vec_pretty(spec).map_err(io::Error::other)?;
    let tmp = dir.join(format!(".{SPEC_FILE}.tmp"));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&body)?;
    fs::rename(&tmp, dir.join(SPEC_FILE))
}

/// Read the spec of container `name` from `<dir>/config.json`.
pub fn load_spec(dir: &Path, name: &str) -> Result<Spec, SpecFileError> {
    let path = dir.join(SPEC_FILE);
    let body = fs::read(&path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => SpecFileError::Missing {
            name: name.to_owned(),
        },
        _ => SpecFileError::Read {
            path: path.clone(),
            source,
        },
    })?;
    serde_json::from_slice(&body).map_err(|source| SpecFileError::Parse { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{self, NetNs, SpecInputs};

    #[test]
    fn a_saved_spec_loads_back_the_same() {
        let dir = std::env::temp_dir().join(format!("den-spec-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let spec = spec::build(&SpecInputs {
            rootfs: dir.join("rootfs"),
            args: vec!["sh".into()],
            env: vec!["A=1".into()],
            cwd: "/tmp".into(),
            user: Some("0:0".into()),
            hostname: "h".into(),
            terminal: false,
            net: NetNs::New,
            etc_files: vec![(dir.join("hosts"), "/etc/hosts".into())],
            lower_layers: Vec::new(),
            security: crate::spec::Security::default(),
        })
        .expect("spec");
        save_spec(&dir, &spec).expect("save");
        let back = load_spec(&dir, "c");
        fs::remove_dir_all(&dir).expect("cleanup");
        assert_eq!(back.expect("load"), spec);
        assert!(matches!(
            load_spec(&dir, "c"),
            Err(SpecFileError::Missing { .. })
        ));
    }
}
