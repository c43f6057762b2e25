//! `throttle` and `web.clientRemoteIP` / `web.trustedProxies`.

use super::{Report, duration_or, raw};
use crate::config::throttle::{ClientAddressConfig, ForwardedHeader, ThrottleConfig};
use ipnet::IpNet;
use std::net::IpAddr;
use std::time::Duration;

pub(super) fn build_throttle(raw: raw::Throttle, report: &mut Report) -> ThrottleConfig {
    let d = ThrottleConfig::default();
    let login = &raw.login_failures;
    let config = ThrottleConfig {
        enabled: raw.enabled.unwrap_or(d.enabled),
        per_account_and_address: login.per_account_and_address.unwrap_or(d.per_account_and_address),
        per_address: login.per_address.unwrap_or(d.per_address),
        per_account: login.per_account.unwrap_or(d.per_account),
        user_code_failures: raw.user_code_failures.unwrap_or(d.user_code_failures),
        client_auth_failures: raw.client_auth_failures.unwrap_or(d.client_auth_failures),
        auth_requests_per_second: raw.auth_requests_per_second.unwrap_or(d.auth_requests_per_second),
        auth_requests_burst: raw.auth_requests_burst.unwrap_or(d.auth_requests_burst),
        first_delay: duration_or(report, "throttle.firstDelay", raw.first_delay.as_ref(), d.first_delay),
        max_delay: duration_or(report, "throttle.maxDelay", raw.max_delay.as_ref(), d.max_delay),
        max_account_delay: duration_or(
            report,
            "throttle.maxAccountDelay",
            raw.max_account_delay.as_ref(),
            d.max_account_delay,
        ),
        forget_after: duration_or(report, "throttle.forgetAfter", raw.forget_after.as_ref(), d.forget_after),
    };
    // Delays are kept in whole seconds.
    for (path, value) in [
        ("throttle.firstDelay", config.first_delay),
        ("throttle.maxDelay", config.max_delay),
        ("throttle.maxAccountDelay", config.max_account_delay),
    ] {
        if value < Duration::from_secs(1) {
            report.problem(path, "must be at least 1s");
        }
    }
    if config.max_delay < config.first_delay {
        report.problem("throttle.maxDelay", "must not be shorter than throttle.firstDelay");
    }
    if config.forget_after < config.max_delay {
        report.problem("throttle.forgetAfter", "must not be shorter than throttle.maxDelay");
    }
    if config.client_auth_failures == 0 {
        report.problem("throttle.clientAuthFailures", "must be at least 1");
    }
    if config.auth_requests_per_second > 0 && config.auth_requests_burst == 0 {
        report.problem("throttle.authRequestsBurst", "must be at least 1 while authRequestsPerSecond is set");
    }
    config
}

pub(super) fn build_client_address(
    dex: raw::ClientRemoteIp,
    trusted_proxies: Vec<String>,
    report: &mut Report,
) -> ClientAddressConfig {
    let header = match dex.header.trim().to_ascii_lowercase().as_str() {
        "" | "x-forwarded-for" => ForwardedHeader::XForwardedFor,
        "forwarded" => ForwardedHeader::Forwarded,
        other => match axum::http::HeaderName::from_bytes(other.as_bytes()) {
            Ok(_) => ForwardedHeader::Other(other.to_string()),
            Err(_) => {
                report.problem("web.clientRemoteIP.header", format!("{other:?} is not a header name"));
                ForwardedHeader::XForwardedFor
            }
        },
    };
    let lists =
        [("web.clientRemoteIP.trustedProxies", dex.trusted_proxies), ("web.trustedProxies", trusted_proxies)];
    let mut nets = Vec::new();
    for (path, list) in lists {
        for (i, entry) in list.iter().enumerate() {
            match parse_net(entry) {
                Some(net) => nets.push(net),
                None => report.problem(
                    format!("{path}[{i}]"),
                    format!("{entry:?} is not an address or CIDR range (write 10.0.0.0/8 or 10.1.2.3)"),
                ),
            }
        }
    }
    ClientAddressConfig { header, trusted_proxies: nets }
}

/// `10.0.0.0/8`, or a single address (`10.1.2.3`, `::1`).
fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from)).map(|n| n.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_take_ranges_and_single_addresses() {
        let mut report = Report::default();
        let raw = raw::ClientRemoteIp { header: String::new(), trusted_proxies: vec!["10.0.0.0/8".into()] };
        let built = build_client_address(raw, vec!["127.0.0.1".into(), "fd00::/8".into()], &mut report);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(built.header, ForwardedHeader::XForwardedFor);
        for trusted in ["10.1.2.3", "127.0.0.1", "fd00::1", "::ffff:10.0.0.1"] {
            assert!(built.trusts(trusted.parse().unwrap()), "{trusted}");
        }
        for untrusted in ["11.0.0.1", "127.0.0.2", "fe80::1"] {
            assert!(!built.trusts(untrusted.parse().unwrap()), "{untrusted}");
        }
    }

    #[test]
    fn a_bad_range_or_header_is_a_problem_with_its_path() {
        let mut report = Report::default();
        let raw =
            raw::ClientRemoteIp { header: "bad header".into(), trusted_proxies: vec!["10.0.0.0/40".into()] };
        build_client_address(raw, vec!["nope".into()], &mut report);
        let paths: Vec<_> = report.problems.iter().map(|p| p.path.clone()).collect();
        assert_eq!(
            paths,
            ["web.clientRemoteIP.header", "web.clientRemoteIP.trustedProxies[0]", "web.trustedProxies[0]"]
        );
    }

    #[test]
    fn delays_must_make_sense_together() {
        let mut report = Report::default();
        let raw = raw::Throttle {
            first_delay: Some(raw::DurationText::Text("10s".into())),
            max_delay: Some(raw::DurationText::Text("5s".into())),
            ..Default::default()
        };
        let built = build_throttle(raw, &mut report);
        assert_eq!(built.first_delay, Duration::from_secs(10));
        let paths: Vec<_> = report.problems.iter().map(|p| p.path.clone()).collect();
        assert_eq!(paths, ["throttle.maxDelay"]);
    }
}
