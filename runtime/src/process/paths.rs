//! Symlink-safe paths inside the container's rootfs, before pivot_root.
//!
//! Every container path is opened with `openat2(rootfd, path, RESOLVE_IN_ROOT)`: the kernel
//! resolves `..` and symlinks (absolute ones too) as if the rootfs were `/`, so an image can never
//! redirect a mount, a device node or a mkdir onto a host path. Missing directories are created
//! one component at a time with `mkdirat` on the already-resolved parent. Mounts then target
//! the opened fd through `/proc/self/fd/N`.
//!
//! All strings are prepared before the clone: the child only makes syscalls.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{mkdirat, Mode};

/// An absolute path inside the container, lexically cleaned, with its prefixes.
pub struct InRoot {
    path: PathBuf,
    /// `(prefix, last component)` for `/a`, `/a/b`, `/a/b/c`.
    steps: Vec<(CString, CString)>,
}

impl InRoot {
    /// `None` if `path` is not absolute, is `/` itself, or holds a NUL byte.
    pub fn new(path: &Path) -> Option<InRoot> {
        if !path.is_absolute() {
            return None;
        }
        let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
        for c in path.components() {
            match c {
                Component::Normal(p) => parts.push(p),
                Component::ParentDir => {
                    parts.pop();
                }
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            }
        }
        if parts.is_empty() {
            return None;
        }
        let mut clean = PathBuf::from("/");
        let mut steps = Vec::with_capacity(parts.len());
        for p in parts {
            clean.push(p);
            let prefix = CString::new(clean.as_os_str().as_bytes()).ok()?;
            steps.push((prefix, CString::new(p.as_bytes()).ok()?));
        }
        Some(InRoot { path: clean, steps })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn full(&self) -> &CStr {
        // `new` refuses paths without components, so there is a last step.
        self.steps.last().map_or(c"/", |(p, _)| p.as_c_str())
    }

    /// Open the path (O_PATH), following symlinks inside the root only.
    pub fn open(&self, root: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
        open_in_root(root, self.full(), OFlag::O_PATH)
    }

    /// Create every missing directory (0755), then open the directory.
    pub fn ensure_dir(&self, root: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
        let mut dir: Option<OwnedFd> = None;
        for (prefix, name) in &self.steps {
            let parent = dir.as_ref().map_or(root, |d| d.as_fd());
            dir = Some(open_or_mkdir(root, parent, prefix, name)?);
        }
        dir.ok_or(Errno::EINVAL)
    }

    /// Create the parent directories, then the path itself as an empty file if missing
    /// (mode 0644, or `mode`), and open it.
    pub fn ensure_file(&self, root: BorrowedFd<'_>, mode: Mode) -> Result<OwnedFd, Errno> {
        let (parent, name) = self.parent(root)?;
        create_file(parent.as_fd(), name, mode)?;
        self.open(root)
    }

    /// Create the parent directories and return the parent and the last component's name.
    pub fn parent(&self, root: BorrowedFd<'_>) -> Result<(OwnedFd, &CStr), Errno> {
        let Some(((_, name), dirs)) = self.steps.split_last() else {
            return Err(Errno::EINVAL);
        };
        let mut dir = open_in_root(root, c"/", OFlag::O_PATH | OFlag::O_DIRECTORY)?;
        for (prefix, component) in dirs {
            dir = open_or_mkdir(root, dir.as_fd(), prefix, component)?;
        }
        Ok((dir, name))
    }
}

fn open_in_root(root: BorrowedFd<'_>, path: &CStr, flags: OFlag) -> Result<OwnedFd, Errno> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    loop {
        match openat2(root, path, how) {
            // The kernel asks for a retry when a rename raced the lookup.
            Err(Errno::EAGAIN) => continue,
            r => return r,
        }
    }
}

fn open_or_mkdir(
    root: BorrowedFd<'_>,
    parent: BorrowedFd<'_>,
    prefix: &CStr,
    name: &CStr,
) -> Result<OwnedFd, Errno> {
    let dir = OFlag::O_PATH | OFlag::O_DIRECTORY;
    match open_in_root(root, prefix, dir) {
        Err(Errno::ENOENT) => {}
        r => return r,
    }
    // `name` is one component: mkdirat never follows a symlink there (EEXIST instead).
    match mkdirat(parent, name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    open_in_root(root, prefix, dir)
}

fn create_file(parent: BorrowedFd<'_>, name: &CStr, mode: Mode) -> Result<(), Errno> {
    // O_EXCL|O_NOFOLLOW: never creates through a symlink; an existing entry is left alone.
    let flags =
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
    match openat(parent, name, flags, mode) {
        Ok(_) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `/proc/self/fd/N` in a stack buffer, to mount onto (or from) an fd without allocating.
pub struct FdPath {
    buf: [u8; 32],
}

impl FdPath {
    pub fn new(fd: &impl AsRawFd) -> FdPath {
        const PREFIX: &[u8] = b"/proc/self/fd/";
        let mut buf = [0u8; 32];
        buf[..PREFIX.len()].copy_from_slice(PREFIX);
        let mut digits = [0u8; 10];
        let mut n = fd.as_raw_fd().max(0) as u32;
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for (i, d) in digits[..len].iter().rev().enumerate() {
            buf[PREFIX.len() + i] = *d;
        }
        FdPath { buf }
    }

    pub fn as_cstr(&self) -> &CStr {
        // The buffer always holds a NUL after the digits (32 > 14 + 10).
        CStr::from_bytes_until_nul(&self.buf).unwrap_or(c"/proc/self/fd")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_and_split() {
        let p = InRoot::new(Path::new("/etc/../etc/./x//hosts")).expect("valid");
        assert_eq!(p.path(), Path::new("/etc/x/hosts"));
        let steps: Vec<(&str, &str)> = p
            .steps
            .iter()
            .map(|(a, b)| (a.to_str().unwrap_or("?"), b.to_str().unwrap_or("?")))
            .collect();
        assert_eq!(
            steps,
            [("/etc", "etc"), ("/etc/x", "x"), ("/etc/x/hosts", "hosts")]
        );
        assert!(InRoot::new(Path::new("relative")).is_none());
        assert!(InRoot::new(Path::new("/")).is_none());
        assert!(InRoot::new(Path::new("/..")).is_none());
    }

    #[test]
    fn fd_paths_format_without_allocating() {
        struct Fd(i32);
        impl AsRawFd for Fd {
            fn as_raw_fd(&self) -> i32 {
                self.0
            }
        }
        assert_eq!(FdPath::new(&Fd(0)).as_cstr(), c"/proc/self/fd/0");
        assert_eq!(
            FdPath::new(&Fd(1234567890)).as_cstr(),
            c"/proc/self/fd/1234567890"
        );
    }
}
