//! den-runtime, den's OCI runtime binary, driven as an engine drives runc: a bundle of the fixture
//! rootfs, `create` under a subreaper shim (as conmon, containerd's shim), then `start`, `state`,
//! `kill`, `delete`; the spec's fields honoured in the container; the hooks at their points;
//! bad input refused with exit 1, one line and runc's JSON log record.

mod cgroup_mount;
mod containerd;
mod hooks;
mod lifecycle;
mod podman;
mod reject;
mod spec_fields;
mod userns;

use std::time::Duration;

use den_tests::{wait_until, Sandbox};

pub const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// Wait until `state ID` says `status`.
pub fn wait_status(sb: &Sandbox, id: &str, status: &str) {
    wait_until(EXIT_TIMEOUT, &format!("{id} to be {status}"), || {
        sb.oci_state(id)["status"] == status
    });
}

/// Wait for the shim's line `runtime CODE` and return CODE.
pub fn created(sb: &Sandbox, id: &str) -> i32 {
    let mut code = None;
    wait_until(EXIT_TIMEOUT, &format!("create of {id} to return"), || {
        code = sb
            .oci_status(id)
            .iter()
            .find_map(|l| l.strip_prefix("runtime ")?.parse().ok());
        code.is_some()
    });
    code.unwrap_or_default()
}

/// Wait for the shim's line `exit CODE` (the container's PID 1 reaped) and return CODE.
pub fn exited(sb: &Sandbox, id: &str) -> i32 {
    let mut code = None;
    wait_until(EXIT_TIMEOUT, &format!("{id}'s PID 1 to exit"), || {
        code = sb
            .oci_status(id)
            .iter()
            .find_map(|l| l.strip_prefix("exit ")?.parse().ok());
        code.is_some()
    });
    code.unwrap_or_default()
}
