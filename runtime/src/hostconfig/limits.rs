//! `--sysctl KEY=VALUE` (docker's namespaced keys only) and `--ulimit NAME=SOFT[:HARD]` (within
//! den's own hard limit: these machines lack CAP_SYS_RESOURCE, so a limit can only be lowered).

use oci_spec::runtime::PosixRlimitType as T;
use serde::{Deserialize, Serialize};

use super::HostConfigError as E;

/// docker's `opts.ValidateSysctl`: IPC and network keys, which live in the container's own
/// namespaces.
const SYSCTL_KEYS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];
const SYSCTL_PREFIXES: [&str; 2] = ["fs.mqueue.", "net."];

pub fn sysctl(s: &str) -> Result<(String, String), E> {
    let bad = |reason: &str| E::Invalid {
        flag: "--sysctl",
        value: s.to_owned(),
        reason: reason.to_owned(),
    };
    let (k, v) = s.split_once('=').ok_or_else(|| bad("use KEY=VALUE"))?;
    let ok = SYSCTL_KEYS.contains(&k) || SYSCTL_PREFIXES.iter().any(|p| k.starts_with(p));
    if !ok || k.contains("..") || k.contains('/') {
        return Err(bad(
            "not a namespaced sysctl (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)",
        ));
    }
    Ok((k.to_owned(), v.to_owned()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// docker's names to the OCI type and the kernel's resource.
pub fn rlimit(name: &str) -> Option<(T, libc::__rlimit_resource_t)> {
    Some(match name {
        "core" => (T::RlimitCore, libc::RLIMIT_CORE),
        "cpu" => (T::RlimitCpu, libc::RLIMIT_CPU),
        "data" => (T::RlimitData, libc::RLIMIT_DATA),
        "fsize" => (T::RlimitFsize, libc::RLIMIT_FSIZE),
        "locks" => (T::RlimitLocks, libc::RLIMIT_LOCKS),
        "memlock" => (T::RlimitMemlock, libc::RLIMIT_MEMLOCK),
        "msgqueue" => (T::RlimitMsgqueue, libc::RLIMIT_MSGQUEUE),
        "nice" => (T::RlimitNice, libc::RLIMIT_NICE),
        "nofile" => (T::RlimitNofile, libc::RLIMIT_NOFILE),
        "nproc" => (T::RlimitNproc, libc::RLIMIT_NPROC),
        "rss" => (T::RlimitRss, libc::RLIMIT_RSS),
        "rtprio" => (T::RlimitRtprio, libc::RLIMIT_RTPRIO),
        "rttime" => (T::RlimitRttime, libc::RLIMIT_RTTIME),
        "sigpending" => (T::RlimitSigpending, libc::RLIMIT_SIGPENDING),
        "stack" => (T::RlimitStack, libc::RLIMIT_STACK),
        "as" => (T::RlimitAs, libc::RLIMIT_AS),
        _ => return None,
    })
}

fn value(s: &str) -> Option<u64> {
    match s {
        "-1" | "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    }
}

pub fn ulimit(s: &str) -> Result<Ulimit, E> {
    let bad = |reason: String| E::Invalid {
        flag: "--ulimit",
        value: s.to_owned(),
        reason,
    };
    let (name, limits) = s
        .split_once('=')
        .ok_or_else(|| bad("use NAME=SOFT[:HARD]".into()))?;
    let (_, resource) = rlimit(name).ok_or_else(|| bad(format!("unknown ulimit {name:?}")))?;
    let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
    let (Some(soft), Some(hard)) = (value(soft), value(hard)) else {
        return Err(bad("the limits must be numbers".into()));
    };
    if soft > hard {
        return Err(bad("the soft limit is above the hard one".into()));
    }
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into `cur`, which lives for the call.
    if unsafe { libc::getrlimit(resource, &mut cur) } == 0 && hard > cur.rlim_max {
        return Err(bad(format!(
            "above den's own hard limit {} (raising it needs CAP_SYS_RESOURCE)",
            cur.rlim_max
        )));
    }
    Ok(Ulimit {
        name: name.to_owned(),
        soft,
        hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_namespaced_sysctls() {
        assert!(sysctl("net.ipv4.ip_forward=1").is_ok());
        assert!(sysctl("kernel.shmmax=1000").is_ok());
        assert!(sysctl("kernel.panic=1").is_err());
        assert!(sysctl("net.ipv4").is_err());
    }

    #[test]
    fn ulimits_parse_and_stay_within_the_hard_limit() {
        assert_eq!(
            ulimit("nofile=100:200").unwrap(),
            Ulimit {
                name: "nofile".into(),
                soft: 100,
                hard: 200
            }
        );
        assert!(ulimit("nofile=abc").is_err());
        assert!(ulimit("nope=1").is_err());
        assert!(ulimit("nofile=2:1").is_err());
    }
}
