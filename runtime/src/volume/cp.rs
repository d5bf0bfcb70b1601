//! `den cp`: files between a container and the host (or a tar stream), docker's rules for where
//! they land, every container path resolved inside the container's root (`tarball`).
//!
//! A running container's root is `/proc/PID/root` (its mount namespace: volumes included). A
//! stopped one's is put together for the copy by a thread in a mount namespace of its own: the
//! overlay of its layers and upper dir, then its binds and volumes; the container's dir is locked
//! meanwhile so `den start` waits, and nothing of it is ever in the host's mount table.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

use super::tarball::{append, extract, open_in_root, Target};
use crate::state::{Container, Store};

#[derive(Debug, thiserror::Error)]
pub enum CpError {
    #[error("{0}")]
    Usage(&'static str),
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("Could not find the file {path} in container {container}")]
    NotInContainer { path: String, container: String },
    #[error("{0}")]
    Rule(String),
    #[error("container {name}: {what}")]
    Root {
        name: String,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("copying {what}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

/// docker's refusal of `den cp A:x B:y`.
const BETWEEN_CONTAINERS: &str = "copying between containers is not supported";

/// One side of `den cp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Host(PathBuf),
    /// `-`: a tar stream on stdin (source) or stdout (destination).
    Stream,
    Container {
        key: String,
        path: String,
    },
}

impl End {
    /// docker's reading of an argument: `-`, `NAME:PATH`, or a host path (one with a `/` before
    /// any `:` is a path).
    pub fn parse(arg: &str) -> End {
        if arg == "-" {
            return End::Stream;
        }
        match arg.split_once(':') {
            Some((k, p)) if !k.is_empty() && !k.contains('/') => End::Container {
                key: k.into(),
                path: p.into(),
            },
            _ => End::Host(arg.into()),
        }
    }
}

pub struct CpRequest<'a> {
    pub root: &'a Path,
    pub src: End,
    pub dst: End,
    /// `-a`: keep the owners of the source.
    pub archive: bool,
    /// `-L`: follow a symlink at the source path itself.
    pub follow: bool,
}

fn io_err(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> CpError {
    let what = what.to_string();
    move |source| CpError::Io { what, source }
}

/// Where the source lands: the destination directory and the name its top entry takes there.
/// docker's rules: into an existing directory under its own name (or, for `DIR/.`, its contents);
/// else as the destination path itself, whose parent must exist.
struct Landing {
    base: PathBuf,
    rename: Option<(PathBuf, PathBuf)>,
}

fn landing(
    src_name: &Path,
    src_is_dir: bool,
    contents: bool,
    dst: &Path,
    dst_kind: Option<SFlag>,
) -> Result<Landing, CpError> {
    match dst_kind {
        Some(SFlag::S_IFDIR) => Ok(Landing {
            base: dst.to_path_buf(),
            rename: contents.then(|| (src_name.to_path_buf(), PathBuf::new())),
        }),
        Some(_) if src_is_dir => Err(CpError::Rule(format!(
            "cannot copy a directory to a file: {}",
            dst.display()
        ))),
        _ if dst.as_os_str().as_bytes().ends_with(b"/") && !src_is_dir => Err(CpError::Rule(
            format!("destination directory {} does not exist", dst.display()),
        )),
        _ => {
            let name = dst
                .file_name()
                .ok_or(CpError::Usage("invalid destination path"))?;
            Ok(Landing {
                base: dst.parent().unwrap_or(Path::new("/")).to_path_buf(),
                rename: Some((src_name.to_path_buf(), PathBuf::from(name))),
            })
        }
    }
}

/// The kind of what `path` (in `root`) is, following symlinks inside the root; None if missing.
fn kind_in(root: BorrowedFd<'_>, path: &Path) -> Result<Option<SFlag>, Errno> {
    match open_in_root(root, path, OFlag::O_PATH) {
        Ok(fd) => Ok(Some(SFlag::from_bits_truncate(
            fstat(fd.as_fd())?.st_mode & libc::S_IFMT,
        ))),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A source: its parent dir, open, and its name there; `.` at the end asks for the contents.
struct Source {
    parent: OwnedFd,
    name: std::ffi::CString,
    is_dir: bool,
    contents: bool,
}

fn source(root: BorrowedFd<'_>, path: &str, follow: bool) -> Result<Source, Errno> {
    let contents = path.ends_with("/.") || path == ".";
    let clean = Path::new(path.trim_end_matches("/.").trim_end_matches('/'));
    let (parent, name) = match (clean.parent(), clean.file_name()) {
        (Some(p), Some(n)) => (p.to_path_buf(), n.to_os_string()),
        // `/` itself: its contents.
        _ => {
            return source(root, "/.", follow).map(|s| Source {
                contents: true,
                ..s
            })
        }
    };
    let parent_fd = open_in_root(root, &parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
    let name = std::ffi::CString::new(name.as_bytes()).map_err(|_| Errno::EINVAL)?;
    let at = if follow {
        nix::fcntl::AtFlags::empty()
    } else {
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW
    };
    let st = nix::sys::stat::fstatat(parent_fd.as_fd(), name.as_c_str(), at)?;
    Ok(Source {
        parent: parent_fd,
        name,
        is_dir: SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT) == SFlag::S_IFDIR,
        contents,
    })
}

/// `den cp SRC DST`.
pub fn copy(req: &CpRequest<'_>) -> Result<(), CpError> {
    let (key, ctr_path, to_container) = match (&req.src, &req.dst) {
        (End::Container { .. }, End::Container { .. }) => {
            return Err(CpError::Usage(BETWEEN_CONTAINERS))
        }
        (End::Container { key, path }, _) => (key, path, false),
        (_, End::Container { key, path }) => (key, path, true),
        _ => return Err(CpError::Usage("must specify at least one container source")),
    };
    let store = Store::new(req.root);
    let c = store
        .find(key)
        .map_err(|_| CpError::NoSuchContainer(key.clone()))?;
    let ctr_path = if ctr_path.starts_with('/') {
        ctr_path.clone()
    } else {
        format!("/{ctr_path}")
    };
    super::stopped::with_root(&store, &c, |root| {
        if to_container {
            into_container(req, root, &c, &ctr_path)
        } else {
            out_of_container(req, root, &c, &ctr_path)
        }
    })
}

fn not_found(c: &Container, path: &str) -> impl FnOnce(Errno) -> CpError {
    let (container, path) = (c.name.clone(), path.to_string());
    move |_| CpError::NotInContainer { path, container }
}

fn out_of_container(
    req: &CpRequest<'_>,
    root: BorrowedFd<'_>,
    c: &Container,
    path: &str,
) -> Result<(), CpError> {
    let src = source(root, path, req.follow).map_err(not_found(c, path))?;
    let arch = PathBuf::from(OsStr::from_bytes(src.name.as_bytes()));
    match &req.dst {
        End::Stream => {
            let mut b = tar::Builder::new(io::stdout().lock());
            b.follow_symlinks(false);
            append(&mut b, src.parent.as_fd(), &src.name, &arch, req.follow)
                .and_then(|()| b.into_inner())
                .and_then(|mut w| w.flush())
                .map_err(io_err(format_args!("{}:{path} to stdout", c.name)))
        }
        End::Host(dst) => {
            let here = File::from(
                open(
                    Path::new("/"),
                    OFlag::O_PATH | OFlag::O_DIRECTORY,
                    Mode::empty(),
                )
                .map_err(|e| io_err("/")(e.into()))?,
            );
            let dst = std::path::absolute(dst).map_err(io_err(dst.display()))?;
            let kind = kind_in(here.as_fd(), &dst).map_err(|e| io_err(dst.display())(e.into()))?;
            let land = landing(&arch, src.is_dir, src.contents, &dst, kind)?;
            // On the host, the archive is written under its destination directory as its root.
            let base = File::from(
                open(
                    &land.base,
                    OFlag::O_PATH | OFlag::O_DIRECTORY,
                    Mode::empty(),
                )
                .map_err(|e| io_err(land.base.display())(e.into()))?,
            );
            pipe(
                req,
                &src,
                &arch,
                Target {
                    root: base.as_fd(),
                    base: "/".into(),
                    rename: land.rename,
                    owner: (!req.archive).then(|| {
                        (
                            nix::unistd::geteuid().as_raw(),
                            nix::unistd::getegid().as_raw(),
                        )
                    }),
                },
            )
            .map_err(io_err(format_args!(
                "{}:{path} to {}",
                c.name,
                dst.display()
            )))
        }
        End::Container { .. } => Err(CpError::Usage(BETWEEN_CONTAINERS)),
    }
}

fn into_container(
    req: &CpRequest<'_>,
    root: BorrowedFd<'_>,
    c: &Container,
    path: &str,
) -> Result<(), CpError> {
    let dst = Path::new(path);
    let kind = kind_in(root, dst).map_err(|e| io_err(path)(e.into()))?;
    match &req.src {
        End::Stream => {
            if kind != Some(SFlag::S_IFDIR) {
                return Err(CpError::Rule(format!(
                    "destination \"{}:{path}\" must be a directory",
                    c.name
                )));
            }
            let t = Target {
                root,
                base: dst.into(),
                rename: None,
                owner: (!req.archive).then_some((0, 0)),
            };
            extract(io::stdin().lock(), &t)
                .map_err(io_err(format_args!("stdin to {}:{path}", c.name)))
        }
        End::Host(src_path) => {
            let host = File::from(
                open(
                    Path::new("/"),
                    OFlag::O_PATH | OFlag::O_DIRECTORY,
                    Mode::empty(),
                )
                .map_err(|e| io_err("/")(e.into()))?,
            );
            let abs = std::path::absolute(src_path).map_err(io_err(src_path.display()))?;
            let mut text = abs.display().to_string();
            if src_path.as_os_str().as_bytes().ends_with(b"/.") {
                text.push_str("/.");
            }
            let src = source(host.as_fd(), &text, req.follow)
                .map_err(|e| io_err(src_path.display())(e.into()))?;
            let arch = PathBuf::from(OsStr::from_bytes(src.name.as_bytes()));
            if kind.is_none()
                && dst
                    .parent()
                    .is_some_and(|p| kind_in(root, p).ok().flatten() != Some(SFlag::S_IFDIR))
            {
                return Err(CpError::NotInContainer {
                    path: path.into(),
                    container: c.name.clone(),
                });
            }
            let land = landing(&arch, src.is_dir, src.contents, dst, kind)?;
            pipe(
                req,
                &src,
                &arch,
                Target {
                    root,
                    base: land.base,
                    rename: land.rename,
                    owner: (!req.archive).then_some((0, 0)),
                },
            )
            .map_err(io_err(format_args!(
                "{} to {}:{path}",
                src_path.display(),
                c.name
            )))
        }
        End::Container { .. } => Err(CpError::Usage(BETWEEN_CONTAINERS)),
    }
}

/// Archive `src` on one thread, extract it to `t` on this one.
fn pipe(req: &CpRequest<'_>, src: &Source, arch: &Path, t: Target<'_>) -> io::Result<()> {
    let (reader, writer) = io::pipe()?;
    std::thread::scope(|s| {
        let w = s.spawn(move || {
            let mut b = tar::Builder::new(writer);
            append(&mut b, src.parent.as_fd(), &src.name, arch, req.follow)?;
            b.into_inner().map(drop)
        });
        let r = extract(reader, &t);
        let w = w
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the archiving thread panicked")));
        // The writer's error explains a reader's broken stream.
        w.and(r)
    })
}
