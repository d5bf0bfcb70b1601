//! End-to-end test harness for the real `den` binary.
//!
//! Every test makes its own [`Sandbox`]: two fresh network namespaces (a "host" where den
//! runs and an "outside" peer) and a private state dir, all removed again on drop, also
//! when the test panics. Nothing here touches the machine's own network namespace, and
//! all traffic stays between addresses inside the sandbox.
//!
//! The harness reports problems by panicking with a message naming what failed: in a test
//! that is the failure report.

mod bin;
mod den;
mod exec;
mod fixtures;
mod footprint;
mod net;
pub mod netns;
pub mod procs;
mod sandbox;
mod spawn;
mod syscall;
mod teardown;
mod wait;

pub use bin::{den_bin, profile_dir_of, repo_root, target_dir};
pub use den::{assert_rejected, text, Inspect, PortMap, USAGE_EXIT};
pub use exec::{Output, CMD_TIMEOUT};
pub use fixtures::{fixtures, Fixtures};
pub use footprint::{link_names, normalize_nft, Footprint};
pub use net::{addr, http_get, udp_request, PeerServer, UdpEcho, IO_TIMEOUT};
pub use sandbox::{mounts_mentioning, Sandbox, HOST_ADDR, HOST_IF, OUT_ADDR};
pub use spawn::Proc;
pub use wait::{wait_for, wait_ok, wait_until, START_TIMEOUT};

/// Signal numbers, re-exported so tests need not depend on libc.
pub use libc::{SIGKILL, SIGTERM};
