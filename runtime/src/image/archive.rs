//! A tar archive of an image (docker-save or OCI archive), read in place: one pass over its
//! headers (seeking past file data) builds an index of members, then members are read straight
//! from the file by offset. Layers are never read unless they must be unpacked.
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use super::error::ImageError;
use super::guard::TarGuard;
use super::source::Blobs;

/// Links are followed at most this many hops.
const MAX_LINK_HOPS: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Member {
    offset: u64,
    size: u64,
}

/// An indexed tar archive.
pub(crate) struct TarBlobs {
    path: PathBuf,
    file: File,
    members: HashMap<String, Member>,
}

impl TarBlobs {
    /// Opens `path` and indexes its members.
    pub(crate) fn open(path: &Path) -> Result<Self, ImageError> {
        let file = File::open(path).map_err(|e| ImageError::io(path, e))?;
        let mut magic = [0u8; 2];
        let n = file
            .read_at(&mut magic, 0)
            .map_err(|e| ImageError::io(path, e))?;
        if n == 2 && magic == [0x1f, 0x8b] {
            return Err(ImageError::CompressedArchive {
                path: path.to_path_buf(),
            });
        }
        let bad = |source: io::Error| ImageError::BadArchive {
            path: path.to_path_buf(),
            source,
        };
        let mut members = HashMap::new();
        let mut links: Vec<(String, String)> = Vec::new();
        let mut archive = tar::Archive::new(TarGuard::new(&file));
        for entry in archive.entries_with_seek().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            let Some(name) = normalize(&entry.path().map_err(bad)?) else {
                continue;
            };
            match entry.header().entry_type() {
                EntryType::Regular | EntryType::Continuous => {
                    let member = Member {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    };
                    members.insert(name, member);
                }
                kind @ (EntryType::Symlink | EntryType::Link) => {
                    let Some(target) = entry.link_name().map_err(bad)? else {
                        continue;
                    };
                    // A symlink is relative to its own directory, a hard link to the root.
                    let base = match kind {
                        EntryType::Symlink => Path::new(&name).parent().unwrap_or(Path::new("")),
                        _ => Path::new(""),
                    };
                    if let Some(target) = normalize(&base.join(target)) {
                        links.push((name, target));
                    }
                }
                _ => {}
            }
        }
        // Old docker-save archives link identical layers to one another: resolve such links.
        for _ in 0..MAX_LINK_HOPS {
            let before = links.len();
            links.retain(|(name, target)| match members.get(target).copied() {
                Some(member) => {
                    members.insert(name.clone(), member);
                    false
                }
                None => true,
            });
            if links.len() == before {
                break;
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            members,
        })
    }

    /// Whether the archive has a (regular, or linked-to) file at `path`.
    pub(crate) fn has(&self, path: &str) -> bool {
        self.members.contains_key(path)
    }
}

impl Blobs for TarBlobs {
    fn image(&self) -> &Path {
        &self.path
    }

    fn open(&self, path: &str) -> Result<Option<Box<dyn Read + '_>>, ImageError> {
        let key = normalize(Path::new(path)).unwrap_or_default();
        Ok(self.members.get(&key).map(|m| {
            Box::new(Section {
                file: &self.file,
                pos: m.offset,
                end: m.offset + m.size,
            }) as Box<dyn Read + '_>
        }))
    }
}

/// `path` without `.` parts and leading `/`; `None` if it is empty or climbs with `..`.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A byte range of the archive file, read with pread (no shared file position).
struct Section<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive ends inside a member",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}
