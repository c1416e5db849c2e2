//! The method cases (features `client` and `server`): one case per method of the catalog
//! (`protocols/method-cases.json`), run against any endpoint through a [`Client`] of any
//! protocol and format.
//!
//! The runner first makes what the cases name in braces through the API itself (two photos, an
//! album, a folder, tags, comments, notes), finds what the API cannot make (a group the caller
//! belongs to, a blog post of the caller's), calls each method in the file's order, checks the
//! answer's shape against the method's documented example, and at the end deletes what it made.
//!
//! A shape matches when every element of the example is in the answer, every attribute of each
//! element is there, and every item of a list has the attributes every documented item has; a
//! list the answer leaves empty is not compared, and a case names what its method may leave out
//! (`optional`, `root.attribute` or `root.*`) and why.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::client::Client;
use crate::methods::MethodInfo;
use crate::upload::UploadFile;
use crate::value::{Map, Value};

/// The cases, as the repository holds them.
const CASES: &str = include_str!("../../protocols/method-cases.json");

/// One method's case.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct MethodCase {
    /// The method.
    pub method: String,
    /// Its parameters; `{name}` stands for something the runner made or found.
    pub params: BTreeMap<String, String>,
    /// The method's own error the case expects instead of an answer, when no client can get an
    /// answer without a person (a frob approved in a browser).
    #[serde(default)]
    pub expect_error: Option<u32>,
    /// Parts of the documented answer the method may leave out.
    #[serde(default)]
    pub optional: Vec<String>,
    /// Why the case expects an error or leaves parts out.
    #[serde(default)]
    pub why: Option<String>,
}

#[derive(Deserialize)]
struct CaseFile {
    cases: Vec<MethodCase>,
}

/// The method cases compiled into the crate, in the order they run.
///
/// # Errors
///
/// Never for the file the crate ships (a test reads it); the message names what is wrong.
pub fn method_cases() -> Result<Vec<MethodCase>, String> {
    serde_json::from_str::<CaseFile>(CASES)
        .map(|file| file.cases)
        .map_err(|error| format!("protocols/method-cases.json: {error}"))
}

/// One method case's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MethodOutcome {
    /// The method.
    pub method: String,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

impl MethodOutcome {
    /// The method's family: `doc.comments.add` → `doc`.
    pub fn family(&self) -> &str {
        self.method.split('.').next().unwrap_or(&self.method)
    }
}

/// What the runner made or found, by placeholder name.
type Fixtures = BTreeMap<String, String>;

