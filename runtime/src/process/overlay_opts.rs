//! The overlay mount's option string for a container's rootfs: its layers top first, named
//! relative to their shared directory when the absolute paths pass the kernel's page-size limit.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use super::proc_plan::c;
use super::{Overlay, ProcessError};

/// `lowerdir=TOP:...:BOTTOM,upperdir=U,workdir=W`. When that is over the kernel's 4095 bytes
/// and the lower dirs share one parent (den's image store links them as `images/l/<short>`), they
/// are named relative to it and the second value is the directory to mount from.
pub(super) fn overlay_data(o: &Overlay) -> Result<(CString, Option<CString>), ProcessError> {
    if o.lower.is_empty() {
        return Err(ProcessError::MissingField {
            field: "overlay lower layer",
        });
    }
    let all = o.lower.iter().chain([&o.upper, &o.work]);
    for p in all {
        let bytes = p.as_os_str().as_bytes();
        if !p.is_absolute() || bytes.iter().any(|b| matches!(b, b',' | b':' | b'\\')) {
            return Err(ProcessError::Invalid {
                what: "overlay directory",
                value: p.display().to_string(),
            });
        }
    }
    let data = |lower: Vec<&[u8]>| {
        let mut data = b"lowerdir=".to_vec();
        data.extend(lower.join(&b':'));
        data.extend(b",upperdir=");
        data.extend(o.upper.as_os_str().as_bytes());
        data.extend(b",workdir=");
        data.extend(o.work.as_os_str().as_bytes());
        data
    };
    let full = data(
        o.lower
            .iter()
            .rev()
            .map(|p| p.as_os_str().as_bytes())
            .collect(),
    );
    if full.len() <= 4095 {
        return Ok((c("overlay options", full)?, None));
    }
    let parent = o.lower[0].parent();
    let shared = parent.filter(|&dir| o.lower.iter().all(|p| p.parent() == Some(dir)));
    let short = shared.map(|dir| {
        let names = o.lower.iter().rev();
        (
            dir,
            data(
                names
                    .filter_map(|p| p.file_name())
                    .map(|n| n.as_bytes())
                    .collect(),
            ),
        )
    });
    match short {
        Some((dir, short)) if short.len() <= 4095 => Ok((
            c("overlay options", short)?,
            Some(c("overlay lower dir", dir.as_os_str().as_bytes())?),
        )),
        _ => Err(ProcessError::OverlayTooLong { len: full.len() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_layers_go_top_first() {
        let o = Overlay {
            lower: vec!["/l/base".into(), "/l/mid".into(), "/l/top".into()],
            upper: "/c/upper".into(),
            work: "/c/work".into(),
        };
        assert_eq!(
            overlay_data(&o).expect("data").0.as_c_str(),
            c"lowerdir=/l/top:/l/mid:/l/base,upperdir=/c/upper,workdir=/c/work"
        );
        let bad = Overlay {
            lower: vec!["/l/a:b".into()],
            ..o
        };
        assert!(overlay_data(&bad).is_err());
    }

    #[test]
    fn many_layers_are_named_relative_to_their_shared_dir() {
        let dir = "/var/lib/den/images/l";
        let o = Overlay {
            lower: (0..125).map(|i| format!("{dir}/{i:016x}").into()).collect(),
            upper: "/c/upper".into(),
            work: "/c/work".into(),
        };
        let (data, cwd) = overlay_data(&o).expect("125 layers fit");
        assert_eq!(cwd.as_deref(), Some(c"/var/lib/den/images/l"));
        let data = data.to_str().unwrap();
        assert!(
            data.starts_with("lowerdir=000000000000007c:000000000000007b:"),
            "{data}"
        );
        assert!(data.ends_with(":0000000000000000,upperdir=/c/upper,workdir=/c/work"));
        let apart = Overlay {
            lower: (0..125)
                .map(|i| format!("/x{i}/{:0100}", 0).into())
                .collect(),
            ..o
        };
        assert!(matches!(
            overlay_data(&apart),
            Err(ProcessError::OverlayTooLong { .. })
        ));
    }
}
