//! pause/resume: the container's freezer. cgroup v2: `cgroup.freeze` in its cgroup. v1: den's
//! cgroups include the freezer hierarchy's dir; where they do not, `create` makes the container its
//! own cgroup there (at its cgroupsPath, placed as the others), recorded for `delete`.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::record::{load, OciStatus, Record};
use super::OciError;

/// The v1 freezer dir for cgroup `path` (the spec's cgroupsPath), if there is a freezer hierarchy.
pub fn v1_dir(path: &str) -> Option<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        let mut r = right.split_whitespace();
        let is_freezer = r.next() == Some("cgroup") && r.nth(1)?.split(',').any(|o| o == "freezer");
        let point = left.split_whitespace().nth(4)?;
        is_freezer.then(|| PathBuf::from(point))
    })?;
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own.lines().find_map(|l| {
        let mut p = l.splitn(3, ':');
        let (_, list, path) = (p.next()?, p.next()?, p.next()?);
        list.split(',')
            .any(|c| c == "freezer")
            .then(|| path.to_owned())
    })?;
    let base = if path.starts_with('/') {
        "/"
    } else {
        own.as_str()
    };
    let rel: PathBuf = Path::new(path)
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    Some(mount.join(base.trim_start_matches('/')).join(rel))
}

/// Make the freezer dir and move `pid` in.
pub fn join(dir: &Path, pid: i32) -> Result<(), OciError> {
    fs::create_dir_all(dir).map_err(OciError::io("creating", dir))?;
    let procs = dir.join("cgroup.procs");
    fs::write(&procs, pid.to_string()).map_err(OciError::io("writing", procs))
}

fn target(r: &Record) -> Option<(PathBuf, &'static str, &'static str, &'static str)> {
    if let Some(dir) = &r.freezer {
        return Some((dir.join("freezer.state"), "FROZEN", "THAWED", "FROZEN"));
    }
    let cg = r.cgroup.as_ref()?;
    if cg.v2 {
        return Some((cg.dirs.first()?.join("cgroup.freeze"), "1", "0", "1"));
    }
    // v1: den's cgroups include one in the freezer hierarchy.
    let dir = cg.dirs.iter().find(|d| d.join("freezer.state").exists())?;
    Some((dir.join("freezer.state"), "FROZEN", "THAWED", "FROZEN"))
}

/// `pause` (true) or `resume` (false) container `id`.
pub fn set_frozen(root: &Path, id: &str, frozen: bool) -> Result<(), OciError> {
    let r = load(root, id)?;
    let status = r.status(root);
    match (frozen, status) {
        (true, OciStatus::Running) | (false, OciStatus::Paused) => {}
        _ => {
            return Err(OciError::NotCreated {
                id: id.to_owned(),
                status: format!(
                    "{status}, so cannot be {}",
                    if frozen { "paused" } else { "resumed" }
                ),
            })
        }
    }
    let (file, freeze, thaw, done) = target(&r).ok_or(OciError::Unsupported {
        field: "pause without a freezer cgroup",
    })?;
    let value = if frozen { freeze } else { thaw };
    fs::write(&file, value).map_err(OciError::io("writing", &file))?;
    if !frozen {
        return Ok(());
    }
    // v1 goes FREEZING -> FROZEN; wait for it (runc does), briefly.
    let deadline = Instant::now() + Duration::from_secs(5);
    while fs::read_to_string(&file).is_ok_and(|s| s.trim() != done) && Instant::now() < deadline {
        sleep(Duration::from_millis(1));
    }
    Ok(())
}
