//! docker's units and ranges for the resource flags (`go-units` RAMInBytes, `--cpus` as NanoCPUs,
//! `--cpuset-cpus` lists).

use super::HostConfigError as E;

/// `RAMInBytes`: a number with an optional binary unit b/k/m/g/t/p (`32m`, `1.5g`, `64MiB`).
pub fn ram_bytes(flag: &'static str, s: &str) -> Result<i64, E> {
    let bad = || E::Invalid {
        flag,
        value: s.to_owned(),
        reason: "invalid size".into(),
    };
    let t = s.trim();
    let digits_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    let num: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    let bytes = num * mult;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as i64)
}

/// `--memory-swap`: `-1` is unlimited, else a size.
pub fn swap_bytes(s: &str) -> Result<i64, E> {
    match s.trim() {
        "-1" => Ok(-1),
        other => ram_bytes("--memory-swap", other),
    }
}

/// `--cpus 0.5` as NanoCPUs, between 0.01 and the host's CPU count (docker's message).
pub fn nano_cpus(s: &str, host_cpus: usize) -> Result<i64, E> {
    let v: f64 = s.trim().parse().map_err(|_| E::Invalid {
        flag: "--cpus",
        value: s.to_owned(),
        reason: "not a number".into(),
    })?;
    let nano = (v * 1e9).round();
    if !nano.is_finite() || nano < 0.0 {
        return Err(E::Invalid {
            flag: "--cpus",
            value: s.to_owned(),
            reason: "must be positive".into(),
        });
    }
    let nano = nano as i64;
    if nano != 0 && (nano < 10_000_000 || nano > host_cpus as i64 * 1_000_000_000) {
        return Err(E::Invalid {
            flag: "--cpus",
            value: s.to_owned(),
            reason: format!(
                "range of CPUs is from 0.01 to {host_cpus}.00, as there are only {host_cpus} CPUs available"
            ),
        });
    }
    Ok(nano)
}

/// `--cpuset-cpus 0-1,3`: every listed CPU must be online (0..host_cpus).
pub fn cpu_list(s: &str, host_cpus: usize) -> Result<String, E> {
    let bad = |reason: String| E::Invalid {
        flag: "--cpuset-cpus",
        value: s.to_owned(),
        reason,
    };
    for part in s.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = match (a.trim().parse(), b.trim().parse()) {
            (Ok(a), Ok(b)) if a <= b => (a, b),
            _ => return Err(bad("invalid format".into())),
        };
        if b >= host_cpus {
            return Err(bad(format!(
                "requested CPUs are not available, available: 0-{}",
                host_cpus - 1
            )));
        }
        let _ = a;
    }
    Ok(s.to_owned())
}

/// An integer flag.
pub fn int(flag: &'static str, s: &str) -> Result<i64, E> {
    s.trim().parse().map_err(|_| E::Invalid {
        flag,
        value: s.to_owned(),
        reason: "not an integer".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_docker_reads_them() {
        assert_eq!(ram_bytes("-m", "32m").unwrap(), 32 << 20);
        assert_eq!(ram_bytes("-m", "1g").unwrap(), 1 << 30);
        assert_eq!(ram_bytes("-m", "64MiB").unwrap(), 64 << 20);
        assert_eq!(ram_bytes("-m", "512").unwrap(), 512);
        assert!(ram_bytes("-m", "10x").is_err());
        assert!(ram_bytes("-m", "").is_err());
        assert_eq!(swap_bytes("-1").unwrap(), -1);
    }

    #[test]
    fn cpus_within_the_host() {
        assert_eq!(nano_cpus("0.5", 2).unwrap(), 500_000_000);
        assert!(nano_cpus("-1", 2).is_err());
        assert!(nano_cpus("3", 2).is_err());
        assert!(nano_cpus("abc", 2).is_err());
        assert!(cpu_list("0-1", 2).is_ok());
        assert!(cpu_list("0-5", 2).is_err());
        assert!(cpu_list("a", 2).is_err());
    }
}
