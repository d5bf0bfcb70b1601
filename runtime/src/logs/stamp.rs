//! Log timestamps: docker's RFC 3339 with nanoseconds (`2026-12-01T23:53:04.123456789Z`), and the
//! times `den logs --since/--until` take (docker's forms: RFC 3339, Unix seconds, or a duration
//! back from now like `10m`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::state::{parse_duration, rfc3339};

/// Time since the epoch, now.
pub fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// `2026-12-01T23:53:04.123456789Z`.
pub fn format(t: Duration) -> String {
    let secs = rfc3339(t.as_secs() as i64);
    format!("{}.{:09}Z", secs.trim_end_matches('Z'), t.subsec_nanos())
}

/// Howard Hinnant's civil-to-days algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 time in UTC (`Z`) or with an offset, with or without a fraction.
pub fn parse_rfc3339(s: &str) -> Option<Duration> {
    let (date, rest) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (clock, offset) = match rest.find(['Z', '+', '-']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "Z"),
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next().unwrap_or(Some(0))?);
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}")[..9].parse().ok()?
    };
    let off = match offset {
        "Z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + se - off;
    Some(Duration::new(u64::try_from(secs).ok()?, nanos))
}

/// `--since`/`--until`: RFC 3339, Unix seconds (`1700000000.5`), or a duration before now (`10m`).
pub fn parse_time(s: &str, now: Duration) -> Result<Duration, String> {
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    if let Ok(secs) = s.parse::<f64>() {
        if secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    parse_duration(s).map(|d| now.saturating_sub(d)).map_err(|_| {
        format!("invalid time {s:?}: use RFC 3339 (2026-12-01T10:00:00Z), Unix seconds or a duration like 10m")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_back() {
        let t = Duration::new(1_795_450_527, 123_456_789);
        assert_eq!(format(t), "2026-11-23T16:15:27.123456789Z");
        assert_eq!(parse_rfc3339(&format(t)), Some(t));
        assert_eq!(
            parse_rfc3339("2026-11-23T17:15:27+01:00"),
            Some(Duration::from_secs(1_795_450_527))
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00Z"),
            Some(Duration::from_secs(951_782_400))
        );
    }

    #[test]
    fn since_takes_dockers_three_forms() {
        let now = Duration::from_secs(10_000);
        assert_eq!(parse_time("1m", now), Ok(Duration::from_secs(9_940)));
        assert_eq!(parse_time("5000", now), Ok(Duration::from_secs(5_000)));
        assert_eq!(
            parse_time("1970-01-01T00:00:01Z", now),
            Ok(Duration::from_secs(1))
        );
        assert!(parse_time("yesterday", now).is_err());
    }
}
