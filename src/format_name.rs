//! The names of the response formats, apart from their decoders: the error type names a
//! [`Format`], and every decoder returns that error, so the name sits below both.

use std::fmt;
use std::str::FromStr;

/// A response format, chosen at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// JSON (`/json`), the REST default.
    Json,
    /// XML (`/xml`).
    Xml,
    /// PHP `serialize()` (`/php`).
    Php,
    /// The SOAP 1.2 envelope, the SOAP endpoint's default.
    Soap,
    /// The XML-RPC `methodResponse`, the XML-RPC endpoint's default.
    XmlRpc,
}

impl Format {
    /// All five formats.
    pub const ALL: [Format; 5] = [
        Format::Json,
        Format::Xml,
        Format::Php,
        Format::Soap,
        Format::XmlRpc,
    ];

    /// The name used in URLs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Xml => "xml",
            Format::Php => "php",
            Format::Soap => "soap",
            Format::XmlRpc => "xmlrpc",
        }
    }

    /// The `Content-Type` the emulator sends for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
            Format::Php => "text/plain; charset=utf-8",
            Format::Soap => "application/soap+xml; charset=utf-8",
            Format::XmlRpc => "text/xml; charset=utf-8",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Format`] or a [`Protocol`](crate::Protocol) name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}` (expected one of: {expected})")]
pub struct UnknownName {
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) expected: &'static str,
}

impl FromStr for Format {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Format, UnknownName> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == name)
            .ok_or_else(|| UnknownName {
                kind: "format",
                name: name.to_owned(),
                expected: "json, xml, php, soap, xmlrpc",
            })
    }
}
