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
