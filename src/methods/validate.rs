//! Checks a call's parameters against the catalog before anything is sent, on the typed and the
//! dynamic path alike.
//!
//! What is refused: a name the method does not take (unless [`Validation::AllowUnknown`]), a
//! required parameter missing, an id that is not a positive integer, a number that does not parse
//! or lies outside its documented range, a flag that is not `0`/`1`, a value outside an
//! enumeration, a list longer than its documented maximum, a malformed date. What is not: empty
//! text, which the service itself answers with the method's own error code (a title "missing or
//! empty"), so that those answers stay reachable.
//!
//! ```
//! use ipernity::{Error, Params};
//! use ipernity::methods::{self, Validation};
//!
//! let info = methods::lookup("doc.getList").unwrap();
//! let mut params = Params::new();
//! params.insert("user_id", 42);
//! params.insert("per_page", 500);
//! let error = methods::validate(info, &params, Validation::Strict).unwrap_err();
//! assert!(matches!(
//!     &error,
//!     Error::InvalidParam { method: Some("doc.getList"), param, .. } if param == "per_page"
//! ));
//! assert!(error.to_string().contains("at most 100"), "{error}");
//! ```

use super::{MethodInfo, ParamInfo, ParamKind};
use crate::error::Error;
use crate::params::Params;

/// How parameter names the catalog does not list are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// Refused, naming the method and the parameter (the default: a misspelt name is an error,
    /// not a parameter the service silently ignores).
    #[default]
    Strict,
    /// Sent as they are, for parameters the service takes but the catalog does not describe;
    /// the parameters the catalog knows are still checked.
    AllowUnknown,
    /// Nothing is checked: the call goes as it is, for provoking the service's own answer to a
    /// call it refuses (a missing `frob` answers `auth.getToken`'s error 1).
    Off,
}

/// Parameters every call may carry: the credentials, the signature and the answer's format.
fn is_envelope_param(name: &str) -> bool {
    matches!(name, "api_key" | "api_sig" | "auth_token" | "format") || name.starts_with("oauth_")
}

/// Checks `params` for a call of `info`.
///
/// # Errors
///
/// [`Error::InvalidParam`] naming the method, the first parameter refused, and why.
pub fn validate(
    info: &'static MethodInfo,
    params: &Params,
    validation: Validation,
) -> Result<(), Error> {
    if validation == Validation::Off {
        return Ok(());
    }
    let refuse = |param: &str, reason: String| Error::invalid_param_of(info.name, param, reason);
    for (name, value) in params.iter() {
        if is_envelope_param(name) {
            continue;
        }
        match info.param(name) {
            Some(param) => check_value(param, value).map_err(|reason| refuse(name, reason))?,
            None if info.any_params || validation == Validation::AllowUnknown => {}
            None => {
                return Err(refuse(name, unknown_param_reason(info)));
            }
        }
    }
    if info.any_params {
        // test.echo answers its own error 1 when nothing is sent.
        return Ok(());
    }
    // The file of an upload travels as a multipart part, not as a parameter.
    let missing = info
        .params
        .iter()
        .find(|p| p.required && p.kind != ParamKind::File && !params.contains(p.name));
    match missing {
        Some(param) => Err(refuse(
            param.name,
            format!("{} requires it ({})", info.name, param.description),
        )),
        None => Ok(()),
    }
}

fn unknown_param_reason(info: &MethodInfo) -> String {
    let known: Vec<&str> = info.params.iter().map(|p| p.name).collect();
    if known.is_empty() {
        format!("{} takes no parameters", info.name)
    } else {
        format!(
            "{} takes no such parameter (it takes {}); allow unknown parameters to send it anyway",
            info.name,
            known.join(", ")
        )
    }
}

