//! `den`: parse the command line, call into the runtime, print. Nothing else lives here.

mod cmd;
mod format;
mod groups;
mod help;
mod refused_flags;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// A daemonless container runtime with docker0-style bridge networking.
#[derive(Parser)]
#[command(name = "den", version, about)]
struct Cli {
    /// State directory (containers, images, networks, leases).
    #[arg(long, global = true, env = "DEN_ROOT", default_value = "/var/lib/den")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run a command in a new container.
    Run(Box<cmd::run::Args>),
    /// Create a new container without starting it (`den start` runs it); den run's flags.
    Create(Box<cmd::run::Args>),
    /// List containers.
    Ps(cmd::ps::Args),
    /// Run a command in a running container.
    Exec(cmd::exec::Args),
    /// Remove containers.
    Rm(cmd::rm::Args),
    /// Stop running containers: SIGTERM, then SIGKILL after a grace period.
    Stop(cmd::stop::Args),
    /// Send a signal to running containers.
    Kill(cmd::kill::Args),
    /// Run exited containers again, detached.
    Start(cmd::start::Args),
    /// Stop running containers, then start them again.
    Restart(cmd::restart::Args),
    /// Freeze every process of running containers (the freezer cgroup).
    Pause(cmd::verbs::Containers),
    /// Thaw paused containers.
    Unpause(cmd::verbs::Containers),
    /// Block until containers stop, then print their exit codes.
    Wait(cmd::verbs::Containers),
    /// Rename a container: den rename OLD NEW.
    Rename(cmd::verbs::RenameArgs),
    /// Manage containers.
    #[command(subcommand)]
    Container(groups::ContainerGroup),
    /// Past and live events of containers, images, networks and volumes (den's journal).
    ///
    /// den has no daemon to watch: every den process that changes a container, image, network or
    /// volume (a detached container's supervisor too: die, health_status, oom) appends docker's
    /// event to <root>/events.jsonl, one line each. `den events` prints the past ones between
    /// --since and --until (none without either, as docker), then follows the journal until
    /// --until (for ever without it). The last 1-2 MiB are kept (events.1.jsonl, events.jsonl).
    Events(cmd::events::Args),
    /// Print a container's output (kept for detached and foreground runs, not for --rm ones).
    Logs(cmd::logs::Args),
    /// Follow a running container's output from now on, pass signals on, exit with its status.
    Attach(cmd::attach::Args),
    /// List a container's processes with their PIDs inside and on the host.
    Top(cmd::top::Args),
    /// Live CPU, memory, network and block I/O of running containers.
    Stats(cmd::stats::Args),
    /// Details of containers, images, networks or volumes (docker's shape; -f TEMPLATE).
    Inspect(cmd::inspect::Args),
    /// List a container's published ports.
    Port(cmd::inspect::PortArgs),
    /// The seeds' journey in a throwaway sandbox: none/host/bridge, PID vs net, NAT, explain, trace.
    Demo(cmd::demo::Args),
    /// Follow a packet to or from a container, hop by hop, as the kernel holds it.
    Explain(cmd::explain::Args),
    /// Trace a container's real packets through every hook, chain and rule (nftables nftrace).
    Trace(cmd::trace::Args),
    /// Remove what killed den processes left behind.
    Gc(cmd::gc::Args),
    /// Draw the network as the kernel sees it: namespaces, bridges, veth pairs, published ports.
    Topology(cmd::topology::Args),
    /// List every veth of the host and what it is paired with, in which container.
    Veth(cmd::veth::Args),
    /// Compare two processes' namespaces: which are shared, which are not.
    Ns(cmd::ns::Args),
    /// List den's nftables rules and map elements with their owners and counters.
    Rules(cmd::rules::Args),
    /// Pull an image from a registry.
    Pull(cmd::pull::Args),
    /// Push an image to a registry.
    Push(cmd::push::Args),
    /// Log in to a registry (docker's config.json).
    Login(cmd::login::LoginArgs),
    /// Log out from a registry.
    Logout(cmd::login::LogoutArgs),
    /// Give an image another name: den tag SOURCE TARGET.
    Tag {
        /// The image, by name or id.
        source: String,
        /// The new name: [HOST[:PORT]/]REPO[:TAG].
        target: String,
    },
    /// List images (as `image ls`).
    Images(cmd::image::LsArgs),
    /// Remove images (as `image rm`).
    Rmi(cmd::image::RmArgs),
    /// Load an image from a tar archive, an OCI layout or stdin (as `image load`).
    Load(cmd::image::LoadArgs),
    /// Save images to a tar archive, stdout by default (as `image save`).
    Save(cmd::image::SaveArgs),
    /// Manage images.
    #[command(subcommand)]
    Image(cmd::image::Command),
    /// Manage networks.
    #[command(subcommand)]
    Network(cmd::network::Command),
    /// Copy files between a container and the host (or a tar stream).
    Cp(cmd::cp::Args),
    /// Manage volumes.
    #[command(subcommand)]
    Volume(cmd::volume::Command),
    /// Show den's version, the client's and the runtime's (they are one binary).
    Version(cmd::system::FormatArgs),
    /// Display system-wide information: kernel, cgroups, storage, networks, counts.
    Info(cmd::system::FormatArgs),
    /// Manage den: disk usage (df), information (info), prune, events.
    #[command(subcommand)]
    System(cmd::system::Command),
    /// Print a shell completion script: den completion bash|zsh|fish.
    Completion(cmd::docs::CompletionArgs),
    /// Write man pages (den.1, den-run.1, ...) into a directory.
    Man(cmd::docs::ManArgs),
}