/// What the runner made, to delete at the end (kind, id).
type Made = Vec<(&'static str, String)>;

/// Reads `path` (member names) down from `value` as text.
fn text_at(value: &Value, path: &[&str]) -> Option<String> {
    let mut current = value;
    for key in path {
        current = match current {
            Value::List(items) => items.first()?.get(key)?,
            other => other.get(key)?,
        };
    }
    current.to_text().map(|text| text.into_owned())
}

/// A call that must succeed while the fixtures are made; its failure names the step.
async fn must(client: &Client, method: &str, params: &[(&str, &str)]) -> Result<Value, String> {
    let mut call = client.call(method);
    for (name, value) in params {
        call = call.param(*name, *value);
    }
    call.send()
        .await
        .map_err(|error| format!("making the cases' fixtures, {method} failed: {error}"))
}

/// Uploads a photo and waits for its document.
async fn upload_photo(client: &Client, title: String) -> Result<(String, String), String> {
    let photo = crate::server::sample_jpeg(
        320,
        240,
        Some("2011-11-14 11:56:49"),
        Some((43.5883, 7.0403)),
    );
    let md5 = crate::sign::hex(&md5::Digest::finalize(md5::Digest::chain_update(
        md5::Md5::default(),
        &photo,
    )));
    let uploaded = client
        .upload(
            UploadFile::from_bytes("conformance.jpg", photo)
                .title(title)
                .keywords(["conformance"])
                .visibility(crate::upload::Visibility::Public)
                .asynchronous(false),
        )
        .send()
        .await
        .map_err(|error| format!("making the cases' fixtures, upload.file failed: {error}"))?;
    let doc_id = uploaded
        .doc_id
        .ok_or("making the cases' fixtures, upload.file named no document (async=0)")?;
    let ticket = uploaded.ticket.unwrap_or_default();
    Ok((doc_id.to_string(), format!("{md5} {ticket}")))
}

/// Makes and finds everything the cases name.
async fn make_fixtures(client: &Client, made: &mut Made) -> Result<Fixtures, String> {
    let mut fixtures = Fixtures::new();
    let checked = must(client, "auth.checkToken", &[]).await?;
    let user =
        text_at(&checked, &["auth", "user", "user_id"]).ok_or("auth.checkToken named no user")?;
    fixtures.insert("user".into(), user.clone());
    // Uploads take the suite's photo, not a parameter: `file` only says to send one.
    fixtures.insert("photo".into(), "conformance.jpg".into());
    // The three photos at once: each waits for its ticket.
    let names = ["doc", "doc_b", "doc_deleted"];
    let uploads = futures_util::future::join_all(
        names.map(|name| upload_photo(client, format!("conformance {name}"))),
    )
    .await;
    for (name, uploaded) in names.into_iter().zip(uploads) {
        let (doc, md5_ticket) = uploaded?;
        made.push(("doc", doc.clone()));
        if name == "doc" {
            let (md5, ticket) = md5_ticket.split_once(' ').unwrap_or_default();
            fixtures.insert("md5".into(), md5.to_owned());
            fixtures.insert("ticket".into(), ticket.to_owned());
        }
        fixtures.insert(name.into(), doc);
    }
    let doc = fixtures.get("doc").cloned().unwrap_or_default();
    let doc_b = fixtures.get("doc_b").cloned().unwrap_or_default();
    let tags = must(
        client,
        "doc.tags.add",
        &[
            ("doc_id", &doc),
            ("keywords", "conformance-removable,conformance-kept"),
        ],
    )
    .await?;
    let tag_ids: Vec<String> = tags
        .get("tags")
        .map(|t| t.list("tag"))
        .unwrap_or_default()
        .iter()
        .filter_map(|tag| {
            Some((
                tag.get("tag")?.to_text()?.into_owned(),
                tag.get("id")?.to_text()?.into_owned(),
            ))
        })
        .filter(|(text, _)| text.starts_with("conformance-"))
        .map(|(text, id)| format!("{text}={id}"))
        .collect();
    for pair in tag_ids {
        if let Some((text, id)) = pair.split_once('=') {
            let name = if text.ends_with("removable") {
                "tag"
            } else {
                "tag_kept"
            };
            fixtures.insert(name.into(), id.to_owned());
        }
    }
    for name in ["album", "album_b", "album_deleted"] {
        let album = must(
            client,
            "album.create",
            &[("title", &format!("conformance {name}"))],
        )
        .await?;
        let id = text_at(&album, &["album", "album_id"]).ok_or("album.create named no album")?;
        made.push(("album", id.clone()));
        fixtures.insert(name.into(), id);
    }
    let album = fixtures.get("album").cloned().unwrap_or_default();
    let album_b = fixtures.get("album_b").cloned().unwrap_or_default();
    must(
        client,
        "album.docs.add",
        &[("album_id", &album), ("doc_id", &doc)],
    )
    .await?;
    for name in ["folder", "folder_deleted"] {
        let folder = must(
            client,
            "folder.create",
            &[("title", &format!("conformance {name}"))],
        )
        .await?;
        let id =
            text_at(&folder, &["folder", "folder_id"]).ok_or("folder.create named no folder")?;
        made.push(("folder", id.clone()));
        fixtures.insert(name.into(), id);
    }
    let folder = fixtures.get("folder").cloned().unwrap_or_default();
    must(
        client,
        "folder.albums.add",
        &[("folder_id", &folder), ("album_id", &album)],
    )
    .await?;
    for name in ["comment", "comment_deleted"] {
        let comment = must(
            client,
            "doc.comments.add",
            &[("doc_id", &doc), ("content", "conformance")],
        )
        .await?;
        let id = text_at(&comment, &["comment", "comment_id"])
            .ok_or("doc.comments.add named no comment")?;
        fixtures.insert(name.into(), id);
    }
    for name in ["note", "note_deleted"] {
        let note = must(
            client,
            "doc.notes.add",
            &[
                ("doc_id", &doc),
                ("content", "conformance"),
                ("x", "1"),
                ("y", "1"),
                ("w", "5"),
                ("h", "5"),
            ],
        )
        .await?;
        let id = text_at(&note, &["note", "note_id"]).ok_or("doc.notes.add named no note")?;
        fixtures.insert(name.into(), id);
    }
    must(client, "faves.docs.add", &[("doc_id", &doc_b)]).await?;
    must(client, "faves.albums.add", &[("album_id", &album_b)]).await?;
    let frob = must(client, "auth.getFrob", &[]).await?;
    fixtures.insert(
        "frob".into(),
        text_at(&frob, &["auth", "frob"]).ok_or("auth.getFrob named no frob")?,
    );
    // What the API cannot make: a group of the caller's and a post of the caller's.
    let groups = must(client, "group.getList", &[("user_id", &user)]).await?;
    let group = text_at(&groups, &["groups", "group", "group_id"])
        .ok_or("the cases need the caller to belong to a group (the API cannot make one)")?;
    let title = text_at(&groups, &["groups", "group", "title"]).unwrap_or_default();
    let word = title.split_whitespace().next().unwrap_or("a").to_owned();
    must(
        client,
        "group.docs.add",
        &[("group_id", &group), ("doc_id", &doc_b)],
    )
    .await?;
    fixtures.insert("group".into(), group);
    fixtures.insert("group_word".into(), word);
    let posts = must(client, "post.getList", &[("user_id", &user)]).await?;
    let post = text_at(&posts, &["posts", "post", "post_id"])
        .ok_or("the cases need a blog post of the caller's (the API cannot make one)")?;
    let got = must(client, "post.get", &[("post_id", &post)]).await?;
    fixtures.insert(
        "post_title".into(),
        text_at(&got, &["post", "title"]).unwrap_or_default(),
    );
    fixtures.insert(
        "post_content".into(),
        text_at(&got, &["post", "description"]).unwrap_or_default(),
    );
    for name in ["post_comment", "post_comment_deleted"] {
        let comment = must(
            client,
            "post.comments.add",
            &[("post_id", &post), ("content", "conformance")],
        )
        .await?;
        let id = text_at(&comment, &["comment", "comment_id"])
            .ok_or("post.comments.add named no comment")?;
        fixtures.insert(name.into(), id);
    }
    fixtures.insert("post".into(), post);
    Ok(fixtures)
}

/// `text` with every `{name}` replaced by its fixture.
fn fill(text: &str, fixtures: &Fixtures) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 1..).unwrap_or_default();
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed placeholder in {text:?}"))?;
        let name = after.get(..end).unwrap_or_default();
        let value = fixtures
            .get(name)
            .ok_or_else(|| format!("no fixture named {{{name}}}"))?;
        out.push_str(value);
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

