use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::Result;
use den_runtime::hostconfig::Flags;
use den_runtime::kvfile::{self, Bare};
use den_runtime::run::{self, NetFlags, NetworkMode, RunOptions, Storage};

#[derive(clap::Args)]
#[command(trailing_var_arg = true, disable_help_flag = true)]
pub struct Args {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Remove the container and its files when it exits.
    #[arg(long)]
    rm: bool,
    /// Run in the background: print the container's id once its command runs.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Name the container (default: a random adjective_surname, as docker).
    #[arg(long)]
    name: Option<String>,
    /// The container's hostname (default: its short id).
    #[arg(long, short = 'h')]
    hostname: Option<String>,
    /// Set an environment variable (K=V, or K to copy it from den's environment).
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Working directory inside the container (absolute).
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    /// Run as this user: NAME|UID[:GROUP|GID] (default: the image's USER, else root).
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Override the image's ENTRYPOINT (`""` for none); the arguments after the image follow it.
    #[arg(long)]
    entrypoint: Option<String>,
    /// Keep stdin open.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    tty: bool,
    /// Attach to STDIN, STDOUT or STDERR (repeatable; default STDOUT and STDERR): only these
    /// reach den's terminal, the log keeps both; stdin is the container's with -i.
    #[arg(short = 'a', long, value_parser = ["stdin", "stdout", "stderr"], ignore_case = true)]
    attach: Vec<String>,
    /// Pass the signals den gets (INT, TERM, HUP, QUIT, USR1, USR2) on to the container; false:
    /// it runs under a supervisor as with -d, den shows its output and exits with its status, and
    /// a signal ends den alone (docker's detach); with -t the terminal's keys reach it anyway.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    sig_proxy: bool,
    /// bridge (default: den0), a user network (den network create NAME), host, none, or
    /// container:NAME (share another container's network namespace).
    #[arg(long, visible_alias = "net", default_value = "bridge")]
    network: String,
    /// A fixed address on the bridge network.
    #[arg(long)]
    ip: Option<Ipv4Addr>,
    /// Publish a port: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp], ranges as 8000-8001:80-81.
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    /// Mount a volume: /host/path:/ctr/path[:OPTS] (bind), NAME:/ctr/path[:OPTS] (named volume) or
    /// /ctr/path (anonymous volume); OPTS: ro, rw, nocopy, [r]private, [r]shared, [r]slave.
    #[arg(short = 'v', long = "volume")]
    volume: Vec<String>,
    /// type=bind|volume|tmpfs,source=…,target=…[,readonly][,bind-propagation=…][,volume-nocopy]
    /// [,tmpfs-size=…][,tmpfs-mode=…]
    #[arg(long)]
    mount: Vec<String>,
    /// Mount a tmpfs: /ctr/path[:size=64m,mode=1777,…].
    #[arg(long)]
    tmpfs: Vec<String>,
    /// Mount the volumes and binds of another container: NAME[:ro|rw].
    #[arg(long = "volumes-from")]
    volumes_from: Vec<String>,
    /// Mount the container's root filesystem read-only.
    #[arg(long = "read-only")]
    read_only: bool,
    /// Print each step as its `ip`/`nft` equivalent, with milliseconds (also: env DEN_TRACE).
    #[arg(long)]
    trace: bool,
    #[command(flatten)]
    security: SecurityArgs,
    #[command(flatten)]
    more: MoreArgs,
    #[command(flatten)]
    life: super::life_args::LifeArgs,
    /// Pull the image first: missing (if not here), always, never.
    #[arg(long, default_value = "missing", value_parser = ["missing", "always", "never"])]
    pull: String,
    /// An image: a name (pulled if missing), rootfs dir, OCI layout dir[:tag], or docker-save/OCI tar.
    image: String,
    /// The command and its arguments (default: the image's).
    cmd: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    main_with(root, a, false)
}

/// `den create`: the same flags; the container is made, not started (`den start` runs it).
pub fn create(root: &Path, a: Args) -> Result<i32> {
    main_with(root, a, true)
}

