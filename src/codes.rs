//! The API's enumerations (spec §9): media kinds, thumbnail sizes, `extra` blocks, visibility,
//! safety, licences, audiences, relations, orientations, sort orders and tag kinds.
//!
//! Each one is sent as the text the documentation gives (`License::AttributionShareAlike` is
//! `9`, `ThumbSize::Square75` is `75x`) and read back from an answer in any format (a number or
//! its text). Which values a given method accepts is the catalog's business: `doc.get` takes the
//! `extra` blocks `tags`, `notes`, `geo` and `md5` only, and any other [`Extra`] is refused
//! before sending ([`methods::validate`](crate::methods::validate)).
//!
//! ```
//! use ipernity::codes::{License, ThumbSize};
//! assert_eq!(License::AttributionShareAlike.as_str(), "9");
//! assert_eq!("250x".parse::<ThumbSize>(), Ok(ThumbSize::Square250));
//! assert!("300".parse::<ThumbSize>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use crate::params::ParamValue;

/// A value that is not one of an enumeration's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {kind} (one of {allowed})")]
pub struct UnknownValue {
    /// The enumeration.
    pub kind: &'static str,
    /// What was read.
    pub value: String,
    /// The values it takes.
    pub allowed: &'static str,
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the documentation's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text sent on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<$name, UnknownValue> {
                match text.trim() {
                    $( $wire => Ok($name::$variant), )+
                    other => Err(UnknownValue {
                        kind: $kind,
                        value: other.to_owned(),
                        allowed: concat!($($wire, " "),+),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ParamValue for $name {
            fn to_param(&self) -> String {
                self.as_str().to_owned()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                deserializer.deserialize_any(WireVisitor::<$name>::new($kind))
            }
        }
    };
}

/// Reads an enumeration from a string or a number (the formats disagree).
struct WireVisitor<T> {
    kind: &'static str,
    marker: std::marker::PhantomData<T>,
}

impl<T> WireVisitor<T> {
    fn new(kind: &'static str) -> Self {
        WireVisitor {
            kind,
            marker: std::marker::PhantomData,
        }
    }
}

impl<T: FromStr<Err = UnknownValue>> serde::de::Visitor<'_> for WireVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {}", self.kind)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<T, E> {
        self.visit_str(&number.to_string())
    }

    fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<T, E> {
        self.visit_str(&number.to_string())
    }
}

wire_enum! {
    /// A kind of media (`media`).
    Media, "media kind" {
        /// A photo.
        Photo = "photo",
        /// A video.
        Video = "video",
        /// A sound.
        Audio = "audio",
        /// Anything else (a document, an archive).
        Other = "other",
    }
}

wire_enum! {
    /// A thumbnail size label (`thumbsize`): `75x` and `250x` are squares, the others the
    /// longest side in pixels. Sizes above 800 depend on the owner's preferences.
    ThumbSize, "thumbnail size" {
        /// `75x`: a 75-pixel square.
        Square75 = "75x",
        /// `100`.
        Max100 = "100",
        /// `240`.
        Max240 = "240",
        /// `250x`: a 250-pixel square.
        Square250 = "250x",
        /// `500`.
        Max500 = "500",
        /// `560`.
        Max560 = "560",
        /// `640`.
        Max640 = "640",
        /// `800`.
        Max800 = "800",
        /// `1024`.
        Max1024 = "1024",
        /// `1600`.
        Max1600 = "1600",
        /// `2048`.
        Max2048 = "2048",
    }
}

wire_enum! {
    /// An optional block added to each item of an answer (`extra`); each method takes its own
    /// subset.
    Extra, "extra block" {
        /// Tags.
        Tags = "tags",
        /// Notes.
        Notes = "notes",
        /// Location.
        Geo = "geo",
        /// The original's MD5 checksum.
        Md5 = "md5",
        /// Dates.
        Dates = "dates",
        /// Counters (visits, faves, comments).
        Count = "count",
        /// The encoded versions of a video or a sound.
        Medias = "medias",
        /// The original file.
        Original = "original",
        /// The owner.
        Owner = "owner",
        /// The licence.
        License = "license",
        /// The item's page.
        Link = "link",
        /// The user's preferences.
        Pref = "pref",
        /// The HTML to embed a blog article.
        Embed = "embed",
        /// Real names.
        Realname = "realname",
        /// Where a member lives.
        Location = "location",
        /// A member's custom profile fields.
        Custom = "custom",
    }
}

wire_enum! {
    /// Who sees a document (`share` as a parameter; answers use 5 for public).
    Share, "share level" {
        /// 0: only the owner.
        Private = "0",
        /// 1: family.
        Family = "1",
        /// 2: friends.
        Friends = "2",
        /// 3: friends and family.
        FriendsAndFamily = "3",
        /// 4: everybody.
        Public = "4",
    }
}

wire_enum! {
    /// The audience a document suits (`safety`, `safesurf`).
    Safety, "safety level" {
        /// 1: suitable for all audiences.
        AllAudiences = "1",
        /// 2: not suitable for all audiences.
        Moderate = "2",
        /// 3: adults only.
        Restricted = "3",
    }
}

