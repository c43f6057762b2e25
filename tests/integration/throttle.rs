//! Brute-force protection over real connections: wrong passwords are slowed and the right
//! one still gets in after the delay, an attacker elsewhere cannot lock the owner out, two
//! replicas share the counts, and client secrets, device user codes and `/auth` floods are
//! limited per address. Addresses are told apart through a trusted proxy (`X-Forwarded-For`
//! from 127.0.0.1, listed in `web.trustedProxies`).

use crate::common::*;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use std::path::Path;
use std::sync::Arc;
use url::Url;

/// Requests from 127.0.0.1 may name the client in X-Forwarded-For.
const TRUST_LOCALHOST: &str = "web:\n  trustedProxies: [127.0.0.1]\n";
/// Delays long enough that a test never outlives one by accident (time is kept in whole
/// seconds, so a 1 s delay can end a moment after it began); tests move the clock instead.
const SLOW: &str = "throttle:\n  firstDelay: 5s\n  maxDelay: 10s\n";

/// A browser (cookies, no redirects) whose requests come from `address`, as the proxy says.
fn browser_from(address: &str) -> reqwest::Client {
    install_crypto_provider();
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(address).unwrap());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .unwrap()
}

fn retry_after(page: &Page) -> u64 {
    page.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The password form of a fresh login (`prompt=login`: a session the browser holds is not
/// reused, so the form shows).
async fn password_form(server: &TestServer, browser: &reqwest::Client) -> Page {
    let mut url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email");
    url.query_pairs_mut().append_pair("prompt", "login");
    let page = navigate(browser, &url).await.page();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// Submits the password on `page`; a success ends at the client (approval clicked).
async fn attempt(browser: &reqwest::Client, page: &Page, password: &str) -> Result<Url, Page> {
    match submit_password(browser, page, ADMIN_EMAIL, password).await {
        Hop::Client(url) => Ok(url),
        Hop::Page(next) if next.url.path().ends_with("/approval") => {
            Ok(approve(browser, &next).await.client())
        }
        Hop::Page(next) => Err(next),
    }
}

fn audit_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_wrong_passwords_are_slowed_and_the_right_one_then_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let server = TestServer::builder()
        .yaml(&format!("logger:\n  auditFile: {}\nthrottle:\n  maxDelay: 8s\n", audit.display()))
        .start()
        .await;
    let browser = browser();
    let mut page = password_form(&server, &browser).await;
    let (mut refused, mut checked, mut last_wait) = (0, 0, 0);
    for _ in 0..50 {
        page = attempt(&browser, &page, "wrong-password").await.unwrap_err();
        match page.status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                last_wait = retry_after(&page);
                assert!((1..=8).contains(&last_wait), "Retry-After {last_wait}");
                assert!(page.body.contains("Too many attempts"), "{}", page.body);
                assert!(page.body.contains("name=\"password\""), "the form is shown again");
            }
            other => panic!("unexpected {other}: {}", page.body),
        }
    }
    // Five are checked; each later one only once its delay has passed (real seconds pass
    // during the loop too, so a few may be).
    assert!((5..=9).contains(&checked), "{checked} checked, {refused} refused");
    assert_eq!(checked + refused, 50);

    // The right password is refused too while the delay runs: it is not even checked…
    let during = attempt(&browser, &page, ADMIN_PASSWORD).await.unwrap_err();
    assert_eq!(during.status, StatusCode::TOO_MANY_REQUESTS, "{}", during.body);
    // …and gets in once it has passed.
    server.advance(retry_after(&during).max(last_wait) as i64);
    let done = attempt(&browser, &during, ADMIN_PASSWORD).await.expect("the right password gets in");
    assert!(query_param(&done, "code").is_some(), "{done}");

    // The refusals are audited with their scope, and never with the password.
    let events = audit_lines(&audit);
    let throttled: Vec<_> = events.iter().filter(|e| e["event"] == "throttled").collect();
    assert!(throttled.len() >= refused, "{} events for {refused} refusals", throttled.len());
    assert!(throttled.iter().all(|e| e["scope"] == "login_account_address" && e["login"] == ADMIN_EMAIL));
    assert!(throttled.iter().all(|e| e["source_ip"] == "127.0.0.1"), "{:?}", throttled[0]);
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(!text.contains("wrong-password") && !text.contains(ADMIN_PASSWORD));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_elsewhere_cannot_lock_the_owner_out() {
    let server = TestServer::builder()
        .yaml(TRUST_LOCALHOST)
        .yaml("throttle:\n  loginFailures:\n    perAccount: 3\n  firstDelay: 3s\n  maxDelay: 10s\n  maxAccountDelay: 3s\n")
        .start()
        .await;
    // The owner logs in once from their browser.
    let owner = browser_from("192.0.2.7");
    let page = password_form(&server, &owner).await;
    attempt(&owner, &page, ADMIN_PASSWORD).await.expect("first login");

    // An attacker at another address guesses on and on.
    let attacker = browser_from("198.51.100.1");
    let mut page = password_form(&server, &attacker).await;
    let mut refused = 0;
    for _ in 0..20 {
        page = attempt(&attacker, &page, "guess").await.unwrap_err();
        refused += usize::from(page.status == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(refused >= 10, "the attacker is slowed: {refused} of 20 refused");

    // A new browser of the owner waits, at most maxAccountDelay.
    let laptop = browser_from("192.0.2.8");
    let page = password_form(&server, &laptop).await;
    let waiting = attempt(&laptop, &page, ADMIN_PASSWORD).await.unwrap_err();
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS, "{}", waiting.body);
    assert!(retry_after(&waiting) <= 3, "capped: {}", retry_after(&waiting));

    // The owner's browser, which logged in as the account before, is not made to wait (and
    // its success clears the account's count).
    let page = password_form(&server, &owner).await;
    attempt(&owner, &page, ADMIN_PASSWORD).await.expect("the owner's browser gets in at once");

    // The attacker raises the count again (from another address: the first one is slowed
    // for itself); the new browser gets in once the delay has passed.
    let attacker = browser_from("198.51.100.2");
    let mut page = password_form(&server, &attacker).await;
    for _ in 0..5 {
        page = attempt(&attacker, &page, "guess").await.unwrap_err();
    }
    let page = password_form(&server, &laptop).await;
    let waiting = attempt(&laptop, &page, ADMIN_PASSWORD).await.unwrap_err();
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS, "{}", waiting.body);
    server.advance(3);
    attempt(&laptop, &waiting, ADMIN_PASSWORD).await.expect("after the capped delay");

    // The header is only believed from a trusted proxy: without one it is the peer.
    let spoofing = TestServer::builder()
        .yaml(SLOW)
        .yaml("throttle:\n  loginFailures:\n    perAccountAndAddress: 2\n")
        .start()
        .await;
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let b = browser_from(address);
        let page = password_form(&spoofing, &b).await;
        attempt(&b, &page, "guess").await.unwrap_err();
    }
    let b = browser_from("203.0.113.4");
    let page = password_form(&spoofing, &b).await;
    let refused = attempt(&b, &page, "guess").await.unwrap_err();
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "all four came from 127.0.0.1");
    spoofing.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_the_count() {
    let database = Arc::new(ScratchDatabase::create().await);
    let a = TestServer::builder().shared_postgres(database.clone()).yaml(SLOW).start().await;
    let b = TestServer::builder().shared_postgres(database.clone()).yaml(SLOW).start().await;
    let browser = browser();
    let mut page = password_form(&a, &browser).await;
    for _ in 0..5 {
        page = attempt(&browser, &page, "wrong").await.unwrap_err();
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // The sixth try goes to the other replica, which knows of the five.
    let page = password_form(&b, &browser).await;
    let refused = attempt(&browser, &page, "wrong").await.unwrap_err();
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_grant_and_client_secrets_are_throttled_in_json() {
    let server = TestServer::builder()
        .yaml(TRUST_LOCALHOST)
        .yaml("oauth2:\n  passwordConnector: local\n  grantTypes: [authorization_code, password]\n")
        .yaml(SLOW)
        .start()
        .await;
    let grant = |password: &'static str| {
        [("grant_type", "password"), ("username", ADMIN_EMAIL), ("password", password), ("scope", "openid")]
    };
    for _ in 0..5 {
        server
            .token(Some((CLIENT_ID, CLIENT_SECRET)), &grant("wrong"))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let refused = server.token(Some((CLIENT_ID, CLIENT_SECRET)), &grant(ADMIN_PASSWORD)).await;
    refused.assert_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable");
    let wait: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    server.advance(wait);
    let ok = server.token(Some((CLIENT_ID, CLIENT_SECRET)), &grant(ADMIN_PASSWORD)).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);

    // Wrong client secrets: ten a minute per address, then even the right one waits.
    let from = |address: &str| {
        let address = address.to_string();
        let server = &server;
        async move {
            api()
                .post(server.url("/token/introspect"))
                .header("x-forwarded-for", address)
                .basic_auth(CLIENT_ID, Some("not-the-secret"))
                .form(&[("token", "x")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..11 {
        assert_eq!(from("198.51.100.9").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(from("198.51.100.9").await, StatusCode::TOO_MANY_REQUESTS);
    let right = api()
        .post(server.url("/token/introspect"))
        .header("x-forwarded-for", "198.51.100.9")
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right.headers().contains_key("retry-after"));
    assert_eq!(from("198.51.100.10").await, StatusCode::UNAUTHORIZED, "another address is not refused");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_code_guesses_and_auth_floods_are_limited_per_address() {
    let server = TestServer::builder()
        .yaml(TRUST_LOCALHOST)
        .yaml(SLOW)
        .yaml("throttle:\n  userCodeFailures: 2\n  authRequestsPerSecond: 1\n  authRequestsBurst: 3\n")
        .start()
        .await;
    let guesser = browser_from("198.51.100.20");
    let mut page = navigate(&guesser, &Url::parse(&server.url("/device")).unwrap()).await.page();
    let mut statuses = Vec::new();
    for code in ["BCDF-GHJK", "BCDF-GHJL", "BCDF-GHJM", "BCDF-GHJN"] {
        page = submit(&guesser, &page.form(), &[("user_code", code)]).await.page();
        statuses.push(page.status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ],
        "the second wrong code earns a delay"
    );
    assert!(retry_after(&page) >= 1 && page.body.contains("Too many attempts"), "{}", page.body);

    // /auth: a burst of three, then 429 with the error page, for this address only.
    let url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid");
    let flooder = browser_from("198.51.100.21");
    for _ in 0..3 {
        let status = flooder.get(url.clone()).send().await.unwrap().status();
        assert!(status.is_redirection() || status == StatusCode::OK, "{status}");
    }
    let flooded = navigate(&flooder, &url).await.page();
    assert_eq!(flooded.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(flooded.content_type().starts_with("text/html") && retry_after(&flooded) >= 1);
    let other = browser_from("198.51.100.22").get(url.clone()).send().await.unwrap().status();
    assert!(other.is_redirection(), "{other}");
    server.stop().await;
}