fn main_with(root: &Path, a: Args, create_only: bool) -> Result<i32> {
    if a.trace {
        den_netcfg::trace::enable();
    }
    let network: NetworkMode = a.network.parse().map_err(anyhow::Error::msg)?;
    // docker's order: the env files, then -e; the label files, then -l.
    let mut env = kvfile::read(&a.more.env_file, Bare::HostEnv)?;
    env.extend(a.env);
    let mut labels = kvfile::read(&a.more.label_file, Bare::Empty)?;
    labels.extend(a.more.label);
    let labels = kvfile::labels(&labels)?;
    let publish = a
        .publish
        .iter()
        .map(|p| p.parse())
        .collect::<Result<Vec<_>, _>>()?;
    // den's config file: flags override it.
    let config = den_runtime::config::load()?;
    let bridge = &config.default_bridge;
    den_netcfg::network::configure_default(root, bridge.subnet, bridge.bridge.as_deref())?;
    // Before anything is created or cloned: the pull runs its own async runtime and ends it.
    super::pull::before_run(root, &a.image, &a.pull, a.more.quiet)?;
    let opts = RunOptions {
        root: root.to_path_buf(),
        image: a.image,
        cmd: a.cmd,
        entrypoint: a.entrypoint,
        name: a.name,
        hostname: a.hostname,
        env,
        workdir: a.workdir,
        user: a.user,
        interactive: a.interactive,
        tty: a.tty,
        attach: attached(&a.attach),
        sig_proxy: a.sig_proxy,
        rm: a.rm,
        network,
        ip: a.ip,
        publish,
        storage: Storage {
            volumes: a.volume,
            mounts: a.mount,
            tmpfs: a.tmpfs,
            volumes_from: a.volumes_from,
            read_only: a.read_only,
        },
        security: Flags {
            cgroup_parent: a.security.cgroup_parent.clone().or(config.cgroup_parent),
            ..a.security.into()
        },
        net_flags: NetFlags {
            dns: a.more.dns,
            dns_search: a.more.dns_search,
            dns_options: a.more.dns_option,
            add_hosts: a.more.add_host,
            aliases: a.more.network_alias,
            mac: a.more.mac_address,
            publish_all: a.more.publish_all,
            expose: a.more.expose,
        },
        labels,
        cidfile: a.more.cidfile,
        life: a.life.into(),
    };
    let detach = a.detach;
    let start = || match (create_only, detach) {
        (true, _) => run::create(&opts).map(|id| {
            println!("{id}");
            0
        }),
        (false, true) => run::run_detached(&opts).map(|id| {
            println!("{id}");
            0
        }),
        (false, false) => run::run(&opts),
    };
    // What killed den processes left is collected when it gets in the way, not scanned for on every
    // run (that scan is O(containers)): a failed start (a name, port or address still held by a dead
    // container) collects stale containers and, if any were found, tries once more.
    let result = match start() {
        Err(e) if e.is_conflict() && super::gc::implicit(root) => start(),
        other => other,
    };
    match result {
        Ok(status) => Ok(status),
        Err(e) => {
            eprintln!("den: {}", den_runtime::run::one_line(&e));
            Ok(e.exit_status())
        }
    }
}

/// `-a`'s streams (clap checked the names); stdin's is `-i`'s business.
fn attached(streams: &[String]) -> Option<run::Attached> {
    let named = |s: &str| streams.iter().any(|n| n.eq_ignore_ascii_case(s));
    (!streams.is_empty()).then(|| run::Attached {
        stdout: named("stdout"),
        stderr: named("stderr"),
    })
}