/// Runs one case: its answer's shape, or its expected error.
async fn run_case(client: &Client, case: &MethodCase, fixtures: &Fixtures) -> Result<(), String> {
    let info = crate::methods::lookup(&case.method).ok_or("not in the catalog")?;
    let mut params = Vec::with_capacity(case.params.len());
    for (name, value) in &case.params {
        params.push((name.as_str(), fill(value, fixtures)?));
    }
    let answer = match params.iter().find(|(name, _)| *name == "file") {
        Some(_) => {
            let photo = crate::server::sample_jpeg(64, 48, None, None);
            let mut file = UploadFile::from_bytes("conformance.jpg", photo);
            for (name, value) in &params {
                match *name {
                    "title" => file = file.title(value.as_str()),
                    "doc_id" => {
                        file = file.replacing(value.parse().map_err(|_| "doc_id is no number")?)
                    }
                    _ => {}
                }
            }
            client
                .upload(file)
                .send()
                .await
                .map(|uploaded| uploaded.payload)
        }
        None => {
            let mut call = client.call(case.method.as_str());
            for (name, value) in &params {
                call = call.param(*name, value.as_str());
            }
            call.send().await
        }
    };
    match (answer, case.expect_error) {
        (Err(error), Some(code)) if error.code().map(|c| c.as_u32()) == Some(code) => Ok(()),
        (Err(error), _) => Err(error.to_string()),
        (Ok(_), Some(code)) => Err(format!("answered where error {code} was expected")),
        (Ok(answer), None) => check_shape(info, case, &answer),
    }
}

/// The documented example as a tree, read as the xml format reads answers.
fn example_tree(info: &MethodInfo) -> Option<Map> {
    let example = info.answer_example?;
    let body = format!("<api status=\"ok\">{example}</api>");
    match crate::format::xml::decode(body.as_bytes()).ok()? {
        Value::Map(map) => Some(map),
        _ => None,
    }
}

/// Whether `path` (`root.member`) may be missing.
fn allowed_missing(case: &MethodCase, path: &str) -> bool {
    case.optional.iter().any(|optional| {
        optional == path
            || optional.strip_suffix(".*").is_some_and(|prefix| {
                path.strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.'))
            })
    })
}

/// Checks `answer` against the documented example of `info`.
fn check_shape(info: &MethodInfo, case: &MethodCase, answer: &Value) -> Result<(), String> {
    let Some(example) = example_tree(info) else {
        // Nothing documented beyond the status (a status-only method): any payload will do.
        return Ok(());
    };
    let mut missing = Vec::new();
    for (root, documented) in &example {
        let path = root.to_string();
        match answer.get(root) {
            None if allowed_missing(case, &path) => {}
            None => missing.push(path),
            Some(given) => compare(case, &path, documented, given, &mut missing, 0),
        }
    }
    match missing.is_empty() {
        true => Ok(()),
        false => Err(format!("documented but missing: {}", missing.join(", "))),
    }
}

