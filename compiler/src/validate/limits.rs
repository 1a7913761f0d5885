//! Rate limits as written in a catalog (`5/second`, `[5/second, 10000/day]`) into [`Limit`]s.

use crate::catalog::RateLimit;
use crate::diag::did_you_mean;
use crate::model::{Limit, Window};

/// The filter stores a bucket level as tokens × window in microseconds in a `u64`, so a limit
/// must satisfy `count × window_seconds × 1_000_000 ≤ u64::MAX` (about 213 million per day).
const MICROS: u64 = 1_000_000;

const UNITS: &[(&str, Window)] = &[
    ("second", Window::Second),
    ("minute", Window::Minute),
    ("hour", Window::Hour),
    ("day", Window::Day),
];

/// Why one limit is invalid: a message and an optional hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LimitError {
    pub message: String,
    pub hint: Option<String>,
}

impl LimitError {
    fn new(message: String, hint: Option<String>) -> Self {
        LimitError { message, hint }
    }
}

/// The largest count the filter can hold for `window`.
pub(crate) fn max_count(window: Window) -> u64 {
    u64::MAX / (u64::from(window.seconds()) * MICROS)
}

/// Parses `N/unit`.
pub(crate) fn parse_limit(text: &str) -> Result<Limit, LimitError> {
    let Some((count, unit)) = text.split_once('/') else {
        return Err(LimitError::new(
            format!("rate limit \"{text}\" is not COUNT/WINDOW"),
            Some("for example \"5/second\" or \"10000/day\"".into()),
        ));
    };
    let (count, unit) = (count.trim(), unit.trim());
    let window = match UNITS.iter().find(|(name, _)| *name == unit) {
        Some((_, w)) => *w,
        None => {
            let hint = did_you_mean(unit, UNITS.iter().map(|(n, _)| *n))
                .unwrap_or_else(|| "units: second, minute, hour, day".into());
            return Err(LimitError::new(
                format!("rate limit \"{text}\" has an unknown unit \"{unit}\""),
                Some(hint),
            ));
        }
    };
    if count.starts_with('-') {
        return Err(LimitError::new(format!("rate limit \"{text}\" is negative"), None));
    }
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LimitError::new(
            format!("rate limit \"{text}\" needs a whole number of requests"),
            Some("for example \"5/second\"".into()),
        ));
    }
    let max = max_count(window);
    let too_large = || {
        LimitError::new(
            format!("rate limit \"{text}\" is too large: at most {max}/{unit}"),
            Some("the filter counts microsecond tokens in 64 bits".into()),
        )
    };
    let count: u64 = count.parse().map_err(|_| too_large())?;
    if count == 0 {
        return Err(LimitError::new(
            format!("rate limit \"{text}\" would reject every request"),
            Some("leave the operation out of the package instead".into()),
        ));
    }
    if count > max {
        return Err(too_large());
    }
    Ok(Limit { count, window })
}

/// Parses one limit or a list, sorted by window. Errors come with the place suffix of the
/// offending entry (`""` or `[i]`).
pub(crate) fn parse_limits(limit: &RateLimit) -> Result<Vec<Limit>, Vec<(String, LimitError)>> {
    let entries = limit.entries();
    if entries.is_empty() {
        return Err(vec![(
            String::new(),
            LimitError::new(
                "an empty list of rate limits".into(),
                Some("leave `rate_limit` out for no limit".into()),
            ),
        )]);
    }
    let mut out: Vec<Limit> = Vec::with_capacity(entries.len());
    let mut errors = Vec::new();
    for (suffix, text) in entries {
        match parse_limit(text) {
            Ok(l) => {
                if let Some(prev) = out.iter().find(|p| p.window == l.window) {
                    let unit = UNITS.iter().find(|(_, w)| *w == l.window).map_or("", |(n, _)| *n);
                    errors.push((
                        suffix,
                        LimitError::new(
                            format!(
                                "the {unit} window is given twice ({}/{unit} and \"{text}\")",
                                prev.count
                            ),
                            Some("keep one limit per window".into()),
                        ),
                    ));
                } else {
                    out.push(l);
                }
            }
            Err(e) => errors.push((suffix, e)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    out.sort_by_key(|l| l.window);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_limit(text).expect_err(text).message
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(
            parse_limit("5/second"),
            Ok(Limit {
                count: 5,
                window: Window::Second
            })
        );
        assert_eq!(
            parse_limit("10/minute"),
            Ok(Limit {
                count: 10,
                window: Window::Minute
            })
        );
        assert_eq!(
            parse_limit(" 7 / hour "),
            Ok(Limit {
                count: 7,
                window: Window::Hour
            })
        );
        assert_eq!(
            parse_limit("10000/day"),
            Ok(Limit {
                count: 10_000,
                window: Window::Day
            })
        );
    }

    #[test]
    fn rejects_bad_counts() {
        assert!(err("0/second").contains("reject every request"));
        assert!(err("-1/second").contains("negative"));
        assert!(err("1.5/second").contains("whole number"));
        assert!(err("five/second").contains("whole number"));
        assert!(err("/second").contains("whole number"));
        assert!(err("5").contains("COUNT/WINDOW"));
    }

    #[test]
    fn rejects_unknown_units_with_a_hint() {
        let e = parse_limit("5/minutes").expect_err("plural");
        assert!(e.message.contains("unknown unit \"minutes\""));
        assert_eq!(e.hint.as_deref(), Some("did you mean \"minute\"?"));
        assert_eq!(
            parse_limit("5/fortnight").expect_err("unit").hint.as_deref(),
            Some("units: second, minute, hour, day")
        );
    }

    #[test]
    fn the_maximum_fits_the_filter_bucket() {
        for (_, w) in UNITS {
            let max = max_count(*w);
            let micros = u64::from(w.seconds()) * MICROS;
            assert!(max.checked_mul(micros).is_some());
            assert!((max + 1).checked_mul(micros).is_none());
        }
        assert_eq!(max_count(Window::Day), 213_503_982);
        assert!(parse_limit("213503982/day").is_ok());
        assert!(err("213503983/day").contains("at most 213503982/day"));
        assert!(err("99999999999999999999999/second").contains("too large"));
    }

    #[test]
    fn lists_are_sorted_by_window_and_windows_unique() {
        let many = RateLimit::Many(vec!["10000/day".into(), "5/second".into()]);
        let limits = parse_limits(&many).expect("valid");
        assert_eq!(
            limits.iter().map(|l| l.window).collect::<Vec<_>>(),
            vec![Window::Second, Window::Day]
        );
        let twice = RateLimit::Many(vec!["5/second".into(), "10/second".into()]);
        let errs = parse_limits(&twice).expect_err("duplicate window");
        assert_eq!(errs[0].0, "[1]");
        assert!(errs[0].1.message.contains("second window is given twice"));
        assert!(parse_limits(&RateLimit::Many(vec![])).is_err());
    }
}
