//! End-to-end test harness for the real `den` binary.
//!
//! Every test makes its own [`Sandbox`]: two fresh network namespaces (a "host" where den
//! runs and an "outside" peer, joined by a veth: 10.250.0.1 <-> 10.250.0.2) and a private
//! state dir (`den --root`), all removed again on drop, also when the test panics. Nothing
//! here touches the machine's own network namespace, and all traffic stays between
//! addresses inside the sandbox.
//!
//! ```no_run
//! use den_tests::{addr, fixtures, http_get, wait_ok, Sandbox, START_TIMEOUT};
//!
//! let sb = Sandbox::new();
//! let img = fixtures().dir_arg();
//! sb.den(&["run", "--rm", "--network", "none", img, "true"]).ok();
//! let web = sb.den_spawn(&["run", "--rm", "--name", "web", "-p", "8080:80", img,
//!                          "httpd", "-f", "-p", "80", "-h", "/"]);
//! sb.wait_running(&web, "web");
//! wait_ok(START_TIMEOUT, "the web server", || {
//!     http_get(&sb.out_ns_path(), addr("10.250.0.1:8080"))
//! });
//! ```
//!
//! - den: [`Sandbox::den`] (to completion, 60 s limit), [`Sandbox::den_spawn`] (background,
//!   a [`Proc`]), [`Sandbox::inspect`] / [`Sandbox::wait_running`] ([`Inspect`]),
//!   [`Sandbox::footprint`] / [`Sandbox::assert_footprint`] ("nothing left behind"),
//!   [`assert_rejected`] (exit 125, one `den: ` line naming the culprit).
//! - the sandbox: [`Sandbox::host`] / [`Sandbox::outside`] (shell commands in either netns),
//!   `*_spawn` variants, [`Sandbox::members`], [`Sandbox::kill_member`],
//!   [`Sandbox::write_in_container`] (via `/proc/PID/root`, refusing the machine's `/`).
//! - CNI: [`Sandbox::cni`] / [`Sandbox::den_cni`] (a CNI protocol driver), [`ContainerNs`] (a
//!   container netns to attach), [`assert_result_shape`] / [`assert_error_shape`].
//! - traffic: [`http_get`], [`udp_request`], [`PeerServer`] (reports the source address it
//!   sees), [`UdpEcho`]; each makes its sockets inside a chosen netns.
//! - waiting: [`wait_until`], [`wait_for`], [`wait_ok`]: bounded polls that panic naming what
//!   they waited for.
//!
//! The harness reports problems by panicking with a message naming what failed: in a test
//! that is the failure report.

mod bin;
pub mod cgroups;
mod cni;
mod den;
mod detached;
mod exec;
mod fixtures;
mod footprint;
pub mod journal;
mod layout;
mod net;
pub mod netns;
mod oci;
pub mod probe;
pub mod procs;
mod registry;
mod sandbox;
mod spawn;
mod syscall;
mod teardown;
mod wait;

pub use bin::{den_bin, den_cni_bin, den_runtime_bin, profile_dir_of, repo_root, target_dir};
pub use cni::{
    assert_error_shape, assert_result_shape, den_cni_conf, serve_page, with_ports, with_prev,
    CniCall, CniReply, ContainerNs, CNI_PATH,
};
pub use den::{assert_rejected, text, Inspect, PortMap, USAGE_EXIT};
pub use detached::EXIT_TIMEOUT;
pub use exec::{Output, CMD_TIMEOUT};
pub use fixtures::{fixtures, Fixtures};
pub use footprint::{link_names, normalize_nft, Footprint};
pub use layout::{fixture_layout_edited, sha256_hex};
pub use net::{addr, http_get, udp_request, PeerServer, UdpEcho, IO_TIMEOUT};
pub use oci::{assert_oci_rejected, OciBundle};
pub use registry::{layout_with_layers, skopeo, token_server, Registry};
pub use sandbox::{mounts_mentioning, Sandbox, HOST_ADDR, HOST_IF, OUT_ADDR};
pub use spawn::Proc;
pub use wait::{wait_for, wait_ok, wait_until, START_TIMEOUT};

/// Signal numbers, re-exported so tests need not depend on libc.
pub use libc::{SIGINT, SIGKILL, SIGTERM};
