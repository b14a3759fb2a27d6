//! UTC timestamps without a date-time dependency: epoch seconds, and the one text form every
//! AWS client accepts (`YYYY-MM-DDTHH:MM:SSZ`, see the token cache and credential_process rules).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// (year, month, day) for a count of days since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 for a civil date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn split(epoch: i64) -> (i64, u32, u32, i64, i64, i64) {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// `2026-11-22T02:59:17Z`: the form botocore, the AWS CLI and the Rust SDK all accept.
pub fn rfc3339(epoch: i64) -> String {
    let (y, mo, d, h, mi, s) = split(epoch);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `20261122T025917Z`: the SigV4 `X-Amz-Date` form.
pub fn amz_date(epoch: i64) -> String {
    let (y, mo, d, h, mi, s) = split(epoch);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// `Sun, 22 Nov 2026 02:59:17 GMT`: the HTTP `Date` header form (IMF-fixdate).
pub fn http_date(epoch: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, mo, d, h, mi, s) = split(epoch);
    let weekday = DAYS[epoch.div_euclid(86_400).rem_euclid(7) as usize];
    format!("{weekday}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT", MONTHS[mo as usize - 1])
}

/// Parses `YYYY-MM-DDTHH:MM:SS` followed by an optional fraction and `Z` or `+00:00`.
/// Returns epoch seconds, or `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) { t.parse().ok() } else { None }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') && &rest[3..4] == ":" => {
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            let off = oh * 3600 + om * 60;
            if rest.starts_with('-') { -off } else { off }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// A short human description of a duration in seconds: `7h 59m`, `14m`, `45s`, `expired`.
pub fn human_remaining(secs: i64) -> String {
    if secs <= 0 {
        "expired".into()
    } else if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else if secs < 86_400 {
        format!("{}h {:02}m", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_name_the_weekday() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_316_357), "Sun, 22 Nov 2026 02:59:17 GMT");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn formats_and_parses_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_316_357), "2026-11-22T02:59:17Z");
        assert_eq!(amz_date(1_795_316_357), "20261122T025917Z");
        assert_eq!(parse_rfc3339("2026-11-22T02:59:17Z"), Some(1_795_316_357));
        assert_eq!(parse_rfc3339("2026-11-22T02:59:17.123Z"), Some(1_795_316_357));
        assert_eq!(parse_rfc3339("2026-11-22T03:59:17+01:00"), Some(1_795_316_357));
        assert_eq!(parse_rfc3339("2026-11-22T02:59:17"), None);
        assert_eq!(parse_rfc3339("2026-13-22T02:59:17Z"), None);
        for t in [951_782_400, 4_107_542_400, 1_709_164_800] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
    }

    #[test]
    fn remaining_is_short_and_readable() {
        assert_eq!(human_remaining(-5), "expired");
        assert_eq!(human_remaining(45), "45s");
        assert_eq!(human_remaining(14 * 60 + 3), "14m");
        assert_eq!(human_remaining(8 * 3600 - 60), "7h 59m");
    }
}
