#![cfg_attr(docsrs, feature(doc_cfg))]
// The README is the crate's front page, and every example in it a doctest; its examples use the
// client, the emulator, the test doubles, the archive and the bridge, so it is the front page
// when all of them are built (as on docs.rs and in CI).
#![cfg_attr(
    all(
        feature = "client",
        feature = "server",
        feature = "test-util",
        feature = "archive",
        feature = "bridge"
    ),
    doc = include_str!("../README.md")
)]
#![cfg_attr(
    not(all(
        feature = "client",
        feature = "server",
        feature = "test-util",
        feature = "archive",
        feature = "bridge"
    )),
    doc = "A client for the [Ipernity](https://www.ipernity.com) photo-sharing web API that speaks \
           REST, SOAP and XML-RPC and decodes json, xml, php, soap and xml-rpc, chosen at run time. \
           The README (the front page of the documentation built with every feature) has the tour."
)]

pub mod answers;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod api;
#[cfg(feature = "archive")]
#[cfg_attr(docsrs, doc(cfg(feature = "archive")))]
pub mod archive;
pub mod auth;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
#[cfg(feature = "bridge")]
#[cfg_attr(docsrs, doc(cfg(feature = "bridge")))]
pub mod bridge;
pub mod call;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod codes;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod conformance;
pub mod error;
mod form;
pub mod format;
mod format_name;
mod http;
pub mod ids;
mod map;
pub mod methods;
pub mod oauth;
mod params;
mod permission;
pub mod protocol;
mod random;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
pub mod sign;
mod text;
pub mod tokens;
pub mod upload;
pub mod value;

pub use call::{Call, Credentials, ParamValue, Params, Secret};
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use client::{Client, ClientBuilder, RetryPolicy, Stream, StreamExt, TrustRoots};
pub use error::{ApiError, Error, ErrorCategory, ErrorCode};
pub use format::Format;
pub use protocol::{DEFAULT_ENDPOINT, HttpMethod, HttpRequest, Protocol, Transport};
pub use value::{Map, Text, Value};