wire_enum! {
    /// A licence (`license`).
    License, "license code" {
        /// 0: copyright, all rights reserved.
        Copyright = "0",
        /// 1: CC by.
        Attribution = "1",
        /// 3: CC by-nc.
        AttributionNonCommercial = "3",
        /// 5: CC by-nd.
        AttributionNoDerivatives = "5",
        /// 7: CC by-nc-nd.
        AttributionNonCommercialNoDerivatives = "7",
        /// 9: CC by-sa.
        AttributionShareAlike = "9",
        /// 11: CC by-nc-sa.
        AttributionNonCommercialShareAlike = "11",
        /// 255: copyleft (copyright surrendered).
        Copyleft = "255",
    }
}

wire_enum! {
    /// Who may comment, tag or tag themselves (`perm_comment`, `perm_tag`, `perm_tagme`). Most
    /// methods take 0, 3, 4 and 5; `album.create` also family (1) and friends (2).
    Audience, "audience" {
        /// 0: only the owner.
        OnlyYou = "0",
        /// 1: family.
        Family = "1",
        /// 2: friends.
        Friends = "2",
        /// 3: friends and family.
        FriendsAndFamily = "3",
        /// 4: contacts.
        Contacts = "4",
        /// 5: every member.
        Everybody = "5",
    }
}

wire_enum! {
    /// How a member is related to another (`relation`).
    Relation, "relation" {
        /// 0: everyone.
        Everyone = "0",
        /// 1: family.
        Family = "1",
        /// 2: friends.
        Friends = "2",
        /// 3: friends and family.
        FriendsAndFamily = "3",
        /// 4: contacts.
        Contacts = "4",
        /// 8: members the caller blocked (`network.getList` only).
        Blocked = "8",
    }
}

wire_enum! {
    /// The orientation override of an upload (`dir`).
    Orientation, "orientation" {
        /// 1: up.
        Up = "1",
        /// 3: down (180°).
        Down = "3",
        /// 6: left (90° counter-clockwise).
        Left = "6",
        /// 8: right (90° clockwise).
        Right = "8",
    }
}

wire_enum! {
    /// The order of search results (`sort`); each method takes its own subset.
    Sort, "sort order" {
        /// Best match first.
        Relevance = "relevance",
        /// Most looked at first.
        Popular = "popular",
        /// Newest post first.
        PostedDesc = "posted-desc",
        /// Oldest post first.
        PostedAsc = "posted-asc",
        /// Newest creation first.
        CreatedDesc = "created-desc",
        /// Oldest creation first.
        CreatedAsc = "created-asc",
    }
}

wire_enum! {
    /// A kind of tag (`type`).
    TagKind, "tag kind" {
        /// A keyword.
        Keyword = "keyword",
        /// A member named in the document.
        Member = "member",
        /// A machine tag (`namespace:predicate=value`); only ever answered.
        Machine = "machine",
    }
}

impl License {
    /// The code sent on the wire.
    pub fn code(self) -> u8 {
        self.as_str().parse().unwrap_or(0)
    }

    /// The licence with this code.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`](crate::Error::InvalidParam) naming `license` for a code that does
    /// not exist.
    pub fn from_code(code: u32) -> Result<License, crate::error::Error> {
        code.to_string()
            .parse()
            .map_err(|e: UnknownValue| crate::error::Error::invalid_param("license", e.to_string()))
    }
}

impl Orientation {
    /// The code sent on the wire.
    pub fn code(self) -> u8 {
        self.as_str().parse().unwrap_or(1)
    }

    /// The orientation with this code.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`](crate::Error::InvalidParam) naming `dir` for any code but 1, 3, 6
    /// and 8.
    pub fn from_code(code: u32) -> Result<Orientation, crate::error::Error> {
        code.to_string()
            .parse()
            .map_err(|e: UnknownValue| crate::error::Error::invalid_param("dir", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn every_value_round_trips_through_its_text() {
        for media in Media::ALL {
            assert_eq!(media.as_str().parse::<Media>(), Ok(*media));
        }
        for size in ThumbSize::ALL {
            assert_eq!(size.to_string().parse::<ThumbSize>(), Ok(*size));
        }
        assert_eq!(License::ALL.len(), 8);
        assert_eq!(
            License::from_code(11).unwrap(),
            License::AttributionNonCommercialShareAlike
        );
        assert!(License::from_code(2).is_err());
        assert_eq!(Orientation::Left.code(), 6);
    }

    #[test]
    fn answers_are_read_from_numbers_and_text() {
        let number = Value::Int(9);
        let text = Value::from("9");
        assert_eq!(
            License::deserialize(&number).unwrap(),
            License::AttributionShareAlike
        );
        assert_eq!(
            License::deserialize(&text).unwrap(),
            License::AttributionShareAlike
        );
        let error = Media::deserialize(&Value::from("hologram")).unwrap_err();
        assert!(error.to_string().contains("hologram"), "{error}");
    }

    use serde::Deserialize;
}
