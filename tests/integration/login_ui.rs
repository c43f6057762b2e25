//! The login pages: wrong passwords, CSRF, expired or unknown requests, the session cookie.

use crate::common::*;
use reqwest::StatusCode;

async fn password_page(server: &TestServer, browser: &reqwest::Client) -> Page {
    let page = navigate(browser, &server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid")).await.page();
    assert_eq!(page.status, StatusCode::OK);
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_shows_the_form_again() {
    let server = TestServer::start().await;
    let browser = browser();
    let page = password_page(&server, &browser).await;
    for (login, password) in
        [(ADMIN_EMAIL, "wrong"), ("nobody@example.com", ADMIN_PASSWORD), (ADMIN_EMAIL, "")]
    {
        let again = submit_password(&browser, &page, login, password).await.page();
        assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.body);
        assert!(again.content_type().starts_with("text/html"));
        assert!(again.body.contains("Invalid username and password"), "{}", again.body);
        assert!(again.body.contains(&format!(r#"value="{login}""#)), "the login is kept");
        assert!(!again.body.contains(r#"value="wrong""#), "the password is never echoed");
    }
    // The request is still alive: the right password now logs in.
    let approval = submit_password(&browser, &page, ADMIN_EMAIL, ADMIN_PASSWORD).await.page();
    let done = approve(&browser, &approval).await.client();
    assert!(query_param(&done, "code").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_session_csrf_token() {
    let server = TestServer::start().await;
    let browser = browser();
    let page = password_page(&server, &browser).await;
    let form = page.form();
    assert!(form.hidden("csrf_token").is_some_and(|t| !t.is_empty()));

    let post = |fields: Vec<(&'static str, String)>| {
        let action = form.action.clone();
        let browser = browser.clone();
        async move { send_and_follow(&browser, browser.post(action.clone()).form(&fields), &action).await.page() }
    };
    let login = || vec![("login", ADMIN_EMAIL.to_string()), ("password", ADMIN_PASSWORD.to_string())];
    post(login()).await.assert_error_page();
    let mut wrong = login();
    wrong.push(("csrf_token", "forged".into()));
    post(wrong).await.assert_error_page();

    // The right token from another browser (no session cookie) does not work either.
    let mut stolen = login();
    stolen.push(("csrf_token", form.hidden("csrf_token").unwrap().to_string()));
    let other = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = other.post(form.action.clone()).form(&stolen).send().await.unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());

    // The approval form too.
    let approval = submit_password(&browser, &page, ADMIN_EMAIL, ADMIN_PASSWORD).await.page();
    let form = approval.form();
    let mut fields: Vec<(String, String)> =
        form.hidden.iter().filter(|(n, _)| n != "csrf_token").cloned().collect();
    fields.push(("approval".into(), "approve".into()));
    fields.push(("csrf_token".into(), "forged".into()));
    let response =
        send_and_follow(&browser, browser.post(form.action.clone()).form(&fields), &form.action).await.page();
    response.assert_error_page();
    // A forged approval did not consume the request.
    assert!(query_param(&approve(&browser, &approval).await.client(), "code").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_expired_login_request_gets_a_friendly_page() {
    let server = TestServer::start().await;
    let browser = browser();
    let unknown =
        navigate(&browser, &url::Url::parse(&server.url("/auth/local/login?state=no-such-request")).unwrap())
            .await
            .page();
    unknown.assert_error_page();
    assert!(unknown.body.to_lowercase().contains("expired"), "{}", unknown.body);

    let page = password_page(&server, &browser).await;
    server.advance(24 * 3600 + 1); // expiry.authRequests defaults to 24h
    let expired = submit_password(&browser, &page, ADMIN_EMAIL, ADMIN_PASSWORD).await.page();
    expired.assert_error_page();
    assert!(expired.body.to_lowercase().contains("expired"), "{}", expired.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_link_is_bound_to_its_login() {
    let server = TestServer::start().await;
    let browser = browser();
    let page = password_page(&server, &browser).await;
    let approval = submit_password(&browser, &page, ADMIN_EMAIL, ADMIN_PASSWORD).await.page();
    let mut tampered = approval.url.clone();
    let req = query_param(&approval.url, "req").unwrap();
    tampered.query_pairs_mut().clear().append_pair("req", &req).append_pair("hmac", "AAAA");
    navigate(&browser, &tampered).await.page().assert_error_page();
    tampered.query_pairs_mut().clear().append_pair("req", "nope").append_pair("hmac", "AAAA");
    navigate(&browser, &tampered).await.page().assert_error_page();
    // The genuine link still works.
    assert!(query_param(&approve(&browser, &approval).await.client(), "code").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_http_only_and_same_site_lax() {
    let server = TestServer::start().await;
    let auth = api().get(server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid")).send().await.unwrap();
    let connector = api().get(auth.headers()["location"].to_str().unwrap()).send().await.unwrap();
    let form_url = connector.headers()["location"].to_str().unwrap().to_string();
    let response = api().get(form_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<String> =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session =
        cookies.iter().find(|c| c.starts_with("tessera_session=")).unwrap_or_else(|| panic!("{cookies:?}"));
    let attributes: Vec<String> = session.split(';').map(|a| a.trim().to_lowercase()).collect();
    assert!(attributes.contains(&"httponly".to_string()), "{session}");
    assert!(attributes.contains(&"samesite=lax".to_string()), "{session}");
    assert!(attributes.contains(&"path=/dex".to_string()), "{session}");
    // Plain http issuer: not Secure (the browser would drop it).
    assert!(!attributes.contains(&"secure".to_string()), "{session}");
    // The pages carry the security headers.
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert!(
        response.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'")
    );
}

/// The password form's URL and the session cookie (`name=value`) its page set, by hand: no
/// cookie jar, so the test decides exactly which cookies go back.
async fn password_form(server: &TestServer) -> (Form, String, Vec<String>) {
    // Redirects name the issuer; the test reaches the server at its own address.
    let here = |r: &reqwest::Response| {
        r.headers()["location"].to_str().unwrap().replacen(&server.issuer, &server.base_url, 1)
    };
    let auth = api().get(server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid")).send().await.unwrap();
    let connector = api().get(here(&auth)).send().await.unwrap();
    let form_url = url::Url::parse(&here(&connector)).unwrap();
    let response = api().get(form_url.clone()).send().await.unwrap();
    let set_cookies: Vec<String> =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session = set_cookies
        .iter()
        .find(|c| c.contains("tessera_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .unwrap_or_else(|| panic!("{set_cookies:?}"));
    let body = response.text().await.unwrap();
    let form = html::forms(&form_url, &body).into_iter().next().unwrap();
    (form, session, set_cookies)
}

/// Cookie tossing: a sibling host plants `tessera_session` for the whole domain at `Path=/`,
/// and the browser sends it next to ours (ours first: longer path). The login still works,
/// in either order, and a planted cookie alone is just no session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_session_cookie_does_not_break_the_login() {
    let server = TestServer::start().await;
    let planted = "tessera_session=AAAAAAAAAAAAAAAAAAAAAA";
    for order in [0, 1] {
        let (form, ours, _) = password_form(&server).await;
        let cookie =
            if order == 0 { format!("{ours}; other=1; {planted}") } else { format!("{planted}; {ours}") };
        let mut fields = form.hidden.clone();
        fields.extend([
            ("login".to_string(), ADMIN_EMAIL.to_string()),
            ("password".into(), ADMIN_PASSWORD.into()),
        ]);
        let response =
            api().post(form.action.clone()).header("cookie", cookie).form(&fields).send().await.unwrap();
        assert!(response.status().is_redirection(), "order {order}: {}", response.status());
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.contains("/approval"), "order {order}: {location}");
    }
    // Only the planted one: the form's CSRF token belongs to no session, so it is refused.
    let (form, _, _) = password_form(&server).await;
    let response =
        api().post(form.action.clone()).header("cookie", planted).form(&form.hidden).send().await.unwrap();
    assert!(!response.status().is_redirection() && response.status() != StatusCode::INTERNAL_SERVER_ERROR);
}

/// On an https issuer the session cookie is `__Host-` prefixed (so no sibling host can plant
/// it), `Secure`, at `Path=/` and without `Domain`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_issuer_uses_a_host_only_cookie() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // The issuer is https (as behind a TLS-terminating proxy); the test talks to the listener.
    let server =
        TestServer::builder().listener(listener).issuer("https://auth.example.test/dex").start().await;
    let (_, session, set_cookies) = password_form(&server).await;
    assert!(session.starts_with("__Host-tessera_session="), "{session}");
    let full = set_cookies.iter().find(|c| c.starts_with("__Host-tessera_session=")).unwrap();
    let attributes: Vec<String> = full.split(';').map(|a| a.trim().to_lowercase()).collect();
    assert!(attributes.contains(&"secure".to_string()), "{full}");
    assert!(attributes.contains(&"path=/".to_string()), "{full}");
    assert!(!attributes.iter().any(|a| a.starts_with("domain=")), "{full}");
}
