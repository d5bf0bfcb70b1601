//! Compiled filters, cached under den's state root by a digest of the OCI section they come from:
//! libseccomp takes tens of milliseconds to compile docker's profile, reading the result back takes
//! microseconds. The state root is root's (den runs as root), so the cache is as trusted as the
//! rest of it; a short or odd-sized file is ignored and compiled again.
//!
//! Bounded: after each new entry only the [`KEEP`] most recently used stay (a hit refreshes an
//! entry's mtime at most once a day), and temp files a killed den left are removed.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};

use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

use super::{compile, Bpf, SeccompError};

/// `compile`, through the cache in `dir` (`None`: no cache). Failing to write the cache only costs
/// the next run a compile.
pub fn compile_cached(s: &LinuxSeccomp, dir: Option<&Path>) -> Result<Bpf, SeccompError> {
    let Some(dir) = dir else {
        return compile(s);
    };
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(s).expect("a seccomp section serialises"));
    h.update(std::env::consts::ARCH);
    let v = libseccomp::ScmpVersion::current().map_or((0, 0, 0), |v| (v.major, v.minor, v.micro));
    h.update(format!("libseccomp {}.{}.{}", v.0, v.1, v.2));
    let path = dir.join(format!("{:x}.bpf", h.finalize()));
    if let Some(bytes) = read_entry(&path) {
        return Ok(Bpf(bytes));
    }
    let bpf = compile(s)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = fs::create_dir_all(dir)
        .and_then(|()| fs::write(&tmp, &bpf.0))
        .and_then(|()| fs::rename(&tmp, &path));
    match written {
        Ok(()) => prune(dir, KEEP),
        Err(_) => {
            let _ = fs::remove_file(&tmp);
        }
    }
    Ok(bpf)
}

/// How many compiled filters the cache keeps (one per distinct profile, caps and arch).
pub const KEEP: usize = 32;
const REFRESH: Duration = Duration::from_secs(24 * 3600);
const STALE_TMP: Duration = Duration::from_secs(60);

/// A cached filter, if usable; marks it used (its mtime) when that is more than a day old.
fn read_entry(path: &Path) -> Option<Vec<u8>> {
    let mut f = File::open(path).ok()?;
    let meta = f.metadata().ok()?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes).ok()?;
    if bytes.is_empty() || !bytes.len().is_multiple_of(8) {
        return None;
    }
    let now = SystemTime::now();
    let age = meta
        .modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok());
    if age.is_some_and(|a| a > REFRESH) {
        // Only the eviction order depends on it.
        let _ = f.set_modified(now);
    }
    Some(bytes)
}

/// Keep the `keep` most recently used `.bpf` entries of `dir`; remove the rest and temp files
/// older than a minute. Best effort: a file another den removes first is no matter.
pub fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    let mut filters = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let Some(mtime) = e.metadata().ok().and_then(|m| m.modified().ok()) else {
            continue;
        };
        match path.extension().and_then(|x| x.to_str()) {
            Some("bpf") => filters.push((mtime, path)),
            Some(x)
                if x.starts_with("tmp")
                    && now.duration_since(mtime).is_ok_and(|a| a > STALE_TMP) =>
            {
                let _ = fs::remove_file(&path);
            }
            _ => {}
        }
    }
    if filters.len() > keep {
        filters.sort_by_key(|f| std::cmp::Reverse(f.0));
        for (_, path) in &filters[keep..] {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_most_recently_used_and_drops_stale_temp_files() {
        let dir = std::env::temp_dir().join(format!("den-seccomp-cache-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let old = SystemTime::now() - 2 * REFRESH;
        for i in 0..5u64 {
            let p = dir.join(format!("{i}.bpf"));
            fs::write(&p, [0u8; 8]).expect("entry");
            let f = File::options().write(true).open(&p).expect("open");
            f.set_modified(old + Duration::from_secs(i)).expect("mtime");
        }
        let tmp = dir.join("x.tmp123");
        fs::write(&tmp, b"").expect("tmp");
        File::options()
            .write(true)
            .open(&tmp)
            .expect("open")
            .set_modified(old)
            .expect("mtime");
        let fresh_tmp = dir.join("y.tmp456");
        fs::write(&fresh_tmp, b"").expect("tmp");
        // A hit on the oldest makes it the most recent.
        assert!(read_entry(&dir.join("0.bpf")).is_some());
        prune(&dir, 3);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(left, ["0.bpf", "3.bpf", "4.bpf", "y.tmp456"]);
    }
}
