//! `test.*` and `api.methods.*`.

use serde::Serialize;

use super::{answer, method_error};
use crate::methods::{self, MethodInfo};
use crate::server::call::{Outcome, Request};
use crate::value::{Map, Value};

/// Parameters that identify the caller rather than ask anything of the method.
const CREDENTIAL_PARAMS: &[&str] = &["api_key", "api_sig", "auth_token"];

/// `test.echo`: every parameter but the credentials, as sent.
pub(super) fn test_echo(request: &Request<'_>) -> Outcome {
    let echoed: Map = request
        .params
        .iter()
        .filter(|(name, _)| !CREDENTIAL_PARAMS.contains(name) && !name.starts_with("oauth_"))
        .map(|(name, value)| (name.into(), Value::from(value)))
        .collect();
    if echoed.is_empty() {
        return Err(method_error(1, "Nothing was sent"));
    }
    Ok(echoed)
}

#[derive(Serialize)]
struct MethodEntry {
    name: &'static str,
    /// The method's family (its name without the last part), as the service groups them.
    service: &'static str,
    title: &'static str,
    authentication: Authentication,
    permissions: MethodPermission,
}

#[derive(Serialize)]
struct Authentication {
    post: bool,
    sign: bool,
    token: bool,
}

/// `{target: level}`, or the empty string for a method that needs none.
#[derive(Serialize)]
#[serde(untagged)]
enum MethodPermission {
    Needed(std::collections::BTreeMap<&'static str, &'static str>),
    None(&'static str),
}

#[derive(Serialize)]
struct MethodList {
    total: usize,
    method: Vec<MethodEntry>,
}

fn method_entry(info: &MethodInfo) -> MethodEntry {
    MethodEntry {
        name: info.name,
        service: info
            .name
            .rsplit_once('.')
            .map_or(info.name, |(family, _)| family),
        title: info.title,
        authentication: Authentication {
            post: info.post,
            sign: info.sign,
            token: info.token,
        },
        permissions: match info.permission {
            Some(permission) => MethodPermission::Needed(
                [(permission.target.as_str(), permission.level.as_str())].into(),
            ),
            None => MethodPermission::None(""),
        },
    }
}

/// `api.methods.getList`.
pub(super) fn methods_list() -> Outcome {
    let method: Vec<MethodEntry> = methods::METHODS.iter().map(method_entry).collect();
    answer(
        "methods",
        &MethodList {
            total: method.len(),
            method,
        },
    )
}

/// `api.methods.get`'s answer: the entry of `api.methods.getList` with the parameters and the
/// method's own errors, as the catalog describes them.
#[derive(Serialize)]
struct MethodDetails {
    #[serde(flatten)]
    entry: MethodEntry,
    parameters: Parameters,
    /// The documented answer, as the method's page shows it.
    response: Response,
    errors: Errors,
    /// The method's history: the catalog records none, so the element is empty.
    changelog: Changelog,
}

#[derive(Serialize)]
struct Changelog {}

#[derive(Serialize)]
struct Response {
    #[serde(rename = "_value")]
    example: &'static str,
}

#[derive(Serialize)]
struct Parameters {
    param: Vec<ParamEntry>,
}

#[derive(Serialize)]
struct ParamEntry {
    name: &'static str,
    required: bool,
    #[serde(rename = "_value")]
    description: &'static str,
}

#[derive(Serialize)]
struct Errors {
    error: Vec<ErrorEntry>,
}

#[derive(Serialize)]
struct ErrorEntry {
    code: u32,
    #[serde(rename = "_value")]
    meaning: &'static str,
}

/// `api.methods.get`.
pub(super) fn method_get(request: &Request<'_>) -> Outcome {
    let info = request
        .param("method")
        .and_then(methods::lookup)
        .ok_or_else(|| method_error(1, "Method not found"))?;
    let details = MethodDetails {
        entry: method_entry(info),
        parameters: Parameters {
            param: info
                .params
                .iter()
                .map(|param| ParamEntry {
                    name: param.name,
                    required: param.required,
                    description: param.description,
                })
                .collect(),
        },
        response: Response {
            example: info.answer_example.unwrap_or_default(),
        },
        changelog: Changelog {},
        errors: Errors {
            error: info
                .errors
                .iter()
                .map(|error| ErrorEntry {
                    code: error.code,
                    meaning: error.meaning,
                })
                .collect(),
        },
    };
    answer("method", &details)
}
