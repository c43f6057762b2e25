use super::*;
use crate::storage::sql::SqlStorage;

const NOW: UnixTime = 1_800_000_000;

fn config() -> ThrottleConfig {
    ThrottleConfig {
        per_account_and_address: 3,
        per_address: 6,
        per_account: 10,
        user_code_failures: 2,
        client_auth_failures: 3,
        auth_requests_per_second: 1,
        auth_requests_burst: 2,
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(60),
        max_account_delay: Duration::from_secs(5),
        ..ThrottleConfig::default()
    }
}

fn throttle(config: ThrottleConfig) -> Throttle {
    Throttle::new(config, Audit::log_only())
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn attempt<'a>(connector: &'a ConnectorId, login: &'a str, source: &str) -> PasswordAttempt<'a> {
    PasswordAttempt { connector, login, source: ip(source), known_browser: false }
}

/// `n` attempts, each allowed and then failed.
async fn fail_times(t: &Throttle, s: &SqlStorage, a: &PasswordAttempt<'_>, n: usize, now: UnixTime) {
    for _ in 0..n {
        assert_eq!(
            t.check_password(s, a, now).await.unwrap(),
            None,
            "refused before the free failures ran out"
        );
        t.password_failed(s, a, now).await.unwrap();
    }
}

/// `n` failures counted (as from attempts the delays did not stop).
async fn count_failures(t: &Throttle, s: &SqlStorage, a: &PasswordAttempt<'_>, n: usize, now: UnixTime) {
    for _ in 0..n {
        t.password_failed(s, a, now).await.unwrap();
    }
}

#[tokio::test]
async fn past_the_free_failures_an_attempt_waits_and_then_goes_ahead() {
    let (s, t) = (SqlStorage::open_memory().await.unwrap(), throttle(config()));
    let local = ConnectorId::from("local");
    let a = attempt(&local, "Alice@example.com", "192.0.2.1");
    fail_times(&t, &s, &a, 3, NOW).await;
    // The third failure earns the first delay.
    let refused = t.check_password(&s, &a, NOW).await.unwrap();
    assert_eq!(refused, Some(Throttled { scope: Scope::AccountAndAddress, retry_after: 1 }));
    assert_eq!(t.check_password(&s, &a, NOW + 1).await.unwrap(), None, "after the delay");
    // Each further failure doubles the wait.
    t.password_failed(&s, &a, NOW + 1).await.unwrap();
    assert_eq!(t.check_password(&s, &a, NOW + 1).await.unwrap().map(|r| r.retry_after), Some(2));
    // The name is compared without case or surrounding space.
    let same = attempt(&local, " alice@EXAMPLE.com", "192.0.2.1");
    assert!(t.check_password(&s, &same, NOW + 1).await.unwrap().is_some());
    // The right password clears the account's counts.
    t.password_succeeded(&s, &a).await.unwrap();
    assert_eq!(t.check_password(&s, &a, NOW + 1).await.unwrap(), None);
}

#[tokio::test]
async fn an_attacker_elsewhere_cannot_lock_the_owner_out() {
    let (s, t) = (SqlStorage::open_memory().await.unwrap(), throttle(config()));
    let local = ConnectorId::from("local");
    // Failures from many addresses, each within its own free count.
    for i in 0..5 {
        count_failures(&t, &s, &attempt(&local, "alice", &format!("198.51.100.{i}")), 3, NOW).await;
    }
    // 15 failures on the account: its own (capped) delay applies to a new browser…
    let owner = attempt(&local, "alice", "192.0.2.7");
    let refused = t.check_password(&s, &owner, NOW).await.unwrap().unwrap();
    assert_eq!(refused.scope, Scope::Account);
    assert!(refused.retry_after <= 5, "capped by maxAccountDelay: {refused:?}");
    assert_eq!(t.check_password(&s, &owner, NOW + 5).await.unwrap(), None, "and ends");
    // …and none to a browser that logged in as the account before.
    let known = PasswordAttempt { known_browser: true, ..owner };
    assert_eq!(t.check_password(&s, &known, NOW).await.unwrap(), None);
    // Another account is untouched.
    assert_eq!(t.check_password(&s, &attempt(&local, "bob", "192.0.2.7"), NOW).await.unwrap(), None);
}

#[tokio::test]
async fn one_address_spraying_many_accounts_is_slowed() {
    let (s, t) = (SqlStorage::open_memory().await.unwrap(), throttle(config()));
    let local = ConnectorId::from("local");
    for user in ["a", "b", "c", "d"] {
        count_failures(&t, &s, &attempt(&local, user, "203.0.113.9"), 2, NOW).await;
    }
    let next = t.check_password(&s, &attempt(&local, "e", "203.0.113.9"), NOW).await.unwrap();
    assert_eq!(next.map(|r| r.scope), Some(Scope::Address));
    // The same /64 is the same address; another is not.
    let v6 = ConnectorId::from("ldap");
    count_failures(&t, &s, &attempt(&v6, "x", "2001:db8::1"), 4, NOW).await;
    count_failures(&t, &s, &attempt(&v6, "y", "2001:db8::2"), 3, NOW).await;
    let sprayed = t.check_password(&s, &attempt(&v6, "z", "2001:db8::ffff"), NOW).await.unwrap();
    assert_eq!(sprayed.map(|r| r.scope), Some(Scope::Address));
    assert_eq!(t.check_password(&s, &attempt(&v6, "z", "2001:db8:0:1::1"), NOW).await.unwrap(), None);
}

#[tokio::test]
async fn connectors_count_separately_and_a_disabled_throttle_counts_nothing() {
    let (s, t) = (SqlStorage::open_memory().await.unwrap(), throttle(config()));
    let (local, ldap) = (ConnectorId::from("local"), ConnectorId::from("ldap"));
    fail_times(&t, &s, &attempt(&local, "alice", "192.0.2.1"), 3, NOW).await;
    assert!(t.check_password(&s, &attempt(&local, "alice", "192.0.2.1"), NOW).await.unwrap().is_some());
    assert_eq!(t.check_password(&s, &attempt(&ldap, "alice", "192.0.2.2"), NOW).await.unwrap(), None);

    let off = throttle(ThrottleConfig { enabled: false, ..config() });
    let a = attempt(&ldap, "carol", "192.0.2.3");
    for _ in 0..20 {
        off.password_failed(&s, &a, NOW).await.unwrap();
    }
    assert_eq!(off.check_password(&s, &a, NOW).await.unwrap(), None);
    assert_eq!(s.get_failures(&digest("login-account", &["ldap", "carol"]), NOW).await.unwrap(), None);
}

#[tokio::test]
async fn wrong_user_codes_are_counted_per_address() {
    let (s, t) = (SqlStorage::open_memory().await.unwrap(), throttle(config()));
    let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
    for _ in 0..2 {
        assert_eq!(t.check_user_code(&s, a, NOW).await.unwrap(), None);
        t.user_code_failed(&s, a, NOW).await.unwrap();
    }
    // The second wrong code earns the first delay.
    let refused = t.check_user_code(&s, a, NOW).await.unwrap();
    assert_eq!(refused, Some(Throttled { scope: Scope::UserCode, retry_after: 1 }));
    assert_eq!(t.check_user_code(&s, b, NOW).await.unwrap(), None, "another address");
    assert_eq!(t.check_user_code(&s, a, NOW + 1).await.unwrap(), None, "after the delay");
}

#[test]
fn client_authentication_failures_spend_a_per_address_budget() {
    let t = throttle(config());
    let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
    for _ in 0..3 {
        assert_eq!(t.check_client_auth(a, "app", NOW), None);
        t.client_auth_failed(a);
    }
    assert_eq!(t.check_client_auth(a, "app", NOW), None, "three failures fit the budget");
    t.client_auth_failed(a);
    let refused = t.check_client_auth(a, "app", NOW).unwrap();
    assert_eq!(refused.scope, Scope::ClientAuth);
    assert!((1..=20).contains(&refused.retry_after), "one cell refills in 20 s: {refused:?}");
    assert_eq!(t.check_client_auth(b, "app", NOW), None, "another address");
    assert_eq!(t.check_client_auth(None, "app", NOW), None, "no address, no limit");
}

#[test]
fn auth_requests_are_limited_per_address() {
    let t = throttle(config());
    let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
    assert_eq!(t.check_auth_request(a, NOW), None);
    assert_eq!(t.check_auth_request(a, NOW), None, "a burst of two");
    let refused = t.check_auth_request(a, NOW).unwrap();
    assert_eq!(refused, Throttled { scope: Scope::AuthRequests, retry_after: 1 });
    assert_eq!(t.check_auth_request(b, NOW), None);
    let unlimited = throttle(ThrottleConfig { auth_requests_per_second: 0, ..config() });
    for _ in 0..100 {
        assert_eq!(unlimited.check_auth_request(a, NOW), None);
    }
}

#[test]
fn ipv6_addresses_count_by_their_64() {
    assert_eq!(
        address_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
        "2001:db8:1:2::".parse::<IpAddr>().unwrap()
    );
    assert_eq!(address_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    assert_eq!(address_key("192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
}

#[test]
fn digests_separate_their_parts() {
    assert_ne!(digest("k", &["ab", "c"]), digest("k", &["a", "bc"]));
    assert_ne!(digest("k", &["a"]), digest("j", &["a"]));
    assert_eq!(digest("k", &["a"]).len(), 64);
}