/// The attributes every one of `items` has.
fn common_keys(items: &[Value]) -> BTreeSet<String> {
    let mut keys: Option<BTreeSet<String>> = None;
    for item in items {
        let Value::Map(map) = item else { continue };
        let these: BTreeSet<String> = map.iter().map(|(k, _)| k.to_string()).collect();
        keys = Some(match keys {
            None => these,
            Some(before) => before.intersection(&these).cloned().collect(),
        });
    }
    keys.unwrap_or_default()
}

fn compare(
    case: &MethodCase,
    path: &str,
    documented: &Value,
    given: &Value,
    missing: &mut Vec<String>,
    depth: usize,
) {
    if depth > 6 {
        return;
    }
    match documented {
        Value::Map(members) => {
            let given_items = match given {
                Value::List(items) => items.as_slice(),
                other => std::slice::from_ref(other),
            };
            for item in given_items {
                // A container that says it holds nothing (`count` or `total` 0) has no items.
                let empty = ["count", "total"]
                    .iter()
                    .any(|key| item.get(key).and_then(Value::to_text).as_deref() == Some("0"));
                for (name, value) in members {
                    if name == crate::format::xml::TEXT_MEMBER {
                        continue;
                    }
                    let inner = format!("{path}.{name}");
                    match item.get(name) {
                        Some(inner_given) => {
                            compare(case, &inner, value, inner_given, missing, depth + 1)
                        }
                        // A documented list (or a lone documented item) the answer leaves empty.
                        None if matches!(value, Value::List(_)) => {}
                        None if allowed_missing(case, &inner) => {}
                        None if is_item(case, name) => {}
                        None if empty && matches!(value, Value::Map(_)) => {}
                        None => {
                            if !missing.contains(&inner) {
                                missing.push(inner);
                            }
                        }
                    }
                }
            }
        }
        Value::List(items) => {
            let keys = common_keys(items);
            let given_items = match given {
                Value::List(items) => items.as_slice(),
                other => std::slice::from_ref(other),
            };
            for item in given_items {
                for key in &keys {
                    let inner = format!("{path}.{key}");
                    if key != crate::format::xml::TEXT_MEMBER
                        && item.get(key).is_none()
                        && !allowed_missing(case, &inner)
                        && !missing.contains(&inner)
                    {
                        missing.push(inner);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Whether `name` is the element a paged list's items are (absent when the page is empty).
fn is_item(case: &MethodCase, name: &str) -> bool {
    crate::methods::lookup(&case.method)
        .and_then(|info| info.paging)
        .is_some_and(|paging| paging.items.last() == Some(&name))
}

/// Deletes what the runner made (best effort: a failure here fails no case).
async fn clean_up(client: &Client, made: &Made) {
    for (kind, id) in made.iter().rev() {
        let (method, param) = match *kind {
            "doc" => ("doc.delete", "doc_id"),
            "album" => ("album.delete", "album_id"),
            _ => ("folder.delete", "folder_id"),
        };
        client
            .call(method)
            .param(param, id.as_str())
            .send()
            .await
            .ok();
    }
}

/// Why the method cases could not run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MethodCasesError(pub String);

/// Runs every method case through `client` (any protocol and format), handing each outcome to
/// `report` as soon as it is known, and deletes what it made.
///
/// # Errors
///
/// When the fixtures cannot be made (the message names the step and the endpoint's error), or
/// the case file does not read.
pub async fn run_method_cases(
    client: &Client,
    report: &mut dyn FnMut(&MethodOutcome),
) -> Result<Vec<MethodOutcome>, MethodCasesError> {
    let cases = method_cases().map_err(MethodCasesError)?;
    let mut made = Made::new();
    let fixtures = match make_fixtures(client, &mut made).await {
        Ok(fixtures) => fixtures,
        Err(reason) => {
            clean_up(client, &made).await;
            return Err(MethodCasesError(reason));
        }
    };
    let mut outcomes = Vec::with_capacity(cases.len());
    for case in &cases {
        let failure = run_case(client, case, &fixtures).await.err();
        let outcome = MethodOutcome {
            method: case.method.clone(),
            failure,
        };
        report(&outcome);
        outcomes.push(outcome);
    }
    clean_up(client, &made).await;
    Ok(outcomes)
}
