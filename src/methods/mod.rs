//! The registry of the API's 102 methods: for each, the flags `api.methods.getList` gives (HTTP
//! POST required, signature required, token required, the permission the token needs, the safety
//! flag), its parameters with their kinds, allowed values and ranges, how it pages, its documented
//! answer and its own error codes. Calls are checked against it before anything is sent
//! ([`validate`]).
//!
//! ```
//! use ipernity::methods::{self, Level, Target};
//! let info = methods::lookup("upload.file").unwrap();
//! assert!(info.post && info.sign && info.token);
//! assert_eq!(info.permission.map(|p| (p.target, p.level)), Some((Target::Doc, Level::Write)));
//! assert!(methods::lookup("upload.nothing").is_none());
//! ```
//!
//! The table itself is generated from the catalog, `protocols/methods.json`, by
//! `scripts/generate-api.py`: edit the catalog, never the table.

mod table;
mod validate;

pub use crate::permission::{Level, Permission, Target};
pub use table::METHODS;
pub use validate::{Validation, validate};

/// One method of the API: its flags, parameters, paging, answer and errors, as the catalog
/// (`protocols/methods.json`) describes it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct MethodInfo {
    /// The method name, e.g. `doc.get`.
    pub name: &'static str,
    /// The one-line title `api.methods.getList` gives.
    pub title: &'static str,
    /// What the method does.
    pub description: &'static str,
    /// Must be called with HTTP POST (error 120 otherwise).
    pub post: bool,
    /// Must be signed (errors 104/105 otherwise).
    pub sign: bool,
    /// Needs an `auth_token` (errors 106/107 otherwise).
    pub token: bool,
    /// The permission the token needs (error 110 otherwise).
    pub permission: Option<Permission>,
    /// The `authentication.safety` flag of `api.methods.getList` (its meaning is undocumented).
    pub safety: bool,
    /// Takes any parameter (`test.echo`), so unknown names are not refused.
    pub any_params: bool,
    /// The parameters, in the documentation's order (without `api_key`, `api_sig`,
    /// `auth_token` and `format`).
    pub params: &'static [ParamInfo],
    /// How the method pages through its items, when it does.
    pub paging: Option<Paging>,
    /// The answer's top-level element, or several joined by `+`; `None` for a status-only answer.
    pub answer_root: Option<&'static str>,
    /// The documented example answer (XML, without the `<api>` wrapper); `""` for a status-only
    /// answer.
    pub answer_example: Option<&'static str>,
    /// The method's own error codes and what each means for it.
    pub errors: &'static [MethodError],
    /// Where the description comes from: `page` (the method's documentation page),
    /// `api.methods.get` (the service's own description of itself), or `analogy with …` (a
    /// method nothing describes, filled from its family).
    pub source: &'static str,
}

impl MethodInfo {
    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&'static ParamInfo> {
        self.params.iter().find(|p| p.name == name)
    }

    /// What error `code` means for this method, when it is one of its own.
    pub fn error_meaning(&self, code: u32) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|e| e.code == code)
            .map(|e| e.meaning)
    }

    /// The family: the name without its last part (`doc.comments` for `doc.comments.add`).
    pub fn family(&self) -> &'static str {
        self.name
            .rsplit_once('.')
            .map_or(self.name, |(family, _)| family)
    }
}

/// One parameter of a method.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ParamInfo {
    /// The name on the wire.
    pub name: &'static str,
    /// The call is refused without it.
    pub required: bool,
    /// What kind of value it takes.
    pub kind: ParamKind,
    /// The Rust type of the value: the id newtype or the enumeration.
    pub type_name: Option<&'static str>,
    /// The values it accepts, for an enumeration (each item, for a list of them).
    pub values: &'static [&'static str],
    /// The value the service assumes when it is absent, as documented.
    pub default: Option<&'static str>,
    /// The smallest number it accepts.
    pub min: Option<f64>,
    /// The largest number it accepts.
    pub max: Option<f64>,
    /// The most items a list may hold.
    pub max_items: Option<u32>,
    /// A value outside `min..=max` that still means something (`-999`: no location).
    pub sentinel: Option<f64>,
    /// What it means.
    pub description: &'static str,
    /// Only the service's own description of the method (`api.methods.get`) lists it.
    pub from_method_dump: bool,
}

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParamKind {
    /// One id: a positive integer.
    Id,
    /// Comma-separated ids.
    Ids,
    /// An id or an alias (a member's or a group's short name).
    IdOrAlias,
    /// An integer.
    Int,
    /// A decimal number.
    Float,
    /// `1` or `0`.
    Bool,
    /// Free text.
    String,
    /// Comma-separated words (keywords, checksums, tickets).
    Strings,
    /// One of the listed values.
    Enum,
    /// Comma-separated listed values.
    Enums,
    /// A date, `YYYY-MM-DD` with an optional ` HH:MM:SS`.
    Date,
    /// Unix time in seconds.
    Timestamp,
    /// The uploaded file (a multipart part, never signed).
    File,
}

