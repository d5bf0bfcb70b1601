//! oci-shim: what conmon and containerd's shim are to an OCI runtime, reduced to what the tests
//! need: become a child subreaper, run `RUNTIME ... create --pid-file F ...`, and reap the
//! container it leaves behind.
//!
//! `oci-shim STATUS_FILE PID_FILE -- RUNTIME ARGS...` appends `runtime CODE` to STATUS_FILE when
//! the runtime exits, then `exit CODE` (128+N for signal N) when the process named in PID_FILE
//! is reaped, and exits once it has no children left.

use std::fs::OpenOptions;
use std::io::Write;
use std::process::Command;

fn note(path: &str, line: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("oci-shim: open {path}: {e}"));
    writeln!(f, "{line}").unwrap_or_else(|e| panic!("oci-shim: write {path}: {e}"));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (status_file, pid_file) = match args.as_slice() {
        [s, p, dash, ..] if dash == "--" => (s.clone(), p.clone()),
        _ => panic!("usage: oci-shim STATUS_FILE PID_FILE -- RUNTIME ARGS..."),
    };
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "oci-shim: PR_SET_CHILD_SUBREAPER failed");
    let status = Command::new(&args[3])
        .args(&args[4..])
        .status()
        .unwrap_or_else(|e| panic!("oci-shim: run {}: {e}", args[3]));
    note(
        &status_file,
        &format!("runtime {}", status.code().unwrap_or(-1)),
    );
    let container: Option<i32> = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    loop {
        let mut st = 0;
        // SAFETY: waitpid with a valid pointer to a local int.
        let pid = unsafe { libc::waitpid(-1, &mut st, 0) };
        if pid < 0 {
            break;
        }
        if Some(pid) == container {
            let code = match libc::WIFSIGNALED(st) {
                true => 128 + libc::WTERMSIG(st),
                false => libc::WEXITSTATUS(st),
            };
            note(&status_file, &format!("exit {code}"));
        }
    }
}
