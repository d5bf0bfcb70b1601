//! den-runtime: den as an OCI runtime, with runc 1.1's command line, for podman (`--runtime`),
//! containerd's runc shim (`--runc-binary`, `BinaryName`) and so Kubernetes. A thin front: it
//! parses flags and calls `den_runtime::oci`; each verb runs and exits (the engine supervises).
//! Errors: one line on stderr and, with `--log`, a record in runc's format there (conmon and
//! containerd read it); exit status 1.

mod defaults;
mod exec;
mod log;
mod verbs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "den-runtime", version = verbs::VERSION, disable_version_flag = true, about = "den as an OCI runtime (runc's command line)")]
struct Cli {
    /// Print the version (runc's -v/--version).
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    /// Where container state lives.
    #[arg(long, global = true, default_value = "/run/den-runtime")]
    root: PathBuf,
    /// Also write errors (and with --debug, each verb) to this file.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[arg(long, global = true)]
    debug: bool,
    /// Use systemd for cgroups (not supported: den drives cgroupfs).
    #[arg(long, global = true)]
    systemd_cgroup: bool,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The bundle directory (config.json and usually the rootfs).
    #[arg(long, short = 'b', default_value = ".")]
    bundle: PathBuf,
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// A unix socket that receives the pty master (SCM_RIGHTS) when process.terminal is set.
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// Accepted for runc compatibility; den always pivot_roots.
    #[arg(long)]
    no_pivot: bool,
    /// Accepted; den never makes a session keyring.
    #[arg(long)]
    no_new_keyring: bool,
    /// Pass fds 3..3+N on to the container.
    #[arg(long, default_value_t = 0)]
    preserve_fds: u32,
    id: String,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Create a container: set up, waiting for `start`.
    Create(CreateArgs),
    /// Run the created container's process.
    Start { id: String },
    /// Print the container's OCI state JSON.
    State { id: String },
    /// Send a signal (name or number; default SIGTERM).
    Kill {
        #[arg(long, short = 'a')]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Remove a stopped (or created) container; --force kills a running one.
    Delete {
        #[arg(long, short = 'f')]
        force: bool,
        id: String,
    },
    /// Create and start; in the foreground, wait and delete.
    Run {
        #[command(flatten)]
        create: CreateArgs,
        #[arg(long, short = 'd')]
        detach: bool,
    },
    /// Freeze every process of a running container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Run a process in a running container.
    Exec(exec::ExecArgs),
    /// Write a default config.json.
    Spec {
        #[arg(long, short = 'b', default_value = ".")]
        bundle: PathBuf,
        #[arg(long)]
        rootless: bool,
    },
    /// Print what this runtime supports (the OCI features JSON).
    Features,
    /// List containers.
    List {
        #[arg(long, short = 'f', default_value = "table")]
        format: String,
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// The processes of a container.
    Ps {
        #[arg(long, short = 'f', default_value = "table")]
        format: String,
        id: String,
        /// Options for ps(1) (default -ef).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = log::Log::new(cli.log.clone(), cli.log_format);
    if cli.debug {
        log.write("debug", &format!("{:?}", cli.verb));
    }
    let result = match cli.systemd_cgroup {
        true => Err(anyhow::anyhow!(
            "--systemd-cgroup is not supported: den drives cgroupfs (use --cgroup-manager cgroupfs)"
        )),
        false => verbs::run(&cli.root, cli.verb),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let msg = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("den-runtime: {msg}");
            log.write("error", &msg);
            ExitCode::FAILURE
        }
    }
}
