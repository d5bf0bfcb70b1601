//! Files and mounts a dead den may leave outside its networks: mounts under a container's dir
//! (none expected: the overlay lives in the container's own mount namespace, but a dir is never
//! removed through a mount), and temp files of writers that died mid-write.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use nix::mount::{umount2, MntFlags};

use super::{GcError, Removed};

/// Detach every mount at or below `dir` in our mount namespace, deepest first.
pub(super) fn unmount_under(dir: &Path, removed: &mut Vec<Removed>, failed: &mut Vec<GcError>) {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    for p in points {
        match umount2(&p, MntFlags::MNT_DETACH) {
            Ok(()) => removed.push(Removed::Mount(p)),
            Err(source) => failed.push(GcError::Unmount { path: p, source }),
        }
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Remove the temp files of writers that are gone: image names (`names.json.tmp.PID`) and image
/// unpack dirs (`images/tmp/PREFIX.PID.N`), whose pid is no process now.
pub(super) fn sweep_image_temps(
    root: &Path,
    removed: &mut Vec<Removed>,
    failed: &mut Vec<GcError>,
) {
    let images = root.join("images");
    let gone = |name: &str, field: usize| {
        name.split('.')
            .nth(field)
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    };
    for e in read_dir(&images) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("names.json.tmp.") && gone(&name, 3) {
            remove(&e.path(), removed, failed);
        }
    }
    for e in read_dir(&images.join("tmp")) {
        if gone(&e.file_name().to_string_lossy(), 1) {
            remove(&e.path(), removed, failed);
        }
    }
}

fn read_dir(dir: &Path) -> impl Iterator<Item = fs::DirEntry> {
    fs::read_dir(dir).into_iter().flatten().flatten()
}

/// Remove a file or a whole directory; already gone is fine.
pub(super) fn remove(path: &Path, removed: &mut Vec<Removed>, failed: &mut Vec<GcError>) {
    let r = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => removed.push(Removed::File(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => failed.push(GcError::Remove {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/a\040b/c\134d"), r"/a b/c\d");
        assert_eq!(unescape(r"/plain"), "/plain");
        assert_eq!(unescape(r"/x\04"), r"/x\04");
    }
}