/// docker's run flags for the environment, labels, name resolution and ports beyond `-p`.
#[derive(clap::Args)]
struct MoreArgs {
    /// Read environment variables from a file (KEY=VALUE lines; KEY alone takes den's own; #
    /// comments).
    #[arg(long)]
    env_file: Vec<PathBuf>,
    /// Set a label: KEY=VALUE (or KEY, empty).
    #[arg(short = 'l', long)]
    label: Vec<String>,
    /// Read labels from a file (KEY=VALUE lines).
    #[arg(long)]
    label_file: Vec<PathBuf>,
    /// Add a line to /etc/hosts: NAME:IP (IP may be host-gateway: the network's gateway).
    #[arg(long)]
    add_host: Vec<String>,
    /// A nameserver for /etc/resolv.conf (replaces the host's).
    #[arg(long)]
    dns: Vec<String>,
    /// A search domain for /etc/resolv.conf ("." for none).
    #[arg(long)]
    dns_search: Vec<String>,
    /// An options entry for /etc/resolv.conf (e.g. ndots:2).
    #[arg(long, visible_alias = "dns-opt")]
    dns_option: Vec<String>,
    /// Another name for the container on its user network (in the other members' /etc/hosts).
    #[arg(long, visible_alias = "net-alias")]
    network_alias: Vec<String>,
    /// Publish every exposed port (the image's EXPOSE and --expose) to a random host port.
    #[arg(short = 'P', long)]
    publish_all: bool,
    /// Expose a port or a range (PORT[/PROTO], FIRST-LAST[/PROTO]) without publishing it.
    #[arg(long)]
    expose: Vec<String>,
    /// The MAC address of the container's eth0 (e.g. 02:42:ac:11:00:99).
    #[arg(long)]
    mac_address: Option<String>,
    /// Write the container's id to this file (which must not exist).
    #[arg(long)]
    cidfile: Option<PathBuf>,
    /// Suppress the pull output.
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// The security and resource flags (docker's names and units); checked by den run's step 1.
#[derive(clap::Args)]
struct SecurityArgs {
    /// Memory limit (e.g. 32m, 1g; at least 6m).
    #[arg(short = 'm', long, allow_hyphen_values = true)]
    memory: Option<String>,
    /// Memory plus swap limit, or -1 for unlimited swap (default: twice --memory).
    #[arg(long, allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Number of CPUs (e.g. 0.5).
    #[arg(long, allow_hyphen_values = true)]
    cpus: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long, allow_hyphen_values = true)]
    cpu_shares: Option<String>,
    /// CPUs to run on (0-1, 0,2).
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// Maximum number of processes (-1: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pids_limit: Option<String>,
    /// The parent of the container's cgroup: relative to den's own cgroup, or absolute.
    #[arg(long, env = "DEN_CGROUP_PARENT")]
    cgroup_parent: Option<String>,
    /// Add a Linux capability (or ALL).
    #[arg(long)]
    cap_add: Vec<String>,
    /// Drop a Linux capability (or ALL).
    #[arg(long)]
    cap_drop: Vec<String>,
    /// All capabilities, all devices, no seccomp, writable /sys and /proc/sys.
    #[arg(long)]
    privileged: bool,
    /// seccomp=unconfined|PROFILE.json, no-new-privileges[=true|false].
    #[arg(long)]
    security_opt: Vec<String>,
    /// A host device: /dev/X[:/dev/Y][:rwm].
    #[arg(long = "device")]
    devices: Vec<String>,
    /// A namespaced kernel parameter: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*.
    #[arg(long = "sysctl")]
    sysctls: Vec<String>,
    /// A resource limit NAME=SOFT[:HARD] (e.g. nofile=1024:1024), at most den's own hard limit.
    #[arg(long = "ulimit")]
    ulimits: Vec<String>,
}

impl From<SecurityArgs> for Flags {
    fn from(a: SecurityArgs) -> Flags {
        Flags {
            memory: a.memory,
            memory_swap: a.memory_swap,
            cpus: a.cpus,
            cpu_shares: a.cpu_shares,
            cpuset_cpus: a.cpuset_cpus,
            pids_limit: a.pids_limit,
            cgroup_parent: a.cgroup_parent,
            cap_add: a.cap_add,
            cap_drop: a.cap_drop,
            privileged: a.privileged,
            security_opt: a.security_opt,
            devices: a.devices,
            sysctls: a.sysctls,
            ulimits: a.ulimits,
        }
    }
}
