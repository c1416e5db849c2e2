//! Ids as types: a [`DocId`] cannot be passed where an [`AlbumId`] is expected.
//!
//! Each one is a positive integer on the wire, read from an answer whether the format wrote it
//! as a number or as text, and sent in decimal.
//!
//! ```
//! use ipernity::ids::{DocId, UserId};
//! let doc = DocId::new(42);
//! assert_eq!(doc.get(), 42);
//! assert_eq!(doc.to_string(), "42");
//! assert_eq!("7".parse::<UserId>().unwrap(), UserId::new(7));
//! ```

use std::fmt;
use std::str::FromStr;

use crate::params::ParamValue;

/// Text that is not an id (a positive integer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an id (an integer)")]
pub struct NotAnId {
    /// What was read.
    pub text: String,
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u64);

        impl $name {
            /// The id with this number.
            pub const fn new(id: u64) -> $name {
                $name(id)
            }

            /// Its number.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> $name {
                $name(id)
            }
        }

        impl From<$name> for IdOrAlias<$name> {
            fn from(id: $name) -> IdOrAlias<$name> {
                IdOrAlias::Id(id)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = NotAnId;

            fn from_str(text: &str) -> Result<$name, NotAnId> {
                parse_id(text).map($name)
            }
        }

        impl ParamValue for $name {
            fn to_param(&self) -> String {
                self.0.to_string()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u64(self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                deserializer.deserialize_any(IdVisitor).map($name)
            }
        }
    };
}

fn parse_id(text: &str) -> Result<u64, NotAnId> {
    // Answers may hold 0 (no such item, an anonymous visitor); calls refuse it (`validate`).
    text.trim().parse::<u64>().map_err(|_| NotAnId {
        text: text.to_owned(),
    })
}

/// Reads an id from a number or its text.
struct IdVisitor;

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<u64, E> {
        parse_id(text).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, id: u64) -> Result<u64, E> {
        Ok(id)
    }

    fn visit_i64<E: serde::de::Error>(self, id: i64) -> Result<u64, E> {
        u64::try_from(id).map_err(|_| E::custom(format!("{id} is not an id")))
    }
}

id_type! {
    /// A document (photo, video, sound, other file).
    DocId
}
id_type! {
    /// An album.
    AlbumId
}
id_type! {
    /// A folder of albums.
    FolderId
}
id_type! {
    /// A member.
    UserId
}
id_type! {
    /// A group.
    GroupId
}
id_type! {
    /// A blog article.
    PostId
}
id_type! {
    /// A comment under a document or an article.
    CommentId
}
id_type! {
    /// A note on a photo.
    NoteId
}
id_type! {
    /// A tag.
    TagId
}

/// An id, or the short name (alias) the service also accepts for members and groups.
///
/// ```
/// use ipernity::ids::{IdOrAlias, UserId};
/// let by_id: IdOrAlias<UserId> = UserId::new(12).into();
/// let by_alias: IdOrAlias<UserId> = "christophe".into();
/// assert_eq!((by_id.to_string(), by_alias.to_string()), ("12".to_owned(), "christophe".to_owned()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdOrAlias<I> {
    /// By id.
    Id(I),
    /// By alias.
    Alias(String),
}

impl<I> From<&str> for IdOrAlias<I> {
    fn from(alias: &str) -> Self {
        IdOrAlias::Alias(alias.to_owned())
    }
}

impl<I> From<String> for IdOrAlias<I> {
    fn from(alias: String) -> Self {
        IdOrAlias::Alias(alias)
    }
}

impl<I: fmt::Display> fmt::Display for IdOrAlias<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdOrAlias::Id(id) => id.fmt(f),
            IdOrAlias::Alias(alias) => f.write_str(alias),
        }
    }
}

impl<I: fmt::Display> ParamValue for IdOrAlias<I> {
    fn to_param(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use serde::Deserialize;

    #[test]
    fn ids_are_read_from_numbers_and_text_and_refuse_the_rest() {
        assert_eq!(DocId::deserialize(&Value::Int(42)).unwrap(), DocId::new(42));
        assert_eq!(
            DocId::deserialize(&Value::from("42")).unwrap(),
            DocId::new(42)
        );
        assert!(DocId::deserialize(&Value::from("4x")).is_err());
        assert!(DocId::deserialize(&Value::Int(-1)).is_err());
        assert!("".parse::<AlbumId>().is_err());
        assert_eq!(UserId::new(3).to_param(), "3");
    }
}
