//! `den trace`: a live trace of a container's real packets. A table of its own
//! ([`table`]) sets `meta nftrace` on the container's packets before conntrack; the kernel then
//! reports each rule and chain policy every such packet meets, in every table (den's, docker's,
//! iptables-nft's), on the NFNLGRP_NFTRACE netlink group ([`events`]). Bounded by a packet count
//! and a time; the table is removed on return, on SIGINT/SIGTERM/SIGHUP (taken through a
//! signalfd, so nothing runs in a signal handler), and by `den gc` after a SIGKILL.
//!
//! Runs in the calling thread's network namespace (the host's). Must not be called inside a
//! tokio runtime, and should be called before the process starts other threads (the signals
//! are blocked in the calling thread and so in every thread it starts).

mod events;
mod probe;
mod render;
pub mod table;

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

pub use probe::Shot;
pub use table::Scope;

use crate::explain::{Ruleset, RulesetError};
use crate::firewall::nft::NftError;
use crate::netlink::NetlinkError;
use events::Listener;
use render::{Shown, Tracer};

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("adding the trace rule")]
    AddRule(#[source] NftError),
    #[error("removing the trace table")]
    RemoveRule(#[source] NftError),
    #[error("listening for nftables trace events (NFNLGRP_NFTRACE)")]
    Listen(#[source] io::Error),
    #[error(transparent)]
    Ruleset(#[from] RulesetError),
    #[error("setting up the probe")]
    Netlink(#[from] NetlinkError),
    #[error("probe: {0}")]
    Probe(&'static str, #[source] io::Error),
    #[error("taking SIGINT/SIGTERM through a signalfd")]
    Signals(#[source] nix::Error),
    #[error("waiting for trace events")]
    Poll(#[source] nix::Error),
}

/// What to trace and for how long.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub scope: Scope<'a>,
    /// Stop after this many packets.
    pub max_packets: usize,
    /// Stop after this long.
    pub duration: Duration,
    /// Send this one packet from a throwaway namespace once the trace is on.
    pub probe: Option<Shot>,
}

/// How a trace ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub packets: usize,
    pub events: usize,
    pub stopped_by: String,
    pub table: String,
}

/// Traces until a bound is reached or a signal comes; `say` gets each line of output.
pub fn run(req: &Request<'_>, say: &mut dyn FnMut(&str)) -> Result<Summary, TraceError> {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        mask.add(s);
    }
    mask.thread_block().map_err(TraceError::Signals)?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(TraceError::Signals)?;
    let listener = Listener::open().map_err(TraceError::Listen)?;
    let mut rs = Ruleset::read()?;
    let pid = std::process::id();
    let start = table::start_time(pid).unwrap_or(0);
    table::add(&req.scope, pid, start).map_err(TraceError::AddRule)?;
    let guard = TableGuard(pid);
    let name = table::table_name(pid);
    say(&format!(
        "tracing {}'s packets ({}) with table ip {name} (meta nftrace set 1); up to {} packets or {} s, Ctrl-C to stop",
        req.scope.container_name, req.scope.ip, req.max_packets, req.duration.as_secs()
    ));
    let probe = req.probe.map(|_| probe::Probe::new()).transpose()?;
    let mut t = Tracer::new(&mut rs, name.clone(), req.max_packets);
    let (stopped_by, answer) = std::thread::scope(|s| -> Result<_, TraceError> {
        let shot = match (&probe, req.probe) {
            (Some(p), Some(shot)) => {
                say(&format!(
                    "probe: from a throwaway netns ({} on its eth0) to {}",
                    p.peer,
                    target(p, shot)
                ));
                Some(s.spawn(move || p.send(shot)))
            }
            _ => None,
        };
        let stopped_by = watch(
            &mut t,
            &listener,
            &signals,
            req.duration,
            shot.as_ref(),
            say,
        );
        let answer = shot.map(|h| {
            h.join()
                .map_err(|_| TraceError::Probe("probe thread", io::Error::other("panicked")))
        });
        Ok((stopped_by?, answer))
    })?;
    if let Some(answer) = answer {
        say(&format!("probe: {}", answer??));
    }
    let (packets, events) = (t.packets(), t.events);
    drop(probe);
    guard.remove()?;
    say(&format!(
        "{packets} packets, {events} events; stopped after {stopped_by}; table ip {name} removed"
    ));
    Ok(Summary {
        packets,
        events,
        stopped_by,
        table: name,
    })
}

/// Reads events until a bound, a signal, or (with a probe) the probe's packets are done.
fn watch(
    t: &mut Tracer<'_>,
    listener: &Listener,
    signals: &SignalFd,
    duration: Duration,
    probe: Option<&std::thread::ScopedJoinHandle<'_, Result<String, TraceError>>>,
    say: &mut dyn FnMut(&str),
) -> Result<String, TraceError> {
    let deadline = Instant::now() + duration;
    let mut quiet_since: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(format!("{} s", duration.as_secs()));
        }
        if quiet_since.is_none() && probe.is_some_and(|h| h.is_finished()) {
            quiet_since = Some(now);
        }
        if quiet_since.is_some_and(|q| now.duration_since(q) > QUIET) {
            return Ok("the probe's packets".into());
        }
        let mut fds = [
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => return Err(TraceError::Poll(e)),
        }
        if let Ok(Some(sig)) = signals.read_signal() {
            let name = Signal::try_from(sig.ssi_signo as i32).map_or("a signal", |s| s.as_str());
            return Ok(name.to_string());
        }
        for e in listener.read().map_err(TraceError::Listen)? {
            match t.show(&e, say)? {
                Shown::Overflow => return Ok(format!("{} packets", t.max)),
                Shown::Yes => quiet_since = quiet_since.map(|_| Instant::now()),
                Shown::Skipped => {}
            }
        }
    }
}

/// How long a probe's trace goes on after the probe returned, for the last replies.
const QUIET: Duration = Duration::from_millis(500);

/// Removes the trace table on drop (early returns and panics); [`TableGuard::remove`] reports.
struct TableGuard(u32);

impl TableGuard {
    fn remove(self) -> Result<(), TraceError> {
        let pid = self.0;
        std::mem::forget(self);
        table::delete(pid).map_err(TraceError::RemoveRule)
    }
}

impl Drop for TableGuard {
    fn drop(&mut self) {
        let _ = table::delete(self.0);
    }
}

fn target(p: &probe::Probe, shot: Shot) -> String {
    match shot {
        Shot::Tcp(port) => format!("{}:{port} (tcp SYN)", p.host),
        Shot::Udp(port) => format!("{}:{port} (one udp datagram)", p.host),
        Shot::Ping(ip) => format!("{ip} (ping)"),
    }
}
