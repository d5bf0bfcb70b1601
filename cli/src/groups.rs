//! docker's `container` management group: `den container ls|run|rm|…` are the top-level verbs
//! under the names `docker container` gives them (`ls` is `ps`), plus `prune`.

use crate::{cmd, Command};

#[derive(clap::Subcommand)]
pub enum ContainerGroup {
    /// List containers (as `den ps`).
    #[command(visible_alias = "ps", alias = "list")]
    Ls(cmd::ps::Args),
    /// Run a command in a new container.
    Run(Box<cmd::run::Args>),
    /// Create a new container without starting it.
    Create(Box<cmd::run::Args>),
    /// Run a command in a running container.
    Exec(cmd::exec::Args),
    /// Remove containers.
    #[command(alias = "remove")]
    Rm(cmd::rm::Args),
    /// Stop running containers.
    Stop(cmd::stop::Args),
    /// Send a signal to running containers.
    Kill(cmd::kill::Args),
    /// Run exited containers again, detached.
    Start(cmd::start::Args),
    /// Stop running containers, then start them again.
    Restart(cmd::restart::Args),
    /// Freeze every process of running containers.
    Pause(cmd::verbs::Containers),
    /// Thaw paused containers.
    Unpause(cmd::verbs::Containers),
    /// Block until containers stop, then print their exit codes.
    Wait(cmd::verbs::Containers),
    /// Rename a container.
    Rename(cmd::verbs::RenameArgs),
    /// Print a container's output.
    Logs(cmd::logs::Args),
    /// Follow a running container's output from now on, pass signals on.
    Attach(cmd::attach::Args),
    /// List a container's processes.
    Top(cmd::top::Args),
    /// Live resource usage of running containers.
    Stats(cmd::stats::Args),
    /// Details of containers (docker's shape; -f TEMPLATE).
    Inspect(cmd::inspect::Args),
    /// List a container's published ports.
    Port(cmd::inspect::PortArgs),
    /// Copy files between a container and the host.
    Cp(cmd::cp::Args),
    /// Remove all stopped containers.
    #[command(flatten)]
    Prune(cmd::verbs::ContainerCommand),
}

impl From<ContainerGroup> for Command {
    fn from(c: ContainerGroup) -> Command {
        match c {
            ContainerGroup::Ls(a) => Command::Ps(a),
            ContainerGroup::Run(a) => Command::Run(a),
            ContainerGroup::Create(a) => Command::Create(a),
            ContainerGroup::Exec(a) => Command::Exec(a),
            ContainerGroup::Rm(a) => Command::Rm(a),
            ContainerGroup::Stop(a) => Command::Stop(a),
            ContainerGroup::Kill(a) => Command::Kill(a),
            ContainerGroup::Start(a) => Command::Start(a),
            ContainerGroup::Restart(a) => Command::Restart(a),
            ContainerGroup::Pause(a) => Command::Pause(a),
            ContainerGroup::Unpause(a) => Command::Unpause(a),
            ContainerGroup::Wait(a) => Command::Wait(a),
            ContainerGroup::Rename(a) => Command::Rename(a),
            ContainerGroup::Logs(a) => Command::Logs(a),
            ContainerGroup::Attach(a) => Command::Attach(a),
            ContainerGroup::Top(a) => Command::Top(a),
            ContainerGroup::Stats(a) => Command::Stats(a),
            ContainerGroup::Inspect(a) => Command::Inspect(a),
            ContainerGroup::Port(a) => Command::Port(a),
            ContainerGroup::Cp(a) => Command::Cp(a),
            ContainerGroup::Prune(p) => Command::Container(ContainerGroup::Prune(p)),
        }
    }
}