impl ParamKind {
    /// The catalog's name for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::Id => "id",
            ParamKind::Ids => "ids",
            ParamKind::IdOrAlias => "id_or_alias",
            ParamKind::Int => "int",
            ParamKind::Float => "float",
            ParamKind::Bool => "bool",
            ParamKind::String => "string",
            ParamKind::Strings => "strings",
            ParamKind::Enum => "enum",
            ParamKind::Enums => "enums",
            ParamKind::Date => "date",
            ParamKind::Timestamp => "timestamp",
            ParamKind::File => "file",
        }
    }
}

/// How a paginated method pages (`page` from 1, `per_page` items each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Items per page when `per_page` is absent.
    pub default_per_page: u32,
    /// The largest `per_page` accepted.
    pub max_per_page: u32,
    /// Where the items are in the answer: the elements down to the page, then the element
    /// each item is (`["album", "docs", "doc"]` for `album.docs.getList`).
    pub items: &'static [&'static str],
}

/// One of a method's own error codes (below 100) and what it means for that method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodError {
    /// The code.
    pub code: u32,
    /// What it means for this method.
    pub meaning: &'static str,
}

/// The method called `name`, if the API has one.
pub fn lookup(name: &str) -> Option<&'static MethodInfo> {
    METHODS
        .binary_search_by(|info| info.name.cmp(name))
        .ok()
        .and_then(|index| METHODS.get(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_generated_from_the_catalog_as_it_is_now() {
        use md5::Digest;
        let catalog = include_bytes!("../../protocols/methods.json");
        let digest = md5::Md5::digest(catalog);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            table::CATALOG_MD5,
            "protocols/methods.json changed: run `python3 scripts/generate-api.py`"
        );
    }

    #[test]
    fn every_parameter_is_described_and_every_paged_method_takes_page_and_per_page() {
        for info in METHODS {
            for param in info.params {
                assert!(
                    !param.description.is_empty(),
                    "{} {}",
                    info.name,
                    param.name
                );
                let enumerated = matches!(param.kind, ParamKind::Enum | ParamKind::Enums);
                assert_eq!(
                    enumerated,
                    !param.values.is_empty(),
                    "{} {}",
                    info.name,
                    param.name
                );
            }
            if let Some(paging) = info.paging {
                let per_page = info.param("per_page").unwrap();
                assert_eq!(
                    per_page.max,
                    Some(f64::from(paging.max_per_page)),
                    "{}",
                    info.name
                );
                assert!(info.param("page").is_some(), "{}", info.name);
            }
            assert!(!info.description.is_empty() && !info.source.is_empty());
        }
    }

    #[test]
    fn holds_all_102_methods_sorted_and_unique() {
        assert_eq!(METHODS.len(), 102);
        assert!(METHODS.windows(2).all(|w| w[0].name < w[1].name));
        for info in METHODS {
            assert_eq!(lookup(info.name), Some(info));
        }
    }

    #[test]
    fn flags_match_the_method_list() {
        let get = lookup("doc.get").unwrap();
        assert!(!get.post && !get.sign && !get.token);
        assert_eq!(
            get.permission,
            Some(Permission::new(Target::Doc, Level::Read))
        );
        let delete = lookup("doc.delete").unwrap();
        assert!(delete.post && delete.token);
        assert_eq!(delete.permission.unwrap().to_string(), "doc:delete");
        let frob = lookup("auth.getFrob").unwrap();
        assert!(frob.sign && !frob.token && frob.permission.is_none());
        let families = [
            "account.", "album.", "api.", "auth.", "doc.", "explore.", "faves.", "folder.",
            "group.", "network.", "post.", "tags.", "test.", "upload.", "user.",
        ];
        let counts = [1, 14, 2, 3, 31, 4, 6, 9, 7, 3, 13, 3, 2, 3, 1];
        for (family, count) in families.iter().zip(counts) {
            assert_eq!(
                METHODS
                    .iter()
                    .filter(|m| m.name.starts_with(family))
                    .count(),
                count,
                "{family}"
            );
        }
    }
}
