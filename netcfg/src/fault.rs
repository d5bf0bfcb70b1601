//! A test hook, not a feature: `DEN_FAULT=<point>` makes den SIGKILL itself when it reaches the named
//! point, so tests can prove that `den gc` cleans up after a den killed at any step of `den run`.
//!
//! Points (where they are): `after-state`, `after-clone`, `after-start` (runtime's `run`),
//! `after-lease`, `after-veth`, `after-firewall` (netcfg's `attach`, under the network lock),
//! `network-before-rename` (`den network create`, its directory made, `network.json` not yet).
//! Without the variable, or when it names another point, [`point`] does nothing (one environment
//! lookup). It lives here, in the lowest crate, so netcfg's points and the runtime's share it;
//! `den_runtime::fault` re-exports it.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The environment variable that names the point to die at.
pub const VAR: &str = "DEN_FAULT";

/// SIGKILL this process (no cleanup, no unwinding, no exit handlers: exactly `kill -9`) if
/// `DEN_FAULT` is `name`; otherwise return at once.
pub fn point(name: &str) {
    if std::env::var_os(VAR).is_none_or(|v| v != name) {
        return;
    }
    if let Err(e) = kill(Pid::this(), Signal::SIGKILL) {
        // Cannot happen for our own pid; die anyway, the test expects den to be gone.
        eprintln!("den: {VAR}={name}: kill(self, SIGKILL): {e}");
        std::process::abort();
    }
    // SIGKILL to ourselves is delivered before kill(2) returns to user space; never go on.
    loop {
        std::thread::park();
    }
}
