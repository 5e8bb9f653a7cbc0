//! Pause durations as Argo Rollouts reads them: a whole number of seconds, or a Go duration
//! string made of number-and-unit pairs (`30s`, `5m`, `1h30m`, `1.5h`, `500ms`).

use crate::spec::IntOrString;

/// Milliseconds in a duration given as seconds or as a Go duration string; `None` when it
/// cannot be read or is negative.
pub fn duration_millis(d: &IntOrString) -> Option<u64> {
    match d {
        IntOrString::Int(secs) => u64::try_from(*secs).ok()?.checked_mul(1000),
        IntOrString::String(s) => parse_duration_string(s),
    }
}

/// Milliseconds of a Go-style duration string (`30s`, `5m`, `1h30m`); None when unreadable.
pub fn parse_duration_string(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().ok()?.checked_mul(1000);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let per_unit_ms = match &rest[..unit_len] {
            "ns" => 1e-6,
            "us" | "µs" => 1e-3,
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * per_unit_ms;
    }
    if total.is_finite() && total >= 0.0 && total < u64::MAX as f64 {
        Some(total.round() as u64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_seconds_and_go_durations() {
        assert_eq!(duration_millis(&IntOrString::Int(30)), Some(30_000));
        assert_eq!(
            duration_millis(&IntOrString::String("45".into())),
            Some(45_000)
        );
        assert_eq!(
            duration_millis(&IntOrString::String("30s".into())),
            Some(30_000)
        );
        assert_eq!(
            duration_millis(&IntOrString::String("5m".into())),
            Some(300_000)
        );
        assert_eq!(
            duration_millis(&IntOrString::String("1h30m".into())),
            Some(5_400_000)
        );
        assert_eq!(
            duration_millis(&IntOrString::String("1.5h".into())),
            Some(5_400_000)
        );
        assert_eq!(
            duration_millis(&IntOrString::String("250ms".into())),
            Some(250)
        );
    }

    #[test]
    fn refuses_what_go_refuses() {
        assert_eq!(duration_millis(&IntOrString::Int(-1)), None);
        assert_eq!(duration_millis(&IntOrString::String("".into())), None);
        assert_eq!(
            duration_millis(&IntOrString::String("10 minutes".into())),
            None
        );
        assert_eq!(duration_millis(&IntOrString::String("m5".into())), None);
        assert_eq!(duration_millis(&IntOrString::String("5d".into())), None);
    }
}
