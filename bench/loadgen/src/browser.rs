//! Just enough of a browser for the login flow: a cookie jar of its own (one per login, as a
//! fresh browser would have), redirects followed until they leave for the client's
//! `redirect_uri`, and the pages' forms read for their action and hidden fields (CSRF token,
//! approval `req`/`hmac`). The connection pool is the worker's, shared by its logins.

use std::collections::BTreeMap;
use url::Url;

pub struct Browser<'a> {
    http: &'a reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// Requests sent so far.
    pub requests: u64,
}

/// Where a hop ended.
pub enum Landing {
    /// A redirect to the client: the URL with `code` (or `error`).
    Client(Url),
    /// A page on the server, with its URL and body.
    Page(Url, String),
}

/// A form on a page: where it posts and its hidden fields.
pub struct Form {
    pub action: Url,
    pub fields: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    pub fn new(http: &'a reqwest::Client) -> Self {
        Self { http, cookies: BTreeMap::new(), requests: 0 }
    }

    pub async fn get(&mut self, url: Url, client_prefix: &str) -> Result<Landing, String> {
        let request = self.http.get(url.clone());
        self.send(request, url, client_prefix).await
    }

    pub async fn submit(
        &mut self,
        form: &Form,
        extra: &[(&str, &str)],
        client_prefix: &str,
    ) -> Result<Landing, String> {
        let mut fields: Vec<(&str, &str)> =
            form.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        fields.extend_from_slice(extra);
        let request = self.http.post(form.action.clone()).form(&fields);
        self.send(request, form.action.clone(), client_prefix).await
    }

    /// Sends `request` and follows redirects on the server (at most 10 hops).
    async fn send(
        &mut self,
        mut request: reqwest::RequestBuilder,
        mut url: Url,
        client_prefix: &str,
    ) -> Result<Landing, String> {
        for _ in 0..10 {
            if !self.cookies.is_empty() {
                let cookie =
                    self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
                request = request.header(reqwest::header::COOKIE, cookie);
            }
            self.requests += 1;
            let response = request.send().await.map_err(|e| format!("io: {e}"))?;
            self.keep_cookies(&response);
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or("redirect without Location")?;
                let next = url.join(location).map_err(|e| e.to_string())?;
                if next.as_str().starts_with(client_prefix) {
                    return Ok(Landing::Client(next));
                }
                url = next;
                request = self.http.get(url.clone());
                continue;
            }
            if !status.is_success() {
                return Err(format!("http {}", status.as_u16()));
            }
            let body = response.text().await.map_err(|e| format!("io: {e}"))?;
            return Ok(Landing::Page(url, body));
        }
        Err("too many redirects".into())
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some(pair) = value.to_str().ok().and_then(|v| v.split(';').next()) else { continue };
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.trim().to_string(), value.trim().to_string());
            }
        }
    }
}

/// The first `<form>` of a page whose action contains `action_part`.
pub fn form(page: &Url, body: &str, action_part: &str) -> Option<Form> {
    body.split("<form").skip(1).find_map(|chunk| {
        let chunk = chunk.split("</form>").next()?;
        let action = attribute(chunk, "action").unwrap_or_default();
        let matches =
            action.contains(action_part) || (action.is_empty() && page.path().contains(action_part));
        if !matches {
            return None;
        }
        let fields = chunk
            .split("<input")
            .skip(1)
            .filter(|input| input.contains(r#"type="hidden""#))
            .filter_map(|input| {
                Some((attribute(input, "name")?, attribute(input, "value").unwrap_or_default()))
            })
            .collect();
        Some(Form { action: page.join(&action).ok()?, fields })
    })
}

/// The value of `name="..."` in the text of one tag, HTML entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let tag = tag.split('>').next()?;
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#x3d;", "=")
        .replace("&#61;", "=")
        .replace("&quot;", "\"")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}
