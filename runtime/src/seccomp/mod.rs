//! seccomp: docker's profile format (moby's default profile is `default.json`, data from
//! moby/profiles, Apache-2.0), resolved per container — its architecture, its bounding
//! capabilities and the kernel's version decide which rules apply, as docker does — into the OCI
//! `linux.seccomp` form, which `compile` turns into a BPF program with libseccomp before the
//! clone; the child only installs it (see `process`).

mod cache;
mod compile;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompBuilder, LinuxSyscall,
    LinuxSyscallBuilder,
};
use serde::Deserialize;

pub use cache::compile_cached;
pub use compile::{compile, Bpf};

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp profile {path} is not a valid profile")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot build the seccomp section of the OCI spec")]
    Build(#[source] oci_spec::OciSpecError),
    #[error("seccomp: {op}")]
    Compile {
        op: &'static str,
        #[source]
        source: libseccomp::error::SeccompError,
    },
    #[error("seccomp: exporting the filter")]
    Export(#[source] nix::errno::Errno),
}

/// docker's default profile.
pub const DEFAULT_PROFILE: &str = include_str!("default.json");

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Filter {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
    #[serde(default)]
    min_kernel: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default)]
    names: Vec<String>,
    /// Old profiles name one syscall per rule.
    #[serde(default)]
    name: Option<String>,
    action: LinuxSeccompAction,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<LinuxSeccompArg>>,
    #[serde(default)]
    includes: Filter,
    #[serde(default)]
    excludes: Filter,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: Arch,
    #[serde(default)]
    sub_architectures: Option<Vec<Arch>>,
}

/// A profile in docker's format (what `--security-opt seccomp=PROFILE.json` takes).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    default_action: LinuxSeccompAction,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    arch_map: Vec<ArchMap>,
    #[serde(default)]
    architectures: Vec<Arch>,
    #[serde(default)]
    syscalls: Vec<Rule>,
}

/// What decides which rules apply.
pub struct Target<'a> {
    /// docker's (Go's) name of the architecture: `amd64`, `arm64`, ….
    pub arch: &'a str,
    /// The container's bounding set, as `CAP_X` names.
    pub caps: &'a [String],
    /// The running kernel's (major, minor).
    pub kernel: (u32, u32),
}

impl Target<'_> {
    /// This machine's architecture name in docker's spelling.
    pub fn host_arch() -> &'static str {
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "powerpc64" => "ppc64le",
            other => other,
        }
    }

    /// `uname -r`'s major and minor.
    pub fn host_kernel() -> (u32, u32) {
        let release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        version(&release)
    }
}

fn version(s: &str) -> (u32, u32) {
    let mut it = s.split(|c: char| !c.is_ascii_digit());
    let major = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let minor = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    (major, minor)
}

fn native_scmp_arch(arch: &str) -> Option<Arch> {
    Some(match arch {
        "amd64" => Arch::ScmpArchX86_64,
        "386" => Arch::ScmpArchX86,
        "arm64" => Arch::ScmpArchAarch64,
        "arm" => Arch::ScmpArchArm,
        "ppc64le" => Arch::ScmpArchPpc64le,
        "s390x" => Arch::ScmpArchS390x,
        "riscv64" => Arch::ScmpArchRiscv64,
        _ => return None,
    })
}

impl Profile {
    /// Parse (and so check) a profile; `path` names it in the error.
    pub fn parse(text: &str, path: &str) -> Result<Profile, SeccompError> {
        serde_json::from_str(text).map_err(|source| SeccompError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// docker's default profile.
    pub fn default_profile() -> Profile {
        Profile::parse(DEFAULT_PROFILE, "default.json").expect("den's default profile parses")
    }

    /// The rules that apply to `t`, in the OCI form.
    pub fn resolve(&self, t: &Target<'_>) -> Result<LinuxSeccomp, SeccompError> {
        let has = |c: &String| t.caps.contains(c);
        let applies = |r: &Rule| {
            let inc = &r.includes;
            let exc = &r.excludes;
            (inc.arches.is_empty() || inc.arches.iter().any(|a| a == t.arch))
                && inc.caps.iter().all(has)
                && inc
                    .min_kernel
                    .as_deref()
                    .is_none_or(|k| t.kernel >= version(k))
                && !exc.arches.iter().any(|a| a == t.arch)
                && !exc.caps.iter().any(has)
                && exc
                    .min_kernel
                    .as_deref()
                    .is_none_or(|k| t.kernel < version(k))
        };
        let mut syscalls = Vec::new();
        for r in self.syscalls.iter().filter(|r| applies(r)) {
            let mut names = r.names.clone();
            names.extend(r.name.clone());
            let mut b = LinuxSyscallBuilder::default().names(names).action(r.action);
            if let Some(e) = r.errno_ret {
                b = b.errno_ret(e);
            }
            if let Some(a) = &r.args {
                b = b.args(a.clone());
            }
            let s: LinuxSyscall = b.build().map_err(SeccompError::Build)?;
            syscalls.push(s);
        }
        let mut arches = self.architectures.clone();
        if let Some(native) = native_scmp_arch(t.arch) {
            if let Some(m) = self.arch_map.iter().find(|m| m.architecture == native) {
                arches = std::iter::once(m.architecture)
                    .chain(m.sub_architectures.iter().flatten().copied())
                    .collect();
            }
        }
        let mut b = LinuxSeccompBuilder::default()
            .default_action(self.default_action)
            .architectures(arches)
            .syscalls(syscalls);
        if let Some(e) = self.default_errno_ret {
            b = b.default_errno_ret(e);
        }
        b.build().map_err(SeccompError::Build)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &LinuxSeccomp) -> Vec<String> {
        s.syscalls()
            .iter()
            .flatten()
            .filter(|r| r.action() == LinuxSeccompAction::ScmpActAllow && r.args().is_none())
            .flat_map(|r| r.names().clone())
            .collect()
    }

    #[test]
    fn default_profile_follows_caps_and_arch() {
        let p = Profile::default_profile();
        let plain = p
            .resolve(&Target {
                arch: "amd64",
                caps: &["CAP_CHOWN".into()],
                kernel: (6, 1),
            })
            .expect("resolve");
        let allowed = names(&plain);
        assert!(allowed.contains(&"read".to_string()));
        assert!(!allowed.contains(&"unshare".to_string()));
        assert!(!allowed.contains(&"keyctl".to_string()));
        assert!(allowed.contains(&"arch_prctl".to_string()));
        assert!(!allowed.contains(&"s390_pci_mmio_read".to_string()));
        assert_eq!(plain.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(
            plain.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        let admin = p
            .resolve(&Target {
                arch: "amd64",
                caps: &["CAP_SYS_ADMIN".into()],
                kernel: (6, 1),
            })
            .expect("resolve");
        assert!(names(&admin).contains(&"unshare".to_string()));
    }

    #[test]
    fn unknown_actions_and_non_json_are_refused() {
        assert!(Profile::parse("not json", "p").is_err());
        let bad = r#"{"defaultAction":"SCMP_ACT_NOPE","syscalls":[]}"#;
        assert!(Profile::parse(bad, "p").is_err());
        let ok = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
        assert!(Profile::parse(ok, "p").is_ok());
    }
}
