//! Unpacks one layer tar into a directory usable as an overlayfs lowerdir: OCI whiteouts become
//! overlayfs whiteouts, ownership/modes/mtimes/links/devices are kept, and no entry may land
//! outside the directory.
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use tar::{Archive, Entry, EntryType, Header};

use super::error::{shorten, ImageError};
use super::guard::TarGuard;
use super::parents::Parents;
use super::sys::{self, Special};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Unpacks the tar stream `reader` into the existing directory `dest`; `layer` names the layer in
/// errors; `lowers` are the unpacked layers below it, TOP first (implied directories take their
/// metadata from them). Reads the tar up to its end-of-archive marker (the caller drains the rest).
pub(crate) fn unpack_tar(
    reader: impl Read,
    dest: &Path,
    layer: &str,
    lowers: &[PathBuf],
) -> Result<(), ImageError> {
    let err = |entry: &Path, source: io::Error| ImageError::Unpack {
        layer: layer.to_string(),
        entry: shorten(&entry.display().to_string()),
        source,
    };
    let dest = dest.canonicalize().map_err(|e| err(dest, e))?;
    let mut archive = Archive::new(TarGuard::new(reader));
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(true);
    archive.set_overwrite(true);

    // Directories are applied last, deepest first, so that their modes do not block their
    // children and their mtimes are not disturbed by them (as tar's own unpack does).
    let mut dirs: Vec<(PathBuf, Entry<'_, _>, Xattrs)> = Vec::new();
    let mut parents = Parents::new(&dest, lowers);
    let mut opaque: Vec<PathBuf> = Vec::new();
    let entries = archive.entries().map_err(|e| err(Path::new(""), e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| err(Path::new("(next entry)"), e))?;
        let raw = entry
            .path()
            .map_err(|e| err(Path::new("(entry path)"), e))?;
        let rel = match relative(&raw) {
            Some(Some(rel)) => rel,
            Some(None) => continue, // the layer root itself
            None => return Err(unsafe_entry(layer, &raw)),
        };
        let name = rel.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
            let parent = rel.parent().unwrap_or(Path::new(""));
            if name == OPAQUE {
                opaque.push(parent.to_path_buf());
            } else if !hidden.starts_with(WHITEOUT_PREFIX) && !hidden.is_empty() {
                whiteout(&mut parents, &parent.join(hidden)).map_err(|e| err(&rel, e))?;
            } // else: other `.wh..wh.*` metadata (aufs), meaningless to overlayfs
            continue;
        }
        let kind = entry.header().entry_type();
        // Parents first, made here (not by the tar crate) so they keep the lower layers' metadata.
        parents.prepare(&rel).map_err(|e| err(&rel, e))?;
        match kind {
            EntryType::Directory => {
                remove_non_dir(&dest.join(&rel)).map_err(|e| err(&rel, e))?;
                let xattrs = xattrs(&mut entry).map_err(|e| err(&rel, e))?;
                dirs.push((rel, entry, xattrs));
                continue;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                special(&mut parents, &rel, entry.header()).map_err(|e| err(&rel, e))?;
                continue;
            }
            EntryType::Link => {
                let target = entry.link_name().map_err(|e| err(&rel, e))?;
                let target = target.unwrap_or_default();
                if !matches!(relative(&target), Some(Some(_))) {
                    return Err(unsafe_entry(layer, &target));
                }
                remove_non_dir(&dest.join(&rel)).map_err(|e| err(&rel, e))?;
            }
            _ => {}
        }
        if !entry.unpack_in(&dest).map_err(|e| err(&rel, e))? {
            return Err(unsafe_entry(layer, &rel));
        }
    }

    dirs.sort_by(|a, b| b.0.cmp(&a.0));
    let mut mtimes = Vec::with_capacity(dirs.len());
    for (rel, mut entry, xattrs) in dirs {
        if !entry.unpack_in(&dest).map_err(|e| err(&rel, e))? {
            return Err(unsafe_entry(layer, &rel));
        }
        // The tar crate sets xattrs on files only.
        for (name, value) in xattrs {
            sys::set_xattr(&dest.join(&rel), &name, &value).map_err(|e| err(&rel, e))?;
        }
        if let Ok(mtime) = entry.header().mtime() {
            mtimes.push((rel, mtime));
        }
    }
    for dir in opaque {
        let path = parents.dir(&dir).map_err(|e| err(&dir, e))?;
        sys::set_opaque(&path).map_err(|e| err(&dir, e))?;
    }
    parents
        .finish()
        .map_err(|e| err(Path::new("(implied directories)"), e))?;
    for (rel, mtime) in mtimes {
        let secs = i64::try_from(mtime).unwrap_or(i64::MAX);
        sys::set_mtime(&dest.join(&rel), secs).map_err(|e| err(&rel, e))?;
    }
    Ok(())
}

/// The entry path made relative: `Some(None)` for the root itself, `None` if it is absolute or
/// climbs with `..`.
fn relative(path: &Path) -> Option<Option<PathBuf>> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::Normal(p) => out.push(p),
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some((!out.as_os_str().is_empty()).then_some(out))
}

fn unsafe_entry(layer: &str, entry: &Path) -> ImageError {
    ImageError::UnsafeEntry {
        layer: layer.to_string(),
        entry: shorten(&entry.display().to_string()),
    }
}

/// Removes whatever non-directory is at `path` (e.g. a whiteout this layer also replaces).
fn remove_non_dir(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_dir() => fs::remove_file(path),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// The `SCHILY.xattr.*` PAX records of an entry.
fn xattrs<R: Read>(entry: &mut Entry<'_, R>) -> io::Result<Xattrs> {
    let Some(exts) = entry.pax_extensions()? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for ext in exts {
        let ext = ext?;
        if let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
            out.push((name.to_vec(), ext.value_bytes().to_vec()));
        }
    }
    Ok(out)
}

/// An OCI whiteout `.wh.NAME` -> overlayfs whiteout NAME, unless this layer itself has NAME.
fn whiteout(parents: &mut Parents<'_>, rel: &Path) -> io::Result<()> {
    let path = parents.prepare(rel)?;
    match fs::symlink_metadata(&path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => sys::make_whiteout(&path),
        Err(e) => Err(e),
    }
}

/// A device node or fifo, with the header's mode, owner and mtime.
fn special(parents: &mut Parents<'_>, rel: &Path, header: &Header) -> io::Result<()> {
    let path = parents.prepare(rel)?;
    remove_non_dir(&path)?;
    let major = u64::from(header.device_major()?.unwrap_or(0));
    let minor = u64::from(header.device_minor()?.unwrap_or(0));
    let kind = match header.entry_type() {
        EntryType::Char => Special::Char { major, minor },
        EntryType::Block => Special::Block { major, minor },
        _ => Special::Fifo,
    };
    let mode = header.mode()?;
    let (uid, gid) = (header.uid()?, header.gid()?);
    let id = |v: u64| u32::try_from(v).map_err(|_| io::Error::from(io::ErrorKind::InvalidData));
    sys::make_special(&path, kind)?;
    std::os::unix::fs::lchown(&path, Some(id(uid)?), Some(id(gid)?))?;
    // Set the mode after the owner: chown clears setuid/setgid bits.
    fs::set_permissions(
        &path,
        std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777),
    )?;
    let mtime = header.mtime()?;
    sys::set_mtime(&path, i64::try_from(mtime).unwrap_or(i64::MAX))
}
