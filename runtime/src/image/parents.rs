//! Directories a layer implies without listing them (`p/new` with no `p/` entry). overlayfs shows
//! the upper layer's `p` over the lower ones', so a `p` made as 0755 root:root would hide a lower
//! 0700 1000:1000 `p`. Like containerd (which unpacks through an overlay mount and so copies up),
//! an implied directory takes the mode, owner and mtime of the directory the lower layers show at
//! that path, and 0755 root:root only where they show none.
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::sys;

/// Creates the missing parents of entries inside `dest`, never through a symlink.
pub(crate) struct Parents<'a> {
    dest: &'a Path,
    /// The layers below, TOP first.
    lowers: &'a [PathBuf],
    /// Implied directories and the mtime each must end with.
    implied: Vec<(PathBuf, i64)>,
}

impl<'a> Parents<'a> {
    pub(crate) fn new(dest: &'a Path, lowers: &'a [PathBuf]) -> Self {
        Self {
            dest,
            lowers,
            implied: Vec::new(),
        }
    }

    /// `dest/rel`, after creating its missing parents. Refuses to pass through symlinks or
    /// non-directories, so nothing made here can land outside `dest`.
    pub(crate) fn prepare(&mut self, rel: &Path) -> io::Result<PathBuf> {
        let mut cur = PathBuf::new();
        if let Some(parent) = rel.parent() {
            for part in parent.components() {
                cur.push(part);
                self.ensure_real_dir(&cur)?;
            }
        }
        Ok(self.dest.join(rel))
    }

    /// `dest/rel` as a real directory (created if missing), reached without symlinks.
    pub(crate) fn dir(&mut self, rel: &Path) -> io::Result<PathBuf> {
        let path = self.prepare(rel)?;
        if !rel.as_os_str().is_empty() {
            self.ensure_real_dir(rel)?;
        }
        Ok(path)
    }

    fn ensure_real_dir(&mut self, rel: &Path) -> io::Result<()> {
        let path = self.dest.join(rel);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("\"{}\" is a symlink or not a directory", rel.display()),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new().mode(0o755).create(&path)?;
                let (mode, owner, mtime) = match lower_dir(self.lowers, rel) {
                    Some(m) => (m.mode() & 0o7777, Some((m.uid(), m.gid())), m.mtime()),
                    None => (0o755, None, 0),
                };
                if let Some((uid, gid)) = owner {
                    std::os::unix::fs::lchown(&path, Some(uid), Some(gid))?;
                }
                // After the owner: chown clears setuid/setgid bits.
                fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
                self.implied.push((rel.to_path_buf(), mtime));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Gives the implied directories their mtimes (their children changed them meanwhile).
    /// Call before the layer's own directories get theirs, so those win.
    pub(crate) fn finish(self) -> io::Result<()> {
        for (rel, mtime) in self.implied {
            sys::set_mtime(&self.dest.join(rel), mtime)?;
        }
        Ok(())
    }
}

/// What the lower layers (top first) show at `rel`, if it is a directory: overlayfs's lookup,
/// where a whiteout or a non-directory hides everything below, and so does an opaque directory
/// for what it does not hold itself. Never follows a symlink.
fn lower_dir(lowers: &[PathBuf], rel: &Path) -> Option<Metadata> {
    let parts: Vec<_> = rel.components().collect();
    for lower in lowers {
        let mut cur = lower.clone();
        let mut opaque_above = false;
        for (i, part) in parts.iter().enumerate() {
            cur.push(part);
            match fs::symlink_metadata(&cur) {
                Err(_) if opaque_above => return None,
                Err(_) => break, // not in this layer: look below
                // A whiteout (char 0/0), file or symlink hides the lower layers' path.
                Ok(m) if !m.is_dir() => return None,
                Ok(m) if i + 1 == parts.len() => return Some(m),
                Ok(_) => opaque_above |= sys::is_opaque(&cur),
            }
        }
    }
    None
}
