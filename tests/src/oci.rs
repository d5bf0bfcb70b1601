//! den-runtime (the OCI runtime) in a sandbox: bundles of the fixture rootfs, the verbs with
//! `--root <sandbox root>/oci` and runc's JSON error log, and `create` under a subreaper shim
//! (as conmon or containerd's shim run it).

use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use crate::bin::{den_runtime_bin, profile_dir};
use crate::exec::{self, Output, CMD_TIMEOUT};
use crate::spawn::{Kind, Proc};
use crate::{fixtures, Sandbox};

/// A bundle in the sandbox's scratch dir: a copy of the fixture rootfs (so the container's
/// mounts lie under the sandbox, which finds and stops it) and a config.json to edit.
#[derive(Debug)]
pub struct OciBundle {
    pub dir: PathBuf,
    pub config: Value,
}

impl OciBundle {
    /// Write `config` to `DIR/config.json`.
    pub fn save(&self) {
        let body = serde_json::to_vec_pretty(&self.config).expect("config serialises");
        fs::write(self.dir.join("config.json"), body).expect("write config.json");
    }

    /// The value at JSON pointer `ptr` (e.g. `/process/args`), made if missing.
    pub fn set(&mut self, ptr: &str, value: Value) -> &mut Self {
        let mut at = &mut self.config;
        for key in ptr.trim_start_matches('/').split('/') {
            if at.get(key).is_none_or(|v| v.is_null()) {
                at[key] = json!({});
            }
            at = &mut at[key];
        }
        *at = value;
        self
    }

    pub fn arg(&self) -> &str {
        self.dir.to_str().expect("UTF-8 bundle path")
    }
}

impl Sandbox {
    /// den-runtime's `--root`.
    pub fn oci_root(&self) -> PathBuf {
        self.root().join("oci")
    }

    /// The `--log` file of every verb (runc's JSON records).
    pub fn oci_log(&self) -> PathBuf {
        self.scratch().join("oci-log.json")
    }

    /// A bundle `name` running `args`: den-runtime's default spec with no terminal, root
    /// `rootfs` (relative), writable, and its cgroup under the sandbox's parent.
    pub fn oci_bundle(&self, name: &str, args: &[&str]) -> OciBundle {
        let dir = self.scratch().join(format!("bundle-{name}"));
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let copy = Command::new("cp")
            .arg("-a")
            .arg(&fixtures().dir)
            .arg(dir.join("rootfs"))
            .status()
            .expect("run cp");
        assert!(copy.success(), "cp -a of the fixture rootfs failed");
        let spec = Command::new(den_runtime_bin())
            .args(["spec", "--bundle"])
            .arg(&dir)
            .output()
            .expect("run den-runtime spec");
        assert!(spec.status.success(), "den-runtime spec: {spec:?}");
        let body = fs::read(dir.join("config.json")).expect("read config.json");
        let mut b = OciBundle {
            dir,
            config: serde_json::from_slice(&body).expect("spec writes JSON"),
        };
        let cgroup = format!("{}/{name}", crate::cgroups::parent(self.name()));
        b.set("/process/terminal", json!(false))
            .set("/process/args", json!(args))
            .set("/root/readonly", json!(false))
            .set("/linux/cgroupsPath", json!(cgroup));
        b.save();
        b
    }

    fn oci_cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.host_ns_path().display()))
            .arg("--")
            .arg(den_runtime_bin())
            .arg("--root")
            .arg(self.oci_root())
            .arg("--log")
            .arg(self.oci_log())
            .arg("--log-format")
            .arg("json")
            .args(args);
        cmd
    }

    /// `den-runtime ARGS` to completion (stdin /dev/null).
    pub fn oci<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        exec::run(&mut self.oci_cmd(args), &self.capture("oci"), CMD_TIMEOUT)
    }

    /// `den-runtime create --bundle B --pid-file P ID` under `oci-shim`, which reaps the
    /// container; its status file says `runtime CODE` then `exit CODE` (see [`Sandbox::oci_status`]).
    pub fn oci_create(&self, bundle: &OciBundle, id: &str) -> Proc {
        let shim = profile_dir().join("oci-shim");
        assert!(
            shim.is_file(),
            "{} missing: cargo test -p den-tests builds it",
            shim.display()
        );
        let pid_file = self.scratch().join(format!("{id}.pid"));
        let status = self.scratch().join(format!("{id}.status"));
        let inner = self.oci_cmd(&[
            "create",
            "--bundle",
            bundle.arg(),
            "--pid-file",
            pid_file.to_str().expect("UTF-8"),
            id,
        ]);
        let mut cmd = Command::new(shim);
        cmd.arg(&status)
            .arg(&pid_file)
            .arg("--")
            .arg(inner.get_program());
        cmd.args(inner.get_args());
        self.spawn_tracked(cmd, "oci-shim", Kind::Plain)
    }

    /// The lines `oci-shim` wrote for container `id` so far.
    pub fn oci_status(&self, id: &str) -> Vec<String> {
        let path = self.scratch().join(format!("{id}.status"));
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// `den-runtime state ID` as JSON (panics if the verb fails).
    pub fn oci_state(&self, id: &str) -> Value {
        let out = self.oci(&["state", id]).ok();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("state of {id} is not JSON ({e}): {}", out.stdout))
    }

    /// The last record of the `--log` file.
    pub fn oci_last_log(&self) -> Value {
        let text = fs::read_to_string(self.oci_log()).unwrap_or_default();
        let last = text
            .lines()
            .last()
            .unwrap_or_else(|| panic!("the --log file is empty"));
        serde_json::from_str(last).unwrap_or_else(|e| panic!("log line {last:?}: {e}"))
    }
}

/// A refused verb: exit 1, one `den-runtime: ` line on stderr naming every culprit, and the same
/// message as runc's JSON error record in the sandbox's `--log`.
pub fn assert_oci_rejected(sb: &Sandbox, out: &Output, culprits: &[&str]) {
    assert_eq!(out.code(), 1, "{out}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "one stderr line expected: {out}");
    let line = lines[0];
    assert!(line.starts_with("den-runtime: "), "{out}");
    for c in culprits {
        assert!(line.contains(c), "stderr does not name {c:?}: {out}");
    }
    let rec = sb.oci_last_log();
    assert_eq!(rec["level"], "error", "{rec}");
    assert!(rec["time"].is_string(), "{rec}");
    let msg = rec["msg"].as_str().unwrap_or_default();
    assert_eq!(Some(msg), line.strip_prefix("den-runtime: "), "{rec}");
}
