//! Authorization (`protocols/signing.md`): the permissions an application asks for, the token a user grants,
//! and the links the user opens to grant it.
//!
//! ```
//! use ipernity::auth::{Permissions, authorize_url};
//! use ipernity::methods::{Level, Target};
//! use ipernity::Credentials;
//!
//! let credentials = Credentials::new("6fa87ba500002712bd4eed6020f3bd72", "e9a599f0cf6ce193");
//! let perms: Permissions = "network=read".parse()?;
//! assert_eq!(perms.level(Target::Network), Some(Level::Read));
//! // The documented link, vector V2 of `protocols/signing.md`, signed with the empty method name.
//! assert_eq!(
//!     authorize_url("http://www.ipernity.com", &credentials, &perms, None),
//!     "http://www.ipernity.com/apps/authorize?api_key=6fa87ba500002712bd4eed6020f3bd72\
//!      &perm_network=read&api_sig=da183021cd39461108770b822fcd9398"
//! );
//! assert!("profile=delete".parse::<Permissions>().is_err());
//! # Ok::<(), ipernity::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::call::{Credentials, Params, Secret};
use crate::error::Error;
use crate::format::Format;
use crate::methods::{Level, Permission, Target};
use crate::value::Value;

/// Every target, in the order responses and links list them.
pub const TARGETS: [Target; 5] = [
    Target::Doc,
    Target::Blog,
    Target::Post,
    Target::Network,
    Target::Profile,
];

/// The level granted on each target; a target not listed is not granted (`none`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Permissions {
    levels: BTreeMap<Target, Level>,
}

impl Permissions {
    /// No permission at all.
    pub fn new() -> Permissions {
        Permissions::default()
    }

    /// Adds `target` at `level`; `profile` has no `delete` level.
    pub fn grant(mut self, target: Target, level: Level) -> Result<Permissions, Error> {
        if target == Target::Profile && level == Level::Delete {
            return Err(Error::invalid_param(
                "perm_profile",
                "profile can be granted read or write, not delete",
            ));
        }
        self.levels.insert(target, level);
        Ok(self)
    }

    /// The level granted on `target`, if any.
    pub fn level(&self, target: Target) -> Option<Level> {
        self.levels.get(&target).copied()
    }

    /// Whether these permissions cover `needed` (each level implies the lower ones).
    pub fn allows(&self, needed: Permission) -> bool {
        self.level(needed.target)
            .is_some_and(|level| level >= needed.level)
    }

    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Each granted target and its level.
    pub fn iter(&self) -> impl Iterator<Item = (Target, Level)> + '_ {
        self.levels.iter().map(|(target, level)| (*target, *level))
    }

    /// The `perm_*` parameters of an authorization link.
    pub fn params(&self) -> impl Iterator<Item = (String, &'static str)> + '_ {
        self.iter()
            .map(|(target, level)| (format!("perm_{}", target.as_str()), level.as_str()))
    }

    /// Reads the `perm_*` parameters of an authorization link, the inverse of
    /// [`params`](Self::params); other parameters are skipped. A level that is not one of read,
    /// write, delete, or `profile=delete`, is refused with the parameter's name.
    ///
    /// ```
    /// use ipernity::auth::Permissions;
    /// let link = [("api_key", "k"), ("perm_doc", "write"), ("perm_network", "read")];
    /// let permissions = Permissions::from_link_params(link)?;
    /// assert_eq!(permissions.to_string(), "doc=write,network=read");
    /// assert!(Permissions::from_link_params([("perm_profile", "delete")]).is_err());
    /// # Ok::<(), ipernity::Error>(())
    /// ```
    pub fn from_link_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Permissions, Error> {
        let mut permissions = Permissions::new();
        for (name, level) in params {
            let Some(target) = name.strip_prefix("perm_").and_then(parse_target) else {
                continue;
            };
            let level = parse_level(level).ok_or_else(|| {
                Error::invalid_param(name, format!("{level:?} is not one of read, write, delete"))
            })?;
            permissions = permissions.grant(target, level)?;
        }
        Ok(permissions)
    }

    /// Reads the `permissions` (or `perms`) member of a token response: absent targets and
    /// `none` are not granted, names this crate does not know (`user`) are skipped.
    fn from_payload(auth: &Value) -> Result<Permissions, Error> {
        let mut permissions = Permissions::new();
        let Some(map) = auth
            .get("permissions")
            .or_else(|| auth.get("perms"))
            .and_then(Value::as_map)
        else {
            return Ok(permissions);
        };
        for (name, level) in map {
            let Some(target) = parse_target(name) else {
                continue;
            };
            let text = level.to_text().unwrap_or_default();
            match text.as_ref() {
                "" | "none" => {}
                other => {
                    let level = parse_level(other).ok_or_else(|| {
                        Error::malformed(
                            Format::Json,
                            format!("permission {name}={other:?} is not a level"),
                        )
                    })?;
                    // A level the service granted is taken as it is, even `profile=delete`.
                    permissions.levels.insert(target, level);
                }
            }
        }
        Ok(permissions)
    }
}

