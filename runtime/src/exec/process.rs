//! The OCI process `den exec` starts: the container's own (user, capabilities, no_new_privs,
//! umask, env, cwd, from its stored spec) with the exec's command, `-e`, `-w`, `-u` and `-t`
//! applied the way docker applies them.

use std::path::Path;

use oci_spec::runtime::{Process, Spec};

use super::{ExecError, ExecOptions};
use crate::envflags::{self, has};
use crate::spec::resolve_user;
use crate::state::Container;

/// The process to start in `record`'s container, whose root directory is `root` (a path den
/// can open, e.g. `/proc/self/fd/N` of an `O_PATH` fd; `-u` names are looked up in its
/// `/etc/passwd` and `/etc/group`).
pub fn exec_process(
    spec: &Spec,
    record: &Container,
    opts: &ExecOptions,
    root: &Path,
) -> Result<Process, ExecError> {
    let mut process = spec
        .process()
        .clone()
        .ok_or_else(|| ExecError::NoProcess(record.name.clone()))?;
    let mut env = process.env().clone().unwrap_or_default();
    if let Some(spec_user) = &opts.user {
        let resolved = resolve_user(Some(spec_user), &[root.to_path_buf()])?;
        let mut user = process.user().clone();
        user.set_uid(resolved.uid);
        user.set_gid(resolved.gid);
        user.set_additional_gids(
            (!resolved.additional_gids.is_empty()).then_some(resolved.additional_gids),
        );
        user.set_username(None);
        process.set_user(user);
        // HOME came from the run user's passwd entry unless the container set it: follow the
        // exec user then (what runc does when HOME is unset).
        if !has(&record.env, "HOME") {
            envflags::set(&mut env, format!("HOME={}", resolved.home));
        }
    }
    if opts.tty && !has(&env, "TERM") {
        env.push("TERM=xterm".to_owned());
    }
    envflags::apply(&mut env, &opts.env);
    process.set_env(Some(env));
    process.set_args(Some(opts.cmd.clone()));
    process.set_terminal(Some(opts.tty));
    process.set_console_size(None);
    if let Some(dir) = &opts.workdir {
        process.set_cwd(dir.into());
    }
    Ok(process)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{self, NetNs, SpecInputs};
    use crate::state::Status;

    fn record(env: &[&str]) -> Container {
        Container {
            id: "0".repeat(64),
            name: "c".into(),
            image: "img".into(),
            image_id: "sha256:0".into(),
            command: vec!["sh".into()],
            env: env.iter().map(|e| e.to_string()).collect(),
            hostname: "h".into(),
            network_mode: "none".into(),
            created: 0,
            status: Status::Running,
            pid: None,
            pid_start: None,
            supervisor: None,
            exit_code: None,
            oom_killed: false,
            started_at: None,
            finished_at: None,
            auto_remove: false,
            network: None,
            connected: Vec::new(),
            pending_networks: Vec::new(),
            aliases: Default::default(),
            labels: Default::default(),
            exposed_ports: Vec::new(),
            life: Default::default(),
        }
    }

    fn opts() -> ExecOptions {
        ExecOptions {
            root: "/nonexistent".into(),
            container: "c".into(),
            cmd: vec!["env".into()],
            env: Vec::new(),
            workdir: None,
            user: None,
            interactive: false,
            tty: false,
        }
    }

    /// A container root with passwd/group, and a spec built for it.
    fn setup(dir: &Path) -> Spec {
        std::fs::create_dir_all(dir.join("etc")).expect("etc");
        std::fs::write(
            dir.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n",
        )
        .expect("passwd");
        std::fs::write(dir.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").expect("group");
        spec::build(&SpecInputs {
            rootfs: dir.to_path_buf(),
            args: vec!["sleep".into(), "300".into()],
            env: vec!["RUNVAR=1".into()],
            cwd: "/srv".into(),
            user: None,
            hostname: "h".into(),
            terminal: false,
            net: NetNs::New,
            etc_files: Vec::new(),
            lower_layers: Vec::new(),
            security: crate::spec::Security::default(),
        })
        .expect("spec")
    }

    #[test]
    fn keeps_the_containers_process_and_applies_the_exec_options() {
        let dir = std::env::temp_dir().join(format!("den-exec-proc-{}", std::process::id()));
        let spec = setup(&dir);
        let rec = record(&["RUNVAR=1"]);
        let plain = exec_process(&spec, &rec, &opts(), &dir).expect("process");
        let container = spec.process().as_ref().expect("process");
        assert_eq!(plain.args().as_deref(), Some(&["env".to_string()][..]));
        assert_eq!(plain.capabilities(), container.capabilities());
        assert_eq!(plain.no_new_privileges(), Some(true));
        assert_eq!(plain.cwd(), Path::new("/srv"));
        assert_eq!(plain.env(), container.env());

        let mut o = opts();
        o.env = vec!["RUNVAR=2".into(), "NEW=x".into()];
        o.workdir = Some("/tmp".into());
        o.user = Some("nobody".into());
        o.tty = true;
        let p = exec_process(&spec, &rec, &o, &dir);
        std::fs::remove_dir_all(&dir).expect("cleanup");
        let p = p.expect("process");
        let env = p.env().clone().unwrap_or_default();
        for want in ["RUNVAR=2", "NEW=x", "TERM=xterm", "HOME=/nonexistent"] {
            assert!(env.contains(&want.to_string()), "{want} missing in {env:?}");
        }
        assert_eq!(env.iter().filter(|e| e.starts_with("RUNVAR=")).count(), 1);
        assert_eq!((p.user().uid(), p.user().gid()), (65534, 65534));
        assert_eq!(p.cwd(), Path::new("/tmp"));
        assert_eq!(p.terminal(), Some(true));
    }
}
