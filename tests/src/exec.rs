//! Running commands with a deadline, their output captured in files (so a background
//! grandchild holding stdout open cannot hang the harness).

use std::fmt;
use std::fs::{self, File};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a foreground command may run before the harness kills it and fails the test.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The exit code as a shell reports it: the code, or 128+N if killed by signal N.
    pub fn code(&self) -> i32 {
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            (None, None) => -1,
        }
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics with the whole output unless the command exited 0.
    #[track_caller]
    pub fn ok(self) -> Self {
        self.expect_code(0)
    }

    /// Panics with the whole output unless the command exited with `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code(), code, "unexpected exit status\n{self}");
        self
    }

    /// stdout with surrounding whitespace removed.
    pub fn out(&self) -> &str {
        self.stdout.trim()
    }

    /// Non-empty stderr lines.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.what)?;
        writeln!(f, "exit: {} ({})", self.code(), self.status)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

/// Files a spawned command writes its stdout and stderr to.
#[derive(Debug, Clone)]
pub struct Capture {
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Capture {
    /// Capture files `<dir>/<stem>.out` and `<dir>/<stem>.err`.
    pub fn new(dir: &Path, stem: &str) -> Capture {
        Capture {
            stdout: dir.join(format!("{stem}.out")),
            stderr: dir.join(format!("{stem}.err")),
        }
    }

    /// Spawns `cmd` with stdin from /dev/null and output into the capture files.
    pub fn spawn(&self, cmd: &mut Command) -> Child {
        let out = File::create(&self.stdout)
            .unwrap_or_else(|e| panic!("create {}: {e}", self.stdout.display()));
        let err = File::create(&self.stderr)
            .unwrap_or_else(|e| panic!("create {}: {e}", self.stderr.display()));
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        cmd.spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", describe(cmd)))
    }

    /// What was written to stdout so far.
    pub fn stdout(&self) -> String {
        read_lossy(&self.stdout)
    }

    /// What was written to stderr so far.
    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr)
    }

    pub fn output(&self, what: &str, status: ExitStatus) -> Output {
        Output {
            what: what.to_string(),
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

fn read_lossy(p: &Path) -> String {
    fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Runs `cmd` to completion, capturing output in `capture`; kills it and panics after `timeout`.
pub fn run(cmd: &mut Command, capture: &Capture, timeout: Duration) -> Output {
    let what = describe(cmd);
    let mut child = capture.spawn(cmd);
    match wait_child(&mut child, timeout) {
        Some(status) => capture.output(&what, status),
        None => {
            let _ = child.kill();
            let status = child.wait().expect("wait for killed child");
            let out = capture.output(&what, status);
            panic!("command ran longer than {timeout:?}; killed it\n{out}");
        }
    }
}

/// Waits up to `timeout` for `child` to exit; `None` if it is still running.
pub fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait on a child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// A command line as text, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
