//! `explore.docs.*`: what the whole service shows — the latest public documents, the most
//! popular, and the home page's selection.

use super::answer;
use super::views::popularity;
use super::views::{DocCount, DocPage, filter_safe_media};
use crate::server::call::{Outcome, Request};
use crate::server::state::{Doc, ServiceState};

/// Public documents, newest first, filtered as asked.
fn public_docs<'a>(state: &'a ServiceState, request: &Request<'_>) -> Vec<&'a Doc> {
    let mut docs: Vec<&Doc> = state.docs.values().rev().filter(|d| d.is_public).collect();
    filter_safe_media(request, &mut docs);
    docs
}

/// `explore.docs.getRecent`: the latest `count` (50 unless sent, at most 100).
pub(super) fn recent(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let count = request
        .param("count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let mut docs = public_docs(state, request);
    docs.truncate(count);
    answer("docs", &DocCount::of(state, request, &docs))
}

/// `explore.docs.getPopular`: the most faved and visited, by page.
pub(super) fn popular(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let mut docs = public_docs(state, request);
    docs.sort_by_key(|d| std::cmp::Reverse((popularity(d), d.id)));
    answer("docs", &DocPage::of(state, request, &docs, true))
}

/// `explore.docs.homepage`: the page asked for of the latest public photos (5 by default).
pub(super) fn homepage(state: &ServiceState, request: &Request<'_>) -> Outcome {
    let docs: Vec<&Doc> = public_docs(state, request)
        .into_iter()
        .filter(|d| d.media == "photo")
        .collect();
    let page = super::Page::of(request, docs.len());
    let shown: Vec<&Doc> = page.slice(&docs).to_vec();
    answer("docs", &DocCount::of(state, request, &shown))
}