/// Why `value` does not fit `param`, if it does not.
fn check_value(param: &ParamInfo, value: &str) -> Result<(), String> {
    match param.kind {
        ParamKind::Id => check_id(value),
        ParamKind::Ids => check_list(param, value, check_id),
        ParamKind::IdOrAlias => match value.is_empty() {
            true => Err("an id or an alias is needed, not empty text".to_owned()),
            false => Ok(()),
        },
        ParamKind::Int => {
            let number: i64 = value
                .parse()
                .map_err(|_| format!("{value:?} is not an integer"))?;
            // Integers in the catalog are small: f64 holds them exactly.
            check_range(param, number as f64, value)
        }
        ParamKind::Timestamp => match value.parse::<u64>() {
            Ok(_) => Ok(()),
            Err(_) => Err(format!("{value:?} is not a Unix time in seconds")),
        },
        ParamKind::Float => {
            let number: f64 = value
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .ok_or_else(|| format!("{value:?} is not a decimal number"))?;
            match param.sentinel {
                Some(sentinel) if number == sentinel => Ok(()),
                _ => check_range(param, number, value),
            }
        }
        ParamKind::Bool => match value {
            "0" | "1" => Ok(()),
            _ => Err(format!("{value:?} is not 1 or 0")),
        },
        ParamKind::Enum => check_enum(param, value),
        ParamKind::Enums => check_list(param, value, |item| check_enum(param, item)),
        ParamKind::Strings => check_list(param, value, |_| Ok(())),
        ParamKind::Date => check_date(value),
        ParamKind::String | ParamKind::File => Ok(()),
    }
}

fn check_id(value: &str) -> Result<(), String> {
    match value.parse::<u64>() {
        Ok(id) if id > 0 && !value.starts_with('+') => Ok(()),
        _ => Err(format!("{value:?} is not an id (a positive integer)")),
    }
}

fn check_range(param: &ParamInfo, number: f64, text: &str) -> Result<(), String> {
    if let Some(min) = param.min
        && number < min
    {
        return Err(format!(
            "{text} is below the minimum {min}{}",
            sentinel_note(param)
        ));
    }
    if let Some(max) = param.max
        && number > max
    {
        return Err(format!(
            "{text} is above the maximum: at most {max}{}",
            sentinel_note(param)
        ));
    }
    Ok(())
}

fn sentinel_note(param: &ParamInfo) -> String {
    param
        .sentinel
        .map(|s| format!(" (or {s}: none)"))
        .unwrap_or_default()
}

fn check_enum(param: &ParamInfo, value: &str) -> Result<(), String> {
    match param.values.contains(&value) {
        true => Ok(()),
        false => Err(format!(
            "{value:?} is not one of {}",
            param.values.join(", ")
        )),
    }
}

/// A comma-separated list: no more items than the documented maximum, each one checked.
fn check_list(
    param: &ParamInfo,
    value: &str,
    item: impl Fn(&str) -> Result<(), String>,
) -> Result<(), String> {
    if value.is_empty() {
        // An empty list clears (doc.tags.edit) or asks for nothing: the service decides.
        return Ok(());
    }
    let mut count = 0u32;
    for part in value.split(',') {
        count = count.saturating_add(1);
        item(part.trim())?;
    }
    match param.max_items {
        Some(max) if count > max => Err(format!("{count} items, at most {max} in one call")),
        _ => Ok(()),
    }
}