fn main() -> ExitCode {
    // A detached container's supervisor re-executes den under another name (see
    // den_runtime::run::supervisor); that mode needs none of the rest.
    if let Some(code) = den_runtime::run::supervisor::main_if_supervisor() {
        return ExitCode::from(code);
    }
    let parsed = help::with_groups(Cli::command())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return help::refused(e),
    };
    if std::env::var_os("DEN_TRACE").is_some() {
        den_netcfg::trace::enable();
    }
    // A relative --root means the same directory for every step, the supervisor's (which works
    // from `/`) included.
    let root = match std::path::absolute(&cli.root) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("den: resolving --root {}: {e}", cli.root.display());
            return ExitCode::from(125);
        }
    };
    if cli.command.only_reads() {
        if let Err(e) = den_runtime::default_sigpipe() {
            eprintln!("den: restoring SIGPIPE: {e}");
            return ExitCode::from(125);
        }
    }
    match dispatch(&root, cli.command) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("den: {}", den_runtime::run::one_line(e.as_ref()));
            ExitCode::from(help::exit_code(&e))
        }
    }
}

impl Command {
    /// Verbs that only read state and print it (nothing to undo if a closed pipe ends them).
    fn only_reads(&self) -> bool {
        matches!(
            self,
            Command::Ps(_)
                | Command::Events(_)
                | Command::Logs(_)
                | Command::Top(_)
                | Command::Stats(_)
                | Command::Inspect(_)
                | Command::Port(_)
                | Command::Explain(_)
                | Command::Topology(_)
                | Command::Veth(_)
                | Command::Ns(_)
                | Command::Rules(_)
                | Command::Images(_)
                | Command::Version(_)
                | Command::Info(_)
                | Command::Completion(_)
                | Command::Man(_)
        )
    }
}

/// Runs one verb; a management group's verb by the top-level one it names.
fn dispatch(root: &std::path::Path, command: Command) -> anyhow::Result<i32> {
    let root = root.to_path_buf();
    match command {
        Command::Run(args) => cmd::run::main(&root, *args),
        Command::Create(args) => cmd::run::create(&root, *args),
        Command::Ps(args) => cmd::ps::main(&root, args),
        Command::Exec(args) => cmd::exec::main(&root, args),
        Command::Rm(args) => cmd::rm::main(&root, args),
        Command::Stop(args) => cmd::stop::main(&root, args),
        Command::Kill(args) => cmd::kill::main(&root, args),
        Command::Start(args) => cmd::start::main(&root, args),
        Command::Restart(args) => cmd::restart::main(&root, args),
        Command::Pause(args) => cmd::verbs::pause(&root, args),
        Command::Unpause(args) => cmd::verbs::unpause(&root, args),
        Command::Wait(args) => cmd::verbs::wait(&root, args),
        Command::Rename(args) => cmd::verbs::rename(&root, args),
        Command::Container(groups::ContainerGroup::Prune(c)) => cmd::verbs::container(&root, c),
        Command::Container(c) => dispatch(&root, c.into()),
        Command::System(c) => cmd::system::main(&root, c),
        Command::Events(args) => cmd::events::main(&root, args),
        Command::Logs(args) => cmd::logs::main(&root, args),
        Command::Attach(args) => cmd::attach::main(&root, args),
        Command::Top(args) => cmd::top::main(&root, args),
        Command::Stats(args) => cmd::stats::main(&root, args),
        Command::Inspect(args) => cmd::inspect::main(&root, args),
        Command::Port(args) => cmd::inspect::port(&root, args),
        Command::Image(c) => cmd::image::main(&root, c),
        Command::Network(c) => cmd::network::main(&root, c),
        Command::Volume(c) => cmd::volume::main(&root, c),
        Command::Cp(args) => cmd::cp::main(&root, args),
        Command::Gc(args) => cmd::gc::main(&root, args),
        Command::Explain(args) => cmd::explain::main(&root, args),
        Command::Demo(args) => cmd::demo::main(&root, args),
        Command::Trace(args) => cmd::trace::main(&root, args),
        Command::Topology(args) => cmd::topology::main(&root, args),
        Command::Veth(args) => cmd::veth::main(&root, args),
        Command::Ns(args) => cmd::ns::main(&root, args),
        Command::Rules(args) => cmd::rules::main(&root, args),
        Command::Pull(args) => cmd::pull::main(&root, args),
        Command::Push(args) => cmd::push::main(&root, args),
        Command::Login(args) => cmd::login::login(args),
        Command::Logout(args) => cmd::login::logout(args),
        Command::Tag { source, target } => cmd::image::tag(&root, &source, &target),
        Command::Images(args) => cmd::image::main(&root, cmd::image::Command::Ls(args)),
        Command::Rmi(args) => cmd::image::main(&root, cmd::image::Command::Rm(args)),
        Command::Load(args) => cmd::image::main(&root, cmd::image::Command::Load(args)),
        Command::Save(args) => cmd::image::main(&root, cmd::image::Command::Save(args)),
        Command::Version(args) => cmd::system::version(&root, args),
        Command::Info(args) => cmd::system::info(&root, args),
        Command::Completion(args) => cmd::docs::completion(args),
        Command::Man(args) => cmd::docs::man(args),
    }
}
