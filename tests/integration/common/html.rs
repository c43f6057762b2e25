//! Reading the server's pages like a browser: forms, their hidden fields, links, text.

use scraper::{Html, Selector};
use url::Url;

/// A form: where it posts and its hidden fields (the CSRF token among them).
#[derive(Debug, Clone)]
pub struct Form {
    pub action: Url,
    pub hidden: Vec<(String, String)>,
}

impl Form {
    pub fn hidden(&self, name: &str) -> Option<&str> {
        self.hidden.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn selector(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

pub fn forms(page_url: &Url, body: &str) -> Vec<Form> {
    let document = Html::parse_document(body);
    document
        .select(&selector("form"))
        .map(|form| {
            let action = form
                .value()
                .attr("action")
                .map(|a| page_url.join(a).unwrap())
                .unwrap_or_else(|| page_url.clone());
            let hidden = form
                .select(&selector(r#"input[type="hidden"]"#))
                .filter_map(|input| {
                    let name = input.value().attr("name")?;
                    Some((name.to_string(), input.value().attr("value").unwrap_or_default().to_string()))
                })
                .collect();
            Form { action, hidden }
        })
        .collect()
}

/// The `href`s of the links matching `css`, resolved against the page URL.
pub fn links(page_url: &Url, body: &str, css: &str) -> Vec<(String, Url)> {
    let document = Html::parse_document(body);
    document
        .select(&selector(css))
        .filter_map(|a| {
            let href = a.value().attr("href")?;
            Some((a.text().collect::<String>().trim().to_string(), page_url.join(href).ok()?))
        })
        .collect()
}

/// The text of the first element matching `css`.
pub fn text(body: &str, css: &str) -> Option<String> {
    let document = Html::parse_document(body);
    document.select(&selector(css)).next().map(|e| e.text().collect::<String>().trim().to_string())
}
