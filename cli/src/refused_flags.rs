//! docker's `run`/`create` flags den refuses, each with why (docs/docker-compat.md has the whole
//! table): `den run --ipc host` says why in one line instead of clap's "unexpected argument".

/// (flag, why den refuses it).
const REFUSED: &[(&str, &str)] = &[
    (
        "--annotation",
        "OCI annotations are not passed to den's runtime",
    ),
    ("--blkio-weight", "den sets no block I/O limits"),
    ("--blkio-weight-device", "den sets no block I/O limits"),
    ("--device-read-bps", "den sets no block I/O limits"),
    ("--device-read-iops", "den sets no block I/O limits"),
    ("--device-write-bps", "den sets no block I/O limits"),
    ("--device-write-iops", "den sets no block I/O limits"),
    (
        "--cgroupns",
        "den's containers are in the host's cgroup namespace (docker's `host`)",
    ),
    ("--cpu-count", "it is Windows-only in docker"),
    ("--cpu-percent", "it is Windows-only in docker"),
    ("--io-maxbandwidth", "it is Windows-only in docker"),
    ("--io-maxiops", "it is Windows-only in docker"),
    ("--isolation", "it is Windows-only in docker"),
    (
        "--cpu-period",
        "use --cpus (den sets the CFS quota from it)",
    ),
    ("--cpu-quota", "use --cpus (den sets the CFS quota from it)"),
    ("--cpu-rt-period", "den sets no real-time CPU budget"),
    ("--cpu-rt-runtime", "den sets no real-time CPU budget"),
    ("--cpuset-mems", "den sets no memory-node set"),
    (
        "--device-cgroup-rule",
        "den applies docker's default device rules and --device's only",
    ),
    ("--disable-content-trust", "den has no content trust"),
    ("--domainname", "den sets the hostname only"),
    ("--gpus", "den has no GPU support"),
    ("--group-add", "den sets the user's own groups only"),
    (
        "--health-start-interval",
        "den checks at --health-interval during the start period too",
    ),
    ("--ip6", "den's networks are IPv4 only"),
    (
        "--link-local-ip",
        "den's networks are IPv4 only, without link-local addresses",
    ),
    ("--ipc", "every den container has its own IPC namespace"),
    ("--pid", "every den container has its own PID namespace"),
    ("--uts", "every den container has its own UTS namespace"),
    ("--userns", "den does not build user namespaces"),
    (
        "--kernel-memory",
        "it is deprecated in docker and gone from cgroup v2",
    ),
    (
        "--link",
        "legacy links: on a user network (den network create) names resolve",
    ),
    (
        "--log-driver",
        "den writes docker's json-file format only (--log-opt max-size, max-file)",
    ),
    (
        "--memory-reservation",
        "den sets a hard memory limit (-m) only",
    ),
    (
        "--memory-swappiness",
        "den sets a hard memory limit (-m) only",
    ),
    ("--oom-kill-disable", "den leaves the OOM killer on"),
    (
        "--oom-score-adj",
        "den leaves the OOM score as the kernel sets it",
    ),
    ("--platform", "den runs the host's platform only"),
    (
        "--runtime",
        "den is its own runtime (den-runtime is the OCI one for other engines)",
    ),
    ("--shm-size", "/dev/shm is docker's default, a 64 MiB tmpfs"),
    ("--storage-opt", "den's overlay has no quotas"),
    ("--use-api-socket", "den has no engine API socket"),
    ("--volume-driver", "den has local volumes only"),
];

/// Why den refuses `arg` (`--ipc` or `--ipc=host`), if it is one of docker's run flags den lacks.
pub fn reason(arg: &str) -> Option<(&'static str, &'static str)> {
    let flag = arg.split_once('=').map_or(arg, |(f, _)| f);
    REFUSED.iter().find(|(f, _)| *f == flag).copied()
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn docker_flags_den_lacks_have_a_reason() {
        assert_eq!(reason("--ipc=host").map(|r| r.0), Some("--ipc"));
        assert!(reason("--gpus").is_some());
        assert!(reason("--bogus").is_none());
    }
}
