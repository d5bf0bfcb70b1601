//! A registry's TLS material from `certs.d/HOST:PORT/`, read by docker's rules
//! (`/etc/docker/certs.d/`): every `*.crt` is an extra CA root; a `NAME.cert` with its `NAME.key`
//! is a client identity, and either one without the other is refused, naming the file.
use std::fs;
use std::path::{Path, PathBuf};

use crate::image::error::ImageError;

/// Per-registry CAs and client identities, laid out like docker's `/etc/docker/certs.d/`.
const CERTS_D: &str = "/etc/den/certs.d";

/// The certs.d dir (`DEN_CERTS_D` overrides it, for tests and for users without /etc/den).
pub(crate) fn certs_d() -> PathBuf {
    std::env::var_os("DEN_CERTS_D").map_or_else(|| PathBuf::from(CERTS_D), PathBuf::from)
}

/// What certs.d holds for one registry.
#[derive(Debug, Default)]
pub(crate) struct RegistryCerts {
    /// The dir they came from (named in errors).
    pub dir: PathBuf,
    /// PEM CA roots (`*.crt`).
    pub cas: Vec<Vec<u8>>,
    /// The client identity: the `.cert` file and its certificate chain followed by its key, PEM.
    pub identity: Option<(PathBuf, Vec<u8>)>,
}

impl RegistryCerts {
    /// certs.d's entry for `domain` (`HOST:PORT` as in the image reference). No dir: nothing.
    pub(crate) fn of(domain: &str) -> Result<RegistryCerts, ImageError> {
        Self::read(&certs_d().join(domain))
    }

    fn read(dir: &Path) -> Result<RegistryCerts, ImageError> {
        let mut certs = RegistryCerts {
            dir: dir.to_path_buf(),
            ..RegistryCerts::default()
        };
        let Ok(entries) = fs::read_dir(dir) else {
            return Ok(certs);
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        // docker reads the dir in name order; the first identity is the one offered.
        paths.sort();
        let read = |p: &Path| fs::read(p).map_err(|e| ImageError::io(p, e));
        for path in &paths {
            let Some(ext) = path.extension().and_then(|x| x.to_str()) else {
                continue;
            };
            match ext {
                "crt" => certs.cas.push(read(path)?),
                "cert" => {
                    let key = path.with_extension("key");
                    if !key.is_file() {
                        return Err(ImageError::CertsD {
                            path: path.clone(),
                            reason: format!(
                                "missing key {} for this client certificate (CA certificates must use the extension .crt)",
                                file_name(&key)
                            ),
                        });
                    }
                    if certs.identity.is_none() {
                        let mut pem = read(path)?;
                        pem.push(b'\n');
                        pem.extend(read(&key)?);
                        certs.identity = Some((path.clone(), pem));
                    }
                }
                "key" => {
                    let cert = path.with_extension("cert");
                    if !cert.is_file() {
                        return Err(ImageError::CertsD {
                            path: path.clone(),
                            reason: format!(
                                "missing client certificate {} for this key",
                                file_name(&cert)
                            ),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(certs)
    }

    /// reqwest's client identity, checked: a pair that does not parse is refused, naming it.
    pub(crate) fn reqwest_identity(&self) -> Result<Option<reqwest::Identity>, ImageError> {
        let Some((path, pem)) = &self.identity else {
            return Ok(None);
        };
        reqwest::Identity::from_pem(pem)
            .map(Some)
            .map_err(|source| ImageError::ClientIdentity {
                path: path.clone(),
                source,
            })
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;

    /// A scratch dir holding `files` (each containing its own name).
    fn dir_with(files: &[&str]) -> Scratch {
        let d = Scratch::new("den-certs-d");
        for f in files {
            fs::write(d.path().join(f), format!("{f}\n")).unwrap();
        }
        d
    }

    #[test]
    fn crt_files_are_cas_and_a_cert_with_its_key_is_the_identity() {
        let d = dir_with(&[
            "ca.crt",
            "other.crt",
            "client.cert",
            "client.key",
            "notes.txt",
        ]);
        let c = RegistryCerts::read(d.path()).unwrap();
        assert_eq!(c.cas, vec![b"ca.crt\n".to_vec(), b"other.crt\n".to_vec()]);
        let (path, pem) = c.identity.unwrap();
        assert_eq!(path, d.path().join("client.cert"));
        assert_eq!(pem, b"client.cert\n\nclient.key\n");
    }

    #[test]
    fn a_cert_without_its_key_or_a_key_without_its_cert_is_refused_naming_the_file() {
        let d = dir_with(&["ca.crt", "client.cert"]);
        let e = RegistryCerts::read(d.path()).unwrap_err().to_string();
        assert!(e.contains("client.cert: missing key client.key"), "{e}");
        let d = dir_with(&["lone.key"]);
        let e = RegistryCerts::read(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("lone.key: missing client certificate lone.cert"),
            "{e}"
        );
    }

    #[test]
    fn no_dir_means_nothing_extra() {
        let c = RegistryCerts::read(Path::new("/nonexistent/certs.d/x:1")).unwrap();
        assert!(c.cas.is_empty() && c.identity.is_none());
    }
}
