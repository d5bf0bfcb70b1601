//! `den explain`: the path of one packet, hop by hop, read from the kernel — the nftables
//! ruleset (libnftables JSON and `-a` text, so each rule shows with its handle), route lookups
//! (RTM_GETROUTE, `ip route get`'s question), the bridge port's state and forwarding database,
//! and the sockets bound in the container's netns. den's own records only say *which* container
//! and veth to look at; every verdict comes from what the kernel holds right now.
//!
//! A hop that is missing ends the walk with a plain sentence saying what is missing; the reply's
//! way back is described only for a packet that arrives.
//!
//! Read-only: nothing is created, nothing is sent. Runs in the calling thread's network
//! namespace (the host's); the container's namespace is read through `/proc/PID`.

mod forward;
mod hops;
mod inbound;
mod kernel;
mod outbound;
pub mod ruleset;
mod sockets;

use std::fmt;
use std::io;
use std::net::Ipv4Addr;

use crate::attach::Attachment;
use crate::netlink::{Cause, NetlinkError};
use crate::ports::Proto;
pub use ruleset::{Chain, Rule, Ruleset, RulesetError};

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(transparent)]
    Ruleset(#[from] RulesetError),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error("asking the kernel for {what}")]
    Kernel {
        what: String,
        #[source]
        source: Cause,
    },
    #[error("starting a tokio runtime for netlink")]
    Runtime(#[source] io::Error),
    #[error("opening {path}")]
    Proc {
        path: String,
        #[source]
        source: io::Error,
    },
}

impl ExplainError {
    fn kernel(what: impl Into<String>) -> impl FnOnce(Cause) -> ExplainError {
        let what = what.into();
        move |source| ExplainError::Kernel { what, source }
    }
}

/// The container a question is about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Host PID of the container's PID 1 (its netns is `/proc/PID/ns/net`).
    pub pid: i32,
    /// What den recorded when it attached the container: which bridge, veth, address and MAC
    /// to look at in the kernel.
    pub attachment: &'a Attachment,
}

/// What to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// A new connection to host port `port` (or, with `from` inside a den network, straight to
    /// the container's own `port`), from `from` or else from the host's default gateway.
    In {
        proto: Proto,
        port: u16,
        from: Option<Ipv4Addr>,
    },
    /// A new connection from the container to `to`.
    Out {
        proto: Proto,
        to: Ipv4Addr,
        port: Option<u16>,
    },
}

/// How a hop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// The packet passes.
    Pass,
    /// The packet stops here; the walk ends.
    Stop,
    /// Worth knowing; does not decide.
    Note,
}

/// One hop: what happens to the packet and the kernel objects that say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub mark: Mark,
    /// `nat prerouting`, `routing`, `bridge port`...
    pub stage: String,
    pub says: String,
    /// Each kernel object relied on, as text: a rule with its handle, a route, a link.
    pub objects: Vec<String>,
}

impl Hop {
    fn new(mark: Mark, stage: &str, says: impl Into<String>) -> Hop {
        Hop {
            mark,
            stage: stage.into(),
            says: says.into(),
            objects: Vec::new(),
        }
    }

    fn with(mut self, object: impl Into<String>) -> Hop {
        self.objects.push(object.into());
        self
    }
}

/// The answer: the way there and, when the packet arrives, the reply's way back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    pub title: String,
    pub there: Vec<Hop>,
    pub back: Vec<Hop>,
}

impl Walk {
    /// Whether the packet gets all the way (no hop stopped it).
    pub fn arrives(&self) -> bool {
        !self.there.iter().any(|h| h.mark == Mark::Stop)
    }

    fn push(&mut self, hop: Hop) -> bool {
        let go_on = hop.mark != Mark::Stop;
        self.there.push(hop);
        go_on
    }
}

/// Explains `q` for `t`. Must not be called inside a tokio runtime.
pub fn explain(t: &Target<'_>, q: &Question) -> Result<Walk, ExplainError> {
    let rs = Ruleset::read()?;
    crate::rt::block_on(async {
        match *q {
            Question::In { proto, port, from } => inbound::walk(t, &rs, proto, port, from).await,
            Question::Out { proto, to, port } => outbound::walk(t, &rs, proto, to, port).await,
        }
    })
    .map_err(ExplainError::Runtime)?
}

impl fmt::Display for Walk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.title)?;
        let mut n = 0;
        for (heading, hops) in [("", &self.there), ("the reply's way back:", &self.back)] {
            if hops.is_empty() {
                continue;
            }
            if !heading.is_empty() {
                writeln!(f, "\n{heading}")?;
            }
            for h in hops {
                n += 1;
                let mark = match h.mark {
                    Mark::Pass => "ok  ",
                    Mark::Stop => "STOP",
                    Mark::Note => "note",
                };
                writeln!(f, "{n:>2}. {mark} {:<15} {}", h.stage, h.says)?;
                for o in &h.objects {
                    writeln!(f, "{:>25}{o}", "")?;
                }
            }
        }
        if !self.arrives() {
            writeln!(f, "\nthe packet stops at the hop marked STOP.")?;
        }
        Ok(())
    }
}

/// `table ip den chain forward handle 21: RULE TEXT`.
fn rule_line(r: &Rule) -> String {
    format!(
        "rule: table {} {} chain {} handle {}: {}",
        r.family, r.table, r.chain, r.handle, r.text
    )
}

/// Notes for the base chains of other tables on `hook`, which den does not evaluate.
fn foreign_chains(rs: &Ruleset, hook: &str, stage: &str) -> Vec<Hop> {
    rs.chains_on(hook)
        .into_iter()
        .filter(|c| !c.is_den())
        .map(|c| {
            let rules = rs.rules_of(c).count();
            let policy = c.policy.as_deref().unwrap_or("accept");
            let says = if policy == "drop" {
                format!(
                    "{} also sees it: policy drop, so unless one of its {rules} rules accepts it, it is dropped there (`den trace` shows which)",
                    c.path()
                )
            } else {
                format!("{} also sees it ({rules} rules, policy {policy}; not evaluated here, `den trace` shows them)", c.path())
            };
            Hop::new(Mark::Note, stage, says).with(format!(
                "chain: {} type {} hook {hook} priority {} policy {policy}",
                c.path(),
                c.kind.as_deref().unwrap_or("filter"),
                c.prio
            ))
        })
        .collect()
}
