//! A client for the [Ipernity](https://www.ipernity.com) photo-sharing web API that speaks all
//! three of its request protocols (REST, SOAP, XML-RPC) and decodes all five of its response
//! formats (json, xml, php, soap, xml-rpc), chosen at run time.
//!
//! # A tour
//!
//! Pick a protocol and a format from configuration strings, sign a call, encode it:
//!
//! ```
//! use ipernity::{Call, Credentials, Format, Protocol};
//!
//! let protocol: Protocol = "xmlrpc".parse()?;
//! let format: Format = "json".parse()?;
//! let credentials = Credentials::new("6fa87ba500002712bd4eed6020f3bd72", "e9a599f0cf6ce193");
//! let call = Call::new("doc.tags.add").param("doc_id", 1234).param("keywords", "easy").signed(&credentials);
//! let request = protocol.transport().encode(ipernity::DEFAULT_ENDPOINT, &call, Some(format))?;
//! assert_eq!(request.url, "https://api.ipernity.com/api/xmlrpc/json");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Decode whatever comes back into one [`Value`] tree, or straight into your own types:
//!
//! ```
//! use ipernity::{Error, ErrorCode, Format};
//!
//! #[derive(serde::Deserialize)]
//! struct Ticket { id: String, done: bool }
//!
//! let body = br#"{"api":{"status":"ok"},"tickets":{"ticket":{"id":"12345445-98829","done":"1"}}}"#;
//! let payload = Format::Json.decode(body)?;
//! let tickets: Vec<Ticket> = payload.get("tickets").map(|t| t.list("ticket")).unwrap_or_default()
//!     .iter().map(|t| t.deserialize_into()).collect::<Result<_, _>>()?;
//! assert!(tickets[0].done);
//!
//! let fault = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><faultcode>ipernity.error.105</faultcode><faultstring>Signature is invalid</faultstring></s:Fault></s:Body></s:Envelope>"#;
//! match Format::Soap.decode(fault) {
//!     Err(Error::Api(error)) => assert_eq!(error.code, ErrorCode::SignatureInvalid),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Parts
//!
//! - [`value`]: the dynamic [`Value`] tree and its lenient serde `Deserializer`.
//! - [`error`]: [`Error`], [`ApiError`], [`ErrorCode`] with every documented code.
//! - [`call`] and [`methods`]: [`Call`], [`Params`], [`Credentials`] and the 102-method registry.
//! - [`sign`]: the `api_sig` rule shared by every protocol.
//! - [`protocol`]: [`Transport`] and the REST, SOAP and XML-RPC encoders and request parsers.
//! - [`format`](mod@format): [`Format`] and the five decoders and renderers.
//! - `client`: [`Client`], its retries and the HTTP sender (feature `client`).
//!
//! # Cargo features
//!
//! - `client` (default): the async [`Client`] over reqwest and tokio. The wire core is always
//!   there.
//! - `default-tls` (default), `native-tls`, `rustls-no-provider`: the TLS backend.
//! - `test-util`: test doubles for the HTTP sender ([`client::test_util`]).
//! - `cli`: the `ipernity` command-line tool (`decode`, `sign`, `encode`); pulls in clap.

pub mod auth;
pub mod call;
#[cfg(feature = "client")]
pub mod client;
pub mod error;
pub mod format;
pub mod map;
pub mod methods;
pub mod oauth;
mod params;
pub mod protocol;
mod random;
#[cfg(feature = "server")]
pub mod server;
pub mod sign;
pub mod tokens;
pub mod upload;
pub mod value;

pub use call::{Call, Credentials, ParamValue, Params, Secret};
#[cfg(feature = "client")]
pub use client::{Client, ClientBuilder, RetryPolicy, TrustRoots};
pub use error::{ApiError, Error, ErrorCategory, ErrorCode};
pub use format::Format;
pub use protocol::{DEFAULT_ENDPOINT, HttpMethod, HttpRequest, Protocol, Transport};
pub use value::{Map, Text, Value};
