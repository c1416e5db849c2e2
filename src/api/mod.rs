//! The whole API, typed: a handle per family, as the API groups its methods
//! (`client.doc()`, `client.album().docs()`, …), and a builder per method with its required
//! parameters as arguments, its optional ones as setters, ids as newtypes ([`ids`](crate::ids))
//! and enumerations as enums ([`codes`](crate::codes)).
//!
//! ```no_run
//! # async fn run(client: ipernity::Client) -> Result<(), ipernity::Error> {
//! use ipernity::codes::{Extra, Media, ThumbSize};
//! use ipernity::ids::{DocId, UserId};
//!
//! let doc = client.doc().get(DocId::new(42)).extra(&[Extra::Tags, Extra::Geo]).send().await?;
//! let photos = client
//!     .doc()
//!     .get_list(UserId::new(7))
//!     .media(Media::Photo)
//!     .thumbsize(ThumbSize::Max500)
//!     .per_page(100)
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Every builder is a [`CallBuilder`](crate::client::CallBuilder) underneath, so what it sends is
//! checked against the catalog like any call ([`methods::validate`](crate::methods::validate)),
//! and [`Client::call`](crate::Client::call) stays the way to send anything the typed API does not cover. The
//! authorization flows are [`Client::auth`](crate::Client::auth) and the uploads [`Client::upload`](crate::Client::upload) and
//! [`Client::check_tickets`](crate::Client::check_tickets).

use crate::error::Error;
use crate::value::Value;

mod generated;

pub use generated::*;

/// The member `root` of an answer's payload: the element the method's answer is made of.
fn into_root(payload: Value, root: &'static str) -> Result<Value, Error> {
    match payload {
        Value::Map(mut members) => members
            .remove(root)
            .ok_or(Error::MissingField { field: root }),
        _ => Err(Error::MissingField { field: root }),
    }
}

#[cfg(test)]
mod tests {
    use super::generated::BUILDERS;
    use crate::methods::METHODS;

    /// The methods written by hand, and the function that calls each.
    const HAND_WRITTEN: &[(&str, &str)] = &[
        ("auth.checkToken", "Auth::check_token"),
        ("auth.getFrob", "Auth::get_frob"),
        ("auth.getToken", "Auth::get_token"),
        ("upload.checkTickets", "Client::check_tickets"),
        ("upload.file", "Client::upload"),
        (
            "upload.replace",
            "Client::upload with UploadFile::replacing",
        ),
    ];

    #[test]
    fn every_method_of_the_catalog_has_a_typed_builder() {
        for info in METHODS {
            let generated = BUILDERS
                .iter()
                .filter(|(name, _)| *name == info.name)
                .count();
            let by_hand = HAND_WRITTEN
                .iter()
                .filter(|(name, _)| *name == info.name)
                .count();
            assert_eq!(
                generated + by_hand,
                1,
                "{} has {generated} generated and {by_hand} hand-written builders",
                info.name
            );
        }
        assert_eq!(BUILDERS.len() + HAND_WRITTEN.len(), METHODS.len());
    }
}
