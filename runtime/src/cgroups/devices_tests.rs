use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::spec::default_device_rules;

/// Run `p` on the kernel's context for one check, with the eight opcodes `program` emits.
fn eval(p: &[Insn], typ: i32, access: i32, major: u32, minor: u32) -> u64 {
    let ctx = [(typ | (access << 16)) as u32, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let i = p[pc];
        let (dst, src) = ((i.regs & 0x0f) as usize, (i.regs >> 4) as usize);
        pc += 1;
        match i.code {
            LDX_MEM_W => r[dst] = u64::from(ctx[i.off as usize / 4]),
            ALU32_AND_K => r[dst] = u64::from(r[dst] as u32 & i.imm as u32),
            ALU32_RSH_K => r[dst] = u64::from((r[dst] as u32) >> i.imm),
            ALU32_MOV_K => r[dst] = u64::from(i.imm as u32),
            ALU32_MOV_X => r[dst] = u64::from(r[src] as u32),
            JMP32_JNE_K if r[dst] as u32 != i.imm as u32 => pc += i.off as usize,
            JMP32_JNE_X if r[dst] as u32 != r[src] as u32 => pc += i.off as usize,
            JMP32_JNE_K | JMP32_JNE_X => {}
            EXIT => return r[0],
            c => panic!("opcode {c:#x} not emitted by program()"),
        }
    }
}

#[test]
fn dockers_default_rules_allow_the_usual_char_devices_and_mknod_only() {
    let p = program(&default_device_rules().expect("rules")).expect("program");
    let ok = |t, a, ma, mi| eval(&p, t, a, ma, mi) == 1;
    assert!(ok(DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), "/dev/null rw");
    assert!(ok(DEV_CHAR, ACC_READ, 136, 4), "a pts");
    assert!(ok(DEV_CHAR, ACC_READ, 10, 200), "tun");
    assert!(ok(DEV_BLOCK, ACC_MKNOD, 7, 0), "mknod of a block device");
    assert!(!ok(DEV_BLOCK, ACC_READ, 7, 0), "read of loop0");
    assert!(!ok(DEV_BLOCK, ACC_WRITE, 8, 0), "write of sda");
    assert!(!ok(DEV_CHAR, ACC_READ, 10, 229), "fuse");
    assert!(!ok(DEV_CHAR, ACC_READ, 1, 1), "/dev/mem");
}

#[test]
fn later_rules_override_earlier_ones_and_a_full_wildcard_sets_the_default() {
    let rule = |allow: bool, typ, major: Option<i64>, access: &str| {
        let mut b = oci_spec::runtime::LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .access(access.to_owned());
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        b.build().expect("rule")
    };
    let all_then_deny = [
        rule(true, None, None, "rwm"),
        rule(false, Some(LinuxDeviceType::B), Some(8), "rw"),
    ];
    let p = program(&all_then_deny).expect("program");
    assert_eq!(eval(&p, DEV_BLOCK, ACC_READ, 8, 1), 0);
    assert_eq!(eval(&p, DEV_BLOCK, ACC_MKNOD, 8, 1), 1);
    assert_eq!(eval(&p, DEV_CHAR, ACC_READ, 4, 1), 1);
    // The wildcard deny last wins over the allow before it.
    let deny_last = [all_then_deny[1].clone(), rule(false, None, None, "rwm")];
    assert_eq!(
        eval(&program(&deny_last).expect("program"), DEV_CHAR, 2, 1, 3),
        0
    );
    let bad = rule(true, Some(LinuxDeviceType::C), None, "rx");
    assert!(program(&[bad]).is_err());
}

/// The cgroup2 mount and this process's own cgroup dir in it, if there is one.
fn own_unified() -> Option<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mount = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .find(|m| {
            Path::new(m).join("cgroup.procs").exists()
                && Path::new(m).join("cgroup.controllers").exists()
        })?;
    Some(Path::new(mount).join(own.trim_start_matches('/')))
}

/// A child cgroup of the test's own unified cgroup and a scratch dir, removed on drop (the
/// program detached first).
struct Scratch {
    cgroup: PathBuf,
    dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = detach_all(&self.cgroup);
        let _ = super::super::remove_dirs(std::slice::from_ref(&self.cgroup));
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `sh` moved into `cgroup`, making a loop0 node and reading it and /dev/null: its output.
fn probe(cgroup: &Path, dir: &Path, node: &str) -> String {
    let script = format!(
        "echo $$ > {cg}/cgroup.procs || exit 9; mknod {node} b 7 0 && echo mknod=ok; \
         head -c1 {node} >/dev/null && echo blk=ok; rm -f {node}; head -c1 /dev/null && echo null=ok",
        cg = cgroup.display(),
        node = dir.join(node).display(),
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("sh");
    assert_ne!(
        out.status.code(),
        Some(9),
        "could not join {}",
        cgroup.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn attached_program_denies_reading_a_block_device_but_not_dev_null() {
    let Some(own) = own_unified() else {
        eprintln!("skipped: no cgroup2 hierarchy mounted here");
        return;
    };
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (bpf and cgroups)");
        return;
    }
    let pid = std::process::id();
    let s = Scratch {
        cgroup: own.join(format!("den-devices-test-{pid}")),
        dir: std::env::temp_dir().join(format!("den-devices-test-{pid}")),
    };
    fs::create_dir(&s.cgroup).expect("child cgroup");
    fs::create_dir(&s.dir).expect("scratch dir");
    let before = probe(&s.cgroup, &s.dir, "control");
    assert!(before.contains("mknod=ok"), "{before}");
    assert!(
        !before.contains("Operation not permitted"),
        "control: {before}"
    );

    let prog = attach(&s.cgroup, &default_device_rules().expect("rules")).expect("attach");
    assert_eq!(
        bpf::device_program_ids(prog.cgroup.as_fd())
            .expect("query")
            .len(),
        1
    );
    let after = probe(&s.cgroup, &s.dir, "loop0");
    assert!(after.contains("mknod=ok"), "{after}");
    assert!(!after.contains("blk=ok"), "{after}");
    assert!(after.contains("Operation not permitted"), "{after}");
    assert!(after.contains("null=ok"), "{after}");

    prog.detach().expect("detach");
    assert!(
        bpf::device_program_ids(File::open(&s.cgroup).expect("open").as_fd())
            .expect("query")
            .is_empty()
    );
    // As a waiter does, holding no handle: by the ids the cgroup lists.
    let again = attach(&s.cgroup, &default_device_rules().expect("rules")).expect("attach");
    drop(again);
    detach_all(&s.cgroup).expect("detach all");
    let left = bpf::device_program_ids(File::open(&s.cgroup).expect("open").as_fd());
    assert!(left.expect("query").is_empty());
}
