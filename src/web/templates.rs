//! The HTML pages of the browser flow: one askama template per page, named after its
//! `<Page>Page` struct (`LoginChooserPage` → `templates/login_chooser.html`).
//!
//! Every page extends `templates/base.html` and carries a [`Branding`], which names the
//! issuer, picks the theme and says where the static assets (`static/`) are served. The pages
//! mirror Dex's: connector chooser, password form, consent (approval), out-of-band code,
//! error, device code entry and success, logout confirmation and logged-out notice.
//!
//! Rules the templates keep, because the server's CSP is `default-src 'self'`:
//! no inline `<script>` and no `style=` attributes; the only script is `static/tessera.js`,
//! and every page works without it. askama escapes every value (the templates are `.html`);
//! nothing here uses `|safe`, so client names and error texts cannot inject markup.
//!
//! Every struct derives [`askama_web::WebTemplate`], so a handler can return a page directly
//! (`200 OK`, `text/html; charset=utf-8`), or as `(StatusCode, page)` for another status.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;

/// The look shared by every page, from the `frontend` section of the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    /// Shown in the header and the page title (`frontend.issuer`, default "Tessera").
    pub issuer_name: String,
    /// Absolute or root-relative URL of the logo; empty means the bundled Tessera logo.
    pub logo_url: String,
    /// "light" or "dark" force a theme; "auto" (and anything else) follows
    /// `prefers-color-scheme`.
    pub theme: String,
    /// Prefix under which `static/` is served, e.g. "/dex/static" (no trailing slash needed).
    pub static_url: String,
    /// `frontend.extra`: free-form values for custom templates; the bundled ones ignore it.
    pub extra: BTreeMap<String, String>,
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            issuer_name: "Tessera".to_owned(),
            logo_url: String::new(),
            theme: "auto".to_owned(),
            static_url: "/static".to_owned(),
            extra: BTreeMap::new(),
        }
    }
}

impl Branding {
    /// URL of a file under `static/`.
    pub fn asset(&self, file: &str) -> String {
        format!("{}/{file}", self.static_url.trim_end_matches('/'))
    }

    /// The configured logo, or the bundled one.
    pub fn logo_src(&self) -> String {
        if self.logo_url.is_empty() { self.asset("tessera-logo.svg") } else { self.logo_url.clone() }
    }

    /// The theme as the stylesheet knows it (`data-theme` on `<html>`); unknown values mean
    /// "auto" so a typo in the config never yields an unstyled page.
    pub fn theme_name(&self) -> &'static str {
        match self.theme.as_str() {
            "light" => "light",
            "dark" => "dark",
            _ => "auto",
        }
    }

    /// Value of `<meta name="color-scheme">`, so form controls and scrollbars match the theme.
    pub fn color_scheme(&self) -> &'static str {
        match self.theme_name() {
            "light" => "light",
            "dark" => "dark",
            _ => "light dark",
        }
    }
}

/// What kind of login a connector offers; picks the icon on the chooser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorLink {
    /// Display name, e.g. "GitHub" or "Email".
    pub name: String,
    /// Where the button leads (the connector's login URL, with the auth request id).
    pub url: String,
    /// "password" (a form on our side) or "redirect" (an upstream IdP).
    pub kind: String,
}

impl ConnectorLink {
    /// True when the connector logs in with a password form on our side.
    pub fn is_password(&self) -> bool {
        self.kind == "password"
    }
}

/// One requested scope on the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDescription {
    /// The scope as requested, e.g. "groups".
    pub name: String,
    /// What granting it means, in plain words, e.g. "View your groups".
    pub description: String,
}

/// Pick a connector (Dex's `login.html`), shown when a client may use more than one.
#[derive(Debug, Clone, Template, WebTemplate)]
#[template(path = "login_chooser.html")]
pub struct LoginChooserPage {
    pub branding: Branding,
    /// The client the user is signing in to; empty hides the "to continue to" line.
    pub client_name: String,
    pub connectors: Vec<ConnectorLink>,
}

/// Username and password form of a password connector (Dex's `password.html`).
///
/// Posts `csrf_token`, `login` and `password` to `post_url`.
#[derive(Clone, Template, WebTemplate)]
#[template(path = "password.html")]
pub struct PasswordPage {
    pub branding: Branding,
    pub post_url: String,
    pub csrf_token: String,
    /// Label of the first field: "Email Address" or "Username".
    pub username_prompt: String,
    /// Refilled after a failed attempt; when set, the password field gets the focus.
    pub username: String,
    /// E.g. "Invalid username and password."
    pub error: Option<String>,
    /// Link back to the chooser when the client has several connectors.
    pub back_url: Option<String>,
}
crate::debug_only!(PasswordPage: branding);