impl FromStr for Permissions {
    type Err = Error;

    /// Reads `doc=write,network=read` (targets doc, blog, post, network, profile; levels read,
    /// write, delete; `none` leaves the target out).
    fn from_str(text: &str) -> Result<Permissions, Error> {
        let mut permissions = Permissions::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, level) = item.split_once('=').ok_or_else(|| {
                Error::invalid_param("perms", format!("{item:?} is not TARGET=LEVEL"))
            })?;
            let target = parse_target(name.trim()).ok_or_else(|| {
                Error::invalid_param(
                    "perms",
                    format!("{name:?} is not one of doc, blog, post, network, profile"),
                )
            })?;
            match level.trim() {
                "none" => {
                    permissions.levels.remove(&target);
                }
                other => {
                    let level = parse_level(other).ok_or_else(|| {
                        Error::invalid_param(
                            format!("perm_{}", target.as_str()),
                            format!("{other:?} is not one of read, write, delete"),
                        )
                    })?;
                    permissions = permissions.grant(target, level)?;
                }
            }
        }
        Ok(permissions)
    }
}

impl fmt::Display for Permissions {
    /// `doc=write,network=read`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (index, (target, level)) in self.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", target.as_str(), level.as_str())?;
        }
        Ok(())
    }
}

/// A target's name as links and responses spell it.
pub(crate) fn parse_target(name: &str) -> Option<Target> {
    TARGETS.into_iter().find(|t| t.as_str() == name)
}

/// A level's name as links and responses spell it.
pub(crate) fn parse_level(name: &str) -> Option<Level> {
    [Level::Read, Level::Write, Level::Delete]
        .into_iter()
        .find(|l| l.as_str() == name)
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    /// The user's id.
    pub user_id: u64,
    /// The user name.
    pub username: String,
    /// The real name.
    pub realname: String,
}

/// A user's token and what it allows (`auth.getToken`, `auth.checkToken`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The `auth_token` (redacted in `Debug`).
    pub token: Secret,
    /// What the user granted.
    pub permissions: Permissions,
    /// Whose token it is.
    pub user: User,
}

impl Token {
    /// Reads the payload of `auth.getToken` or `auth.checkToken` (the `auth` member: `token`, `permissions`, `user`).
    pub fn from_payload(payload: &Value) -> Result<Token, Error> {
        let auth = payload.get("auth").unwrap_or(payload);
        let missing = |field: &'static str| Error::MissingField { field };
        let token = auth
            .get("token")
            .and_then(Value::to_text)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| missing("auth.token"))?;
        let user = auth.get("user").ok_or_else(|| missing("auth.user"))?;
        let text = |name: &str| {
            user.get(name)
                .and_then(Value::to_text)
                .map(|t| t.into_owned())
                .unwrap_or_default()
        };
        Ok(Token {
            token: Secret::new(token.into_owned()),
            permissions: Permissions::from_payload(auth)?,
            user: User {
                user_id: user
                    .get("user_id")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| missing("auth.user.user_id"))?,
                username: text("username"),
                realname: text("realname"),
            },
        })
    }
}

/// The site that serves the authorization pages for an API endpoint: `https://www.ipernity.com`
/// for the service's API hosts, otherwise the endpoint without its `/api` path (an emulator
/// serves both).
pub fn site_of(endpoint: &str) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    let (scheme, rest) = trimmed.split_once("://").unwrap_or(("https", trimmed));
    let host = rest.split('/').next().unwrap_or_default();
    if host == "api.ipernity.com" || host == "www.ipernity.com" {
        return format!("{scheme}://www.ipernity.com");
    }
    trimmed.strip_suffix("/api").unwrap_or(trimmed).to_owned()
}