/// `YYYY-MM-DD`, optionally followed by ` HH:MM:SS`.
fn check_date(value: &str) -> Result<(), String> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = match value.split_once(' ') {
        Some((date, time)) => (date, Some(time)),
        None => (value, None),
    };
    let date_ok = {
        let parts: Vec<&str> = date.split('-').collect();
        matches!(parts.as_slice(), [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2))
    };
    let time_ok = time.is_none_or(|time| {
        let parts: Vec<&str> = time.split(':').collect();
        matches!(parts.as_slice(), [h, m, s] if digits(h, 2) && digits(m, 2) && digits(s, 2))
    });
    match date_ok && time_ok {
        true => Ok(()),
        false => Err(format!(
            "{value:?} is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::lookup;

    fn check(method: &str, params: &[(&str, &str)]) -> Result<(), (Option<&'static str>, String)> {
        let info = lookup(method).unwrap();
        let mut all = Params::new();
        for (name, value) in params {
            all.insert(*name, *value);
        }
        validate(info, &all, Validation::Strict).map_err(|error| match error {
            Error::InvalidParam { method, param, .. } => (method, param),
            other => panic!("{other}"),
        })
    }

    #[test]
    fn each_rule_names_the_method_and_the_parameter() {
        let refused = |method: &'static str, params: &[(&str, &str)], param: &str| {
            assert_eq!(
                check(method, params),
                Err((Some(method), param.to_owned())),
                "{method} {params:?}"
            );
        };
        refused("doc.get", &[], "doc_id");
        refused("doc.get", &[("doc_id", "0")], "doc_id");
        refused("doc.get", &[("doc_id", "12a")], "doc_id");
        refused("doc.get", &[("doc_id", "1"), ("docid", "1")], "docid");
        refused(
            "doc.get",
            &[("doc_id", "1"), ("extra", "tags,owner")],
            "extra",
        );
        refused(
            "doc.getList",
            &[("user_id", "1"), ("per_page", "101")],
            "per_page",
        );
        refused("doc.getList", &[("user_id", "1"), ("page", "0")], "page");
        refused(
            "doc.getList",
            &[("user_id", "1"), ("media", "picture")],
            "media",
        );
        refused(
            "doc.setPerms",
            &[("doc_id", "1"), ("is_public", "yes")],
            "is_public",
        );
        refused(
            "doc.setGeo",
            &[("doc_id", "1"), ("lat", "91"), ("lng", "0")],
            "lat",
        );
        refused(
            "doc.setGeo",
            &[("doc_id", "1"), ("lat", "NaN"), ("lng", "0")],
            "lat",
        );
        let too_many = (1..=21)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        refused(
            "album.docs.add",
            &[("album_id", "1"), ("doc_id", &too_many)],
            "doc_id",
        );
        refused(
            "album.docs.add",
            &[("album_id", "1"), ("doc_id", "1,x")],
            "doc_id",
        );
        refused("upload.file", &[("created_at", "yesterday")], "created_at");
        refused("doc.search", &[("posted_min", "-1")], "posted_min");
        refused(
            "album.setPerms",
            &[("album_id", "1"), ("perm_comment", "1")],
            "perm_comment",
        );
    }

    #[test]
    fn documented_values_pass() {
        assert_eq!(
            check(
                "doc.get",
                &[("doc_id", "42"), ("extra", "tags,notes,geo,md5")]
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "doc.getList",
                &[("user_id", "1"), ("per_page", "100"), ("thumbsize", "250x")]
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "doc.setGeo",
                &[("doc_id", "1"), ("lat", "-999"), ("lng", "-999")]
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "upload.file",
                &[("created_at", "2024-01-31 12:00:00"), ("is_public", "1")]
            ),
            Ok(())
        );
        assert_eq!(
            check("album.create", &[("title", ""), ("perm_comment", "1")]),
            Ok(())
        );
        // test.echo takes anything; credentials and the format are never "unknown".
        assert_eq!(
            check(
                "test.echo",
                &[("anything", "x"), ("api_key", "k"), ("format", "json")]
            ),
            Ok(())
        );
        assert_eq!(
            check("doc.tags.edit", &[("doc_id", "1"), ("keywords", "")]),
            Ok(())
        );
    }

    #[test]
    fn unknown_names_pass_when_allowed_and_known_ones_are_still_checked() {
        let info = lookup("doc.get").unwrap();
        let mut params = Params::new();
        params.insert("doc_id", 1);
        params.insert("lang", "fr");
        assert!(validate(info, &params, Validation::Strict).is_err());
        assert!(validate(info, &params, Validation::AllowUnknown).is_ok());
        params.insert("doc_id", "x");
        assert!(validate(info, &params, Validation::AllowUnknown).is_err());
    }

    #[test]
    fn the_reason_says_what_is_allowed() {
        let info = lookup("doc.getList").unwrap();
        let mut params = Params::new();
        params.insert("user_id", 1);
        params.insert("media", "picture");
        let text = validate(info, &params, Validation::Strict)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("`media` of doc.getList") && text.contains("photo, video, audio, other"),
            "{text}"
        );
    }
}