/// Consent: the client asks for scopes, the user approves or rejects (Dex's `approval.html`).
///
/// Posts `csrf_token`, `req`, `hmac` and `approval` = "approve" | "rejected".
#[derive(Clone, Template, WebTemplate)]
#[template(path = "approval.html")]
pub struct ApprovalPage {
    pub branding: Branding,
    pub client_name: String,
    /// Empty: no client logo.
    pub client_logo_url: String,
    pub scopes: Vec<ScopeDescription>,
    pub post_url: String,
    pub csrf_token: String,
    /// Auth request id, echoed back as a hidden field.
    pub req: String,
    /// MAC over the request id, echoed back as a hidden field.
    pub hmac: String,
}
crate::debug_only!(ApprovalPage: branding);

/// The code for `redirect_uri=urn:ietf:wg:oauth:2.0:oob`, to copy into the application.
#[derive(Clone, Template, WebTemplate)]
#[template(path = "oob.html")]
pub struct OobPage {
    pub branding: Branding,
    pub code: String,
}
crate::debug_only!(OobPage: branding);

/// The SAML HTTP-POST binding: a form to the identity provider, submitted by `tessera.js`
/// (or by the user, without scripts).
#[derive(Debug, Clone, Template, WebTemplate)]
#[template(path = "saml_post.html")]
pub struct SamlPostPage {
    pub branding: Branding,
    pub action: String,
    pub saml_request: String,
    pub relay_state: String,
}

/// Something went wrong; says so in plain words and shows the request id for support.
///
/// Return it as `(StatusCode, ErrorPage)` so the status is not 200.
#[derive(Debug, Clone, Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub branding: Branding,
    pub title: String,
    pub message: String,
    /// Empty hides the support reference.
    pub request_id: String,
}

/// Enter the user code shown on a device (RFC 8628 §3.3). Posts `csrf_token` and `user_code`.
#[derive(Clone, Template, WebTemplate)]
#[template(path = "device.html")]
pub struct DevicePage {
    pub branding: Branding,
    pub post_url: String,
    pub csrf_token: String,
    /// Pre-filled from `verification_uri_complete`, or what the user typed before an error.
    pub user_code: String,
    pub error: Option<String>,
}
crate::debug_only!(DevicePage: branding);

/// The device flow is approved; the user goes back to the device.
#[derive(Debug, Clone, Template, WebTemplate)]
#[template(path = "device_success.html")]
pub struct DeviceSuccessPage {
    pub branding: Branding,
    pub client_name: String,
}

/// Confirm an RP-initiated logout that came without a valid `id_token_hint`.
///
/// Posts `csrf_token` plus every `hidden` pair (e.g. `post_logout_redirect_uri`, `state`).
#[derive(Clone, Template, WebTemplate)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    pub branding: Branding,
    pub post_url: String,
    pub csrf_token: String,
    pub hidden: Vec<(String, String)>,
}
crate::debug_only!(LogoutPage: branding);

