//! What a token may do: a [`Target`] (documents, blog, …) at a [`Level`] (read, write, delete).
//! Below the errors, which name the permission a call lacked; re-exported by
//! [`methods`](crate::methods), whose entries name the permission each method needs.

use std::fmt;

/// What a permission covers (`perm_doc`, `perm_blog`, …).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Photos, videos and other documents.
    Doc,
    /// The blog.
    Blog,
    /// Articles.
    Post,
    /// Contacts.
    Network,
    /// The user profile.
    Profile,
}

/// How much a permission allows; each level implies the ones before it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Read, including private items.
    Read,
    /// Read and write.
    Write,
    /// Read, write and delete.
    Delete,
}

/// A permission a method needs: a target at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permission {
    /// What it covers.
    pub target: Target,
    /// How much it allows.
    pub level: Level,
}

impl Permission {
    /// A permission of `target` at `level`.
    pub const fn new(target: Target, level: Level) -> Permission {
        Permission { target, level }
    }
}

impl Target {
    /// The name used in `perm_*` parameters and token responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Doc => "doc",
            Target::Blog => "blog",
            Target::Post => "post",
            Target::Network => "network",
            Target::Profile => "profile",
        }
    }
}

impl Level {
    /// The name used in `perm_*` parameters and token responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Read => "read",
            Level::Write => "write",
            Level::Delete => "delete",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.target.as_str(), self.level.as_str())
    }
}
