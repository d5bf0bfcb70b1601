//! `den`: parse the command line, call into the runtime, print. Nothing else lives here.

mod cmd;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
enum Command {
    /// Run a command in a new container.
    Run(Box<cmd::run::Args>),
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
    /// Print a detached container's output.
    Logs(cmd::logs::Args),
    /// List a container's processes with their PIDs inside and on the host.
    Top(cmd::top::Args),
    /// Show a container's details as JSON.
    Inspect(cmd::inspect::Args),
    /// List a container's published ports.
    Port(cmd::inspect::PortArgs),
    /// Remove what killed den processes left behind.
    Gc(cmd::gc::Args),
    /// Pull an image from a registry.
    Pull(cmd::pull::Args),
    /// Log in to a registry (docker's config.json).
    Login(cmd::login::LoginArgs),
    /// Log out from a registry.
    Logout(cmd::login::LogoutArgs),
    /// Give an image another name: den tag SOURCE TARGET.
    Tag { source: String, target: String },
    /// List images (as `image ls`).
    Images(cmd::image::LsArgs),
    /// Remove images (as `image rm`).
    Rmi(cmd::image::RmArgs),
    /// Manage images.
    #[command(subcommand)]
    Image(cmd::image::Command),
    /// Manage networks.
    #[command(subcommand)]
    Network(cmd::network::Command),
}

fn main() -> ExitCode {
    // A detached container's supervisor re-executes den under another name (see
    // den_runtime::supervisor); that mode needs none of the rest.
    if let Some(code) = den_runtime::supervisor::main_if_supervisor() {
        return ExitCode::from(code);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line, like every other den error; exit 125 like docker's own failures.
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid arguments");
            eprintln!("den: {}", first.trim_start_matches("error: "));
            return ExitCode::from(125);
        }
    };
    if std::env::var_os("DEN_TRACE").is_some() {
        den_netcfg::trace::enable();
    }
    let status = match cli.command {
        Command::Run(args) => cmd::run::main(&cli.root, *args),
        Command::Ps(args) => cmd::ps::main(&cli.root, args),
        Command::Exec(args) => cmd::exec::main(&cli.root, args),
        Command::Rm(args) => cmd::rm::main(&cli.root, args),
        Command::Stop(args) => cmd::stop::main(&cli.root, args),
        Command::Kill(args) => cmd::kill::main(&cli.root, args),
        Command::Start(args) => cmd::start::main(&cli.root, args),
        Command::Logs(args) => cmd::logs::main(&cli.root, args),
        Command::Top(args) => cmd::top::main(&cli.root, args),
        Command::Inspect(args) => cmd::inspect::main(&cli.root, args),
        Command::Port(args) => cmd::inspect::port(&cli.root, args),
        Command::Pull(args) => cmd::pull::main(&cli.root, args),
        Command::Login(args) => cmd::login::login(args),
        Command::Logout(args) => cmd::login::logout(args),
        Command::Tag { source, target } => cmd::image::tag(&cli.root, &source, &target),
        Command::Images(args) => cmd::image::main(&cli.root, cmd::image::Command::Ls(args)),
        Command::Rmi(args) => cmd::image::main(&cli.root, cmd::image::Command::Rm(args)),
        Command::Image(c) => cmd::image::main(&cli.root, c),
        Command::Network(c) => cmd::network::main(&cli.root, c),
        Command::Gc(args) => cmd::gc::main(&cli.root, args),
    };
    match status {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("den: {}", report::one_line(e.chain()));
            ExitCode::from(125)
        }
    }
}