/// Shown after logout when there is no `post_logout_redirect_uri` to go back to.
#[derive(Debug, Clone, Template, WebTemplate)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage {
    pub branding: Branding,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(1)</script>";

    fn branding() -> Branding {
        Branding { static_url: "/dex/static/".to_owned(), ..Branding::default() }
    }

    fn chooser(b: Branding) -> LoginChooserPage {
        LoginChooserPage {
            branding: b,
            client_name: "Example App".to_owned(),
            connectors: vec![
                ConnectorLink {
                    name: "Email".to_owned(),
                    url: "/dex/auth/local?req=abc".to_owned(),
                    kind: "password".to_owned(),
                },
                ConnectorLink {
                    name: "GitHub".to_owned(),
                    url: "/dex/auth/github?req=abc&x=1".to_owned(),
                    kind: "redirect".to_owned(),
                },
            ],
        }
    }

    fn password(b: Branding, error: Option<&str>) -> PasswordPage {
        PasswordPage {
            branding: b,
            post_url: "/dex/auth/local/login?back=&state=abc".to_owned(),
            csrf_token: "csrf-123".to_owned(),
            username_prompt: "Email Address".to_owned(),
            username: if error.is_some() { "jane@example.com".to_owned() } else { String::new() },
            error: error.map(str::to_owned),
            back_url: Some("/dex/auth?req=abc".to_owned()),
        }
    }

    fn approval(b: Branding) -> ApprovalPage {
        ApprovalPage {
            branding: b,
            client_name: "Example App".to_owned(),
            client_logo_url: String::new(),
            scopes: vec![
                ScopeDescription {
                    name: "email".to_owned(),
                    description: "View your email address".to_owned(),
                },
                ScopeDescription { name: "groups".to_owned(), description: "View your groups".to_owned() },
                ScopeDescription {
                    name: "offline_access".to_owned(),
                    description: "Stay signed in to the app when you are away".to_owned(),
                },
            ],
            post_url: "/dex/approval".to_owned(),
            csrf_token: "csrf-123".to_owned(),
            req: "req-abc".to_owned(),
            hmac: "mac-xyz".to_owned(),
        }
    }

    fn oob(b: Branding) -> OobPage {
        OobPage { branding: b, code: "4/P7q7W91a-oMsCeLvIaQm6bTrgtp7".to_owned() }
    }

    fn error(b: Branding) -> ErrorPage {
        ErrorPage {
            branding: b,
            title: "Sign-in failed".to_owned(),
            message: "The sign-in link has expired. Go back to the application and try again.".to_owned(),
            request_id: "01J9Z6Q4X8M2K7".to_owned(),
        }
    }

    fn device(b: Branding, error: Option<&str>) -> DevicePage {
        DevicePage {
            branding: b,
            post_url: "/dex/device/auth/verify_code".to_owned(),
            csrf_token: "csrf-123".to_owned(),
            user_code: "WDJB-MJHT".to_owned(),
            error: error.map(str::to_owned),
        }
    }

    fn device_success(b: Branding) -> DeviceSuccessPage {
        DeviceSuccessPage { branding: b, client_name: "Example CLI".to_owned() }
    }

    fn logout(b: Branding) -> LogoutPage {
        LogoutPage {
            branding: b,
            post_url: "/dex/logout".to_owned(),
            csrf_token: "csrf-123".to_owned(),
            hidden: vec![
                ("post_logout_redirect_uri".to_owned(), "https://app.example/bye".to_owned()),
                ("state".to_owned(), "st\"ate".to_owned()),
            ],
        }
    }

    /// Every form posts, carries the CSRF token, and the page loads only local assets.
    fn assert_common(html: &str) {
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains(r#"<html lang="en""#));
        assert!(html.contains(r#"href="/dex/static/main.css""#));
        assert!(!html.contains("style="), "no inline styles under a strict CSP");
        assert!(!html.contains("<script>"), "no inline scripts under a strict CSP");
        assert!(!html.contains("http://") && !html.contains("https://cdn"), "no external assets");
        let forms = html.matches("<form").count();
        assert_eq!(forms, html.matches(r#"method="post""#).count(), "every form posts");
        assert_eq!(
            forms,
            html.matches(r#"<input type="hidden" name="csrf_token" value="csrf-123">"#).count(),
            "every form carries the CSRF token"
        );
    }

    /// Each `<input id="x">` that is not hidden has a `<label for="x">`.
    fn assert_labelled(html: &str, ids: &[&str]) {
        for id in ids {
            assert!(html.contains(&format!(r#"id="{id}""#)), "input {id}");
            assert!(html.contains(&format!(r#"<label for="{id}""#)), "label for {id}");
        }
    }

    #[test]
    fn chooser_lists_connectors_with_escaped_urls() -> Result<(), askama::Error> {
        let html = chooser(branding()).render()?;
        assert_common(&html);
        assert!(html.contains("Sign in to Tessera"));
        assert!(html.contains("Example App"));
        assert!(html.contains(r#"href="/dex/auth/local?req=abc""#));
        assert!(html.contains(r#"href="/dex/auth/github?req=abc&#38;x=1""#), "{html}");
        assert!(html.contains("Continue with GitHub"));
        Ok(())
    }

    #[test]
    fn chooser_without_connectors_says_so() -> Result<(), askama::Error> {
        let html = LoginChooserPage { connectors: vec![], ..chooser(branding()) }.render()?;
        assert!(html.contains("No sign-in methods"));
        Ok(())
    }

    #[test]
    fn password_form_has_dex_field_names_and_labels() -> Result<(), askama::Error> {
        let html = password(branding(), None).render()?;
        assert_common(&html);
        assert!(html.contains(r#"action="/dex/auth/local/login?back=&#38;state=abc""#));
        assert!(html.contains(r#"name="login""#) && html.contains(r#"name="password""#));
        assert!(html.contains(r#"autocomplete="username""#));
        assert!(html.contains(r#"autocomplete="current-password""#));
        assert_labelled(&html, &["login", "password"]);
        assert!(html.contains(">Email Address</label>"));
        assert!(html.contains(r#"href="/dex/auth?req=abc""#), "back link");
        assert!(!html.contains(r#"role="alert""#));
        assert_eq!(html.matches("autofocus").count(), 1);
        Ok(())
    }

    #[test]
    fn password_error_is_shown_and_username_refilled() -> Result<(), askama::Error> {
        let html = password(branding(), Some("Invalid username and password.")).render()?;
        assert!(html.contains(r#"role="alert""#));
        assert!(html.contains("Invalid username and password."));
        assert!(html.contains(r#"value="jane@example.com""#));
        assert!(html.contains(r#"aria-invalid="true""#));
        // The user only has to retype the password.
        let focus = html.find("autofocus").unwrap_or(0);
        assert!(focus > html.find(r#"id="password""#).unwrap_or(usize::MAX));
        Ok(())
    }

    #[test]
    fn password_escapes_username_and_error() -> Result<(), askama::Error> {
        let mut page = password(branding(), Some(HOSTILE));
        page.username = "\"><img src=x>".to_owned();
        let html = page.render()?;
        assert!(!html.contains(HOSTILE) && !html.contains("<img src=x>"));
        assert!(html.contains("&#60;script&#62;"));
        Ok(())
    }

    #[test]
    fn approval_posts_both_choices_with_hidden_fields() -> Result<(), askama::Error> {
        let html = approval(branding()).render()?;
        assert_common(&html);
        assert!(html.contains(r#"action="/dex/approval""#));
        assert!(html.contains(r#"<input type="hidden" name="req" value="req-abc">"#));
        assert!(html.contains(r#"<input type="hidden" name="hmac" value="mac-xyz">"#));
        assert!(html.contains(r#"name="approval" value="approve""#));
        assert!(html.contains(r#"name="approval" value="rejected""#));
        assert!(html.contains("View your groups"));
        Ok(())
    }

    #[test]
    fn approval_escapes_hostile_client_name() -> Result<(), askama::Error> {
        let mut page = approval(branding());
        page.client_name = HOSTILE.to_owned();
        page.client_logo_url = "\" onerror=\"x".to_owned();
        page.scopes.clear();
        let html = page.render()?;
        assert!(!html.contains(HOSTILE), "{html}");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(!html.contains("\" onerror"));
        assert!(html.contains("not asking for any personal information"));
        Ok(())
    }

    #[test]
    fn oob_shows_selectable_code_and_a_script_file() -> Result<(), askama::Error> {
        let html = oob(branding()).render()?;
        assert_common(&html);
        assert!(html.contains(">4/P7q7W91a-oMsCeLvIaQm6bTrgtp7</textarea>"));
        assert!(html.contains("readonly"));
        assert_labelled(&html, &["oob-code"]);
        assert!(html.contains(r#"<script src="/dex/static/tessera.js" defer></script>"#));
        // The copy button needs the script; without it, it stays hidden.
        assert!(html.contains(r#"data-copy="oob-code" hidden"#));
        Ok(())
    }

    #[test]
    fn error_page_shows_message_and_request_id() -> Result<(), askama::Error> {
        let html = error(branding()).render()?;
        assert_common(&html);
        assert!(html.contains("Sign-in failed"));
        assert!(html.contains("The sign-in link has expired."));
        assert!(html.contains("01J9Z6Q4X8M2K7"));
        let html = ErrorPage { request_id: String::new(), ..error(branding()) }.render()?;
        assert!(!html.contains("Reference"));
        Ok(())
    }

    #[test]
    fn device_form_prefills_and_shows_error() -> Result<(), askama::Error> {
        let html = device(branding(), None).render()?;
        assert_common(&html);
        assert!(html.contains(r#"action="/dex/device/auth/verify_code""#));
        assert!(html.contains(r#"name="user_code""#));
        assert!(html.contains(r#"value="WDJB-MJHT""#));
        assert!(html.contains(r#"autocomplete="one-time-code""#));
        assert_labelled(&html, &["user_code"]);
        let html = device(branding(), Some("Invalid or expired code.")).render()?;
        assert!(html.contains(r#"role="alert""#) && html.contains("Invalid or expired code."));
        Ok(())
    }

    #[test]
    fn device_success_names_the_client() -> Result<(), askama::Error> {
        let mut page = device_success(branding());
        let html = page.render()?;
        assert_common(&html);
        assert!(html.contains("Example CLI") && html.contains("return to your device"));
        page.client_name = HOSTILE.to_owned();
        assert!(!page.render()?.contains(HOSTILE));
        Ok(())
    }

    #[test]
    fn logout_asks_and_carries_hidden_fields() -> Result<(), askama::Error> {
        let html = logout(branding()).render()?;
        assert_common(&html);
        assert!(html.contains("Do you want to sign out?"));
        assert!(html.contains(r#"action="/dex/logout""#));
        assert!(html.contains(
            r#"<input type="hidden" name="post_logout_redirect_uri" value="https://app.example/bye">"#
        ));
        assert!(html.contains(r#"<input type="hidden" name="state" value="st&#34;ate">"#));
        Ok(())
    }

    #[test]
    fn logged_out_page_renders() -> Result<(), askama::Error> {
        let html = LoggedOutPage { branding: branding() }.render()?;
        assert_common(&html);
        assert!(html.contains("signed out"));
        Ok(())
    }

    #[test]
    fn branding_picks_theme_logo_and_issuer() -> Result<(), askama::Error> {
        let html = LoggedOutPage { branding: branding() }.render()?;
        assert!(html.contains(r#"data-theme="auto""#));
        assert!(html.contains(r#"src="/dex/static/tessera-logo.svg""#));
        let b = Branding {
            issuer_name: HOSTILE.to_owned(),
            logo_url: "https://example.com/logo.png".to_owned(),
            theme: "dark".to_owned(),
            ..branding()
        };
        let html = LoggedOutPage { branding: b }.render()?;
        assert!(html.contains(r#"data-theme="dark""#));
        assert!(html.contains(r#"<meta name="color-scheme" content="dark">"#));
        assert!(html.contains(r#"src="https://example.com/logo.png""#));
        assert!(!html.contains(HOSTILE));
        let b = Branding { theme: "\"bogus".to_owned(), ..branding() };
        assert_eq!(b.theme_name(), "auto");
        Ok(())
    }

    /// `TESSERA_UI_DUMP=/tmp/tessera-ui cargo test --lib web::templates::tests::dump` writes
    /// every page, in each theme, next to a copy of `static/`, for screenshots in a browser.
    #[test]
    fn dump_pages_for_screenshots() -> std::io::Result<()> {
        let Some(dir) = std::env::var_os("TESSERA_UI_DUMP") else {
            return Ok(());
        };
        let dir = std::path::PathBuf::from(dir);
        let static_dir = dir.join("static");
        std::fs::create_dir_all(&static_dir)?;
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        for entry in std::fs::read_dir(src)? {
            let entry = entry?;
            std::fs::copy(entry.path(), static_dir.join(entry.file_name()))?;
        }
        for theme in ["light", "dark"] {
            let b =
                Branding { theme: theme.to_owned(), static_url: "static".to_owned(), ..Branding::default() };
            let pages: Vec<(&str, Result<String, askama::Error>)> = vec![
                ("login_chooser", chooser(b.clone()).render()),
                ("password", password(b.clone(), None).render()),
                ("password_error", password(b.clone(), Some("Invalid username and password.")).render()),
                ("approval", approval(b.clone()).render()),
                ("oob", oob(b.clone()).render()),
                ("error", error(b.clone()).render()),
                ("device", device(b.clone(), None).render()),
                ("device_error", device(b.clone(), Some("Invalid or expired code.")).render()),
                ("device_success", device_success(b.clone()).render()),
                ("logout", logout(b.clone()).render()),
                ("logged_out", LoggedOutPage { branding: b.clone() }.render()),
            ];
            for (name, html) in pages {
                let html = html.map_err(std::io::Error::other)?;
                std::fs::write(dir.join(format!("{name}-{theme}.html")), html)?;
            }
        }
        Ok(())
    }
}