/// The link a user opens to authorize the application: `{site}/apps/authorize` with the
/// `api_key`, the `frob` (desktop flow; none for the web flow), the `perm_*` parameters and an
/// `api_sig` computed with the empty method name (step 4 of `protocols/signing.md`).
pub fn authorize_url(
    site: &str,
    credentials: &Credentials,
    permissions: &Permissions,
    frob: Option<&str>,
) -> String {
    let mut params = Params::new();
    params.insert("api_key", credentials.api_key.as_str());
    if let Some(frob) = frob {
        params.insert("frob", frob);
    }
    for (name, level) in permissions.params() {
        params.insert(name, level);
    }
    let signature = crate::sign::auth_link_sig(&params, &credentials.secret);
    let mut url = format!("{}/apps/authorize?", site.trim_end_matches('/'));
    for (name, value) in params.iter() {
        crate::form::percent_encode_into(&mut url, name);
        url.push('=');
        crate::form::percent_encode_into(&mut url, value);
        url.push('&');
    }
    url.push_str("api_sig=");
    url.push_str(&signature);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "6fa87ba500002712bd4eed6020f3bd72";
    const SECRET: &str = "e9a599f0cf6ce193";

    #[test]
    fn links_reproduce_the_documented_and_derived_vectors() {
        let credentials = Credentials::new(KEY, SECRET);
        let perms = Permissions::new()
            .grant(Target::Network, Level::Read)
            .unwrap();
        assert!(
            authorize_url("https://www.ipernity.com/", &credentials, &perms, None)
                .ends_with("perm_network=read&api_sig=da183021cd39461108770b822fcd9398")
        );
        let perms: Permissions = "doc=write".parse().unwrap();
        assert_eq!(
            authorize_url(
                "https://www.ipernity.com",
                &credentials,
                &perms,
                Some("12345-a0b1c2d3e4f5")
            ),
            format!(
                "https://www.ipernity.com/apps/authorize?api_key={KEY}&frob=12345-a0b1c2d3e4f5\
                 &perm_doc=write&api_sig=07916e9f6ed8a65b5d98faffaf789a7a"
            )
        );
    }

    #[test]
    fn permissions_parse_print_and_refuse_what_does_not_exist() {
        let perms: Permissions = " doc=delete, profile=write ,blog=none".parse().unwrap();
        assert_eq!(perms.to_string(), "doc=delete,profile=write");
        assert!(perms.allows(Permission::new(Target::Doc, Level::Read)));
        assert!(perms.allows(Permission::new(Target::Profile, Level::Write)));
        assert!(!perms.allows(Permission::new(Target::Profile, Level::Delete)));
        assert!(!perms.allows(Permission::new(Target::Network, Level::Read)));
        assert_eq!(Permissions::new().to_string(), "none");
        for bad in ["profile=delete", "doc=admin", "photos=read", "doc"] {
            let error = bad.parse::<Permissions>().unwrap_err();
            assert!(
                matches!(error, Error::InvalidParam { .. }),
                "{bad}: {error}"
            );
        }
        assert!(
            Permissions::new()
                .grant(Target::Profile, Level::Delete)
                .is_err()
        );
    }

    #[test]
    fn tokens_read_permissions_perms_and_absent_targets() {
        let xml = Format::Xml
            .decode(
                br#"<?xml version="1.0"?><api status="ok"><auth><token>12345-a0b1c2d3e4f5</token>
<permissions doc="write" blog="none" network="read" profile="read"/>
<user user_id="1234" username="Superman" realname="Kal-El"/></auth></api>"#,
            )
            .unwrap();
        let token = Token::from_payload(&xml).unwrap();
        assert_eq!(token.token.expose(), "12345-a0b1c2d3e4f5");
        assert_eq!(
            token.permissions.to_string(),
            "doc=write,network=read,profile=read"
        );
        assert_eq!(token.user.user_id, 1234);
        assert_eq!(token.user.realname, "Kal-El");
        assert!(!format!("{token:?}").contains("a0b1c2d3e4f5"));

        // `perms` as an alias, JSON leaving `none` targets out.
        let json = Format::Json
            .decode(
                br#"{"auth":{"token":"9-x","perms":{"doc":"delete"},"user":{"user_id":"7","username":"u","realname":""}},"api":{"status":"ok"}}"#,
            )
            .unwrap();
        let token = Token::from_payload(&json).unwrap();
        assert_eq!(token.permissions.to_string(), "doc=delete");
        assert_eq!(token.permissions.level(Target::Blog), None);

        let broken = Format::Json
            .decode(br#"{"auth":{"user":{"user_id":"7"}},"api":{"status":"ok"}}"#)
            .unwrap();
        assert!(matches!(
            Token::from_payload(&broken),
            Err(Error::MissingField {
                field: "auth.token"
            })
        ));
    }

    #[test]
    fn the_site_follows_the_endpoint() {
        assert_eq!(site_of(crate::DEFAULT_ENDPOINT), "https://www.ipernity.com");
        assert_eq!(
            site_of("http://api.ipernity.com/api/"),
            "http://www.ipernity.com"
        );
        assert_eq!(
            site_of("http://127.0.0.1:8700/api"),
            "http://127.0.0.1:8700"
        );
    }
}
