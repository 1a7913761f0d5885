//! `apis[].hosts`: normalization (docs/catalog.md#base-path-and-hosts: lower-case, no port, no trailing dot, `*.x.com` wildcards)
//! and the overlap test behind docs/catalog.md#operations's cross-API conflicts.

/// Normalizes one host pattern, or says why it is not one.
pub(crate) fn normalize_host(raw: &str) -> Result<String, String> {
    // 253 bytes for a DNS name, plus room for a port and brackets.
    if raw.len() > 270 || raw.chars().any(char::is_control) {
        return Err(format!(
            "host \"{}\" is not a host name (too long or has a control character)",
            crate::diag::shown(raw)
        ));
    }
    let host = raw.trim().to_ascii_lowercase();
    if host.contains("://") || host.contains('/') {
        return Err(format!(
            "host \"{raw}\" is not a host name (write it without scheme or path)"
        ));
    }
    // IPv6 literals keep their brackets; only a trailing `:port` may follow.
    if let Some(rest) = host.strip_prefix('[') {
        let Some((addr, after)) = rest.split_once(']') else {
            return Err(format!("host \"{raw}\" has an unclosed '['"));
        };
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return Err(format!("host \"{raw}\" is not an IPv6 address"));
        }
        if !after.is_empty() && !is_port(after) {
            return Err(format!(
                "host \"{raw}\" has something after the address that is not a port"
            ));
        }
        return Ok(format!("[{addr}]"));
    }
    let host = match host.rsplit_once(':') {
        Some((name, port)) if is_port(&format!(":{port}")) => name.to_string(),
        Some(_) => return Err(format!("host \"{raw}\" has an invalid port")),
        None => host,
    };
    let host = host.strip_suffix('.').unwrap_or(&host).to_string();
    let name = host.strip_prefix("*.").unwrap_or(&host);
    if name.is_empty() {
        return Err(format!("host \"{raw}\" is empty"));
    }
    if name.contains('*') {
        return Err(format!(
            "host \"{raw}\": a wildcard is only allowed as the whole first label, like \"*.example.com\""
        ));
    }
    if host.len() > 253 {
        return Err(format!("host \"{raw}\" is longer than 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("host \"{raw}\" has an empty label"));
        }
        if label.len() > 63 {
            return Err(format!("host \"{raw}\" has a label longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "host \"{raw}\" has a character that is not allowed in a host name"
            ));
        }
    }
    Ok(host)
}

fn is_port(s: &str) -> bool {
    s.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether some request host could match both host sets (empty = any host).
pub(crate) fn sets_overlap(a: &[String], b: &[String]) -> bool {
    if a.is_empty() || b.is_empty() {
        return true;
    }
    a.iter().any(|x| b.iter().any(|y| patterns_overlap(x, y)))
}

/// Two normalized patterns overlap when one host matches both. `*.x.com` matches any host that
/// ends in `.x.com` with at least one more label (as Envoy's suffix wildcards do).
pub(crate) fn patterns_overlap(a: &str, b: &str) -> bool {
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (None, None) => a == b,
        (Some(sa), None) => b.len() > sa.len() && b.ends_with(sa),
        (None, Some(sb)) => a.len() > sb.len() && a.ends_with(sb),
        // `*.x.com` and `*.b.x.com` both match `a.b.x.com`.
        (Some(sa), Some(sb)) => sa.ends_with(sb) || sb.ends_with(sa),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_port_and_trailing_dot() {
        assert_eq!(
            normalize_host("API.Kong-Air.com:8443."),
            Err("host \"API.Kong-Air.com:8443.\" has an invalid port".into())
        );
        assert_eq!(
            normalize_host("API.Kong-Air.com.:8443").as_deref(),
            Ok("api.kong-air.com")
        );
        assert_eq!(normalize_host("api.kong-air.com.").as_deref(), Ok("api.kong-air.com"));
        assert_eq!(normalize_host("*.Example.com").as_deref(), Ok("*.example.com"));
        assert_eq!(normalize_host("[::1]:8080").as_deref(), Ok("[::1]"));
        assert_eq!(normalize_host("10.0.0.1:80").as_deref(), Ok("10.0.0.1"));
    }

    #[test]
    fn rejects_what_is_not_a_host() {
        for bad in [
            "",
            "https://api.x.com",
            "api.x.com/v1",
            "a.*.com",
            "*",
            "*.",
            "a..b",
            "api x.com",
            "foo*.x.com",
            "x.com:http",
        ] {
            assert!(normalize_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap_rules() {
        assert!(patterns_overlap("a.x.com", "a.x.com"));
        assert!(!patterns_overlap("a.x.com", "b.x.com"));
        assert!(patterns_overlap("*.x.com", "a.x.com"));
        assert!(patterns_overlap("a.b.x.com", "*.x.com"));
        assert!(!patterns_overlap("*.x.com", "x.com"));
        assert!(patterns_overlap("*.x.com", "*.x.com"));
        assert!(patterns_overlap("*.x.com", "*.b.x.com"));
        assert!(!patterns_overlap("*.x.com", "*.y.com"));
        assert!(sets_overlap(&[], &["a.com".into()]));
        assert!(!sets_overlap(&["a.com".into()], &["b.com".into()]));
    }
}
