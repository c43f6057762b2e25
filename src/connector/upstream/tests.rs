//! The shared OAuth client against small local servers: token responses in both encodings,
//! errors with `200 OK`, garbage, and a slow upstream cut by the client's timeout.

use super::*;
use axum::Router;
use axum::routing::{get, post};
use std::time::Duration;

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn app(base: &str, http: reqwest::Client) -> OAuthApp {
    OAuthApp {
        client_id: "id".into(),
        auth: ClientAuth::Basic(Secret::new("s&cret")),
        redirect_uri: "http://tessera/callback".into(),
        authorization_url: format!("{base}/authorize?x=1"),
        token_url: format!("{base}/token"),
        http,
    }
}

fn client() -> reqwest::Client {
    crate::connector::http::client(&crate::connector::http::Upstream::default()).unwrap()
}

#[tokio::test]
async fn authorize_url_and_token_encodings() {
    let router = Router::new()
        .route(
            "/token",
            post(|| async {
                (
                    [("content-type", "application/x-www-form-urlencoded")],
                    "access_token=a1&token_type=bearer&scope=user",
                )
            }),
        )
        .route(
            "/json",
            post(|| async {
                axum::Json(
                    serde_json::json!({"access_token": "a2", "expires_in": "3600", "refresh_token": "r"}),
                )
            }),
        );
    let base = serve(router).await;
    let app = app(&base, client());
    let url = app
        .authorize_url("t", "http://tessera/callback", &["a".into(), "b".into()], "st", &[("hd", "x")])
        .unwrap();
    let url = Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs[0], ("x".into(), "1".into()));
    assert!(pairs.contains(&("scope".into(), "a b".into())));
    assert!(pairs.contains(&("redirect_uri".into(), "http://tessera/callback".into())));
    assert!(pairs.contains(&("hd".into(), "x".into())));
    assert!(app.authorize_url("t", "http://elsewhere/callback", &[], "st", &[]).is_err());

    assert_eq!(app.exchange("t", "c").await.unwrap().access_token, "a1");
    let json = OAuthApp { token_url: format!("{base}/json"), ..app };
    let token = json.exchange("t", "c").await.unwrap();
    assert_eq!(token.expires_in, Some(3600));
    let data = TokenData::from_token(&token);
    assert!(data.access_token_valid());
    let key = crate::connector::sealed::DataKey::new(&crate::connector::sealed::DataKey::generate()).unwrap();
    let sealed = data.seal("t", &key).unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("a1"), "the token is not stored in the clear");
    assert_eq!(TokenData::open("t", &key, Some(&sealed)).unwrap(), data);
    assert!(TokenData::open("other", &key, Some(&sealed)).is_err(), "sealed for one connector type only");
}

#[tokio::test]
async fn errors_are_refusals_or_upstream_failures() {
    let router = Router::new()
        .route("/token", post(|| async { axum::Json(serde_json::json!({"error": "bad_verification_code"})) }))
        .route(
            "/broken",
            post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "<html>oops</html>") }),
        )
        .route("/garbage", post(|| async { axum::Json(serde_json::json!({"token": 1})) }))
        .route("/api", get(|| async { "not json" }));
    let base = serve(router).await;
    let app = app(&base, client());
    assert!(matches!(app.exchange("t", "c").await, Err(ConnectorError::Refused(_))));
    let broken = OAuthApp { token_url: format!("{base}/broken"), ..app.clone() };
    let Err(ConnectorError::Upstream(cause)) = broken.exchange("t", "c").await else { panic!() };
    assert!(cause.contains("500") && cause.contains("oops"), "{cause}");
    let garbage = OAuthApp { token_url: format!("{base}/garbage"), ..app.clone() };
    assert!(matches!(garbage.exchange("t", "c").await, Err(ConnectorError::Upstream(_))));
    let err = get_json::<serde_json::Value>("t", &app.http, &format!("{base}/api"), "tok", &[]).await;
    assert!(matches!(err, Err(ConnectorError::Upstream(_))));
    let params: HashMap<String, String> = [("error".to_string(), "access_denied".to_string())].into();
    assert!(matches!(callback_code(&params), Err(ConnectorError::Refused(_))));
}

#[tokio::test]
async fn a_slow_upstream_is_cut_by_the_timeout() {
    let router = Router::new().route(
        "/token",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    );
    let base = serve(router).await;
    let http = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let Err(ConnectorError::Upstream(cause)) = app(&base, http).exchange("t", "c").await else { panic!() };
    assert!(cause.contains("timed out"), "{cause}");
}
