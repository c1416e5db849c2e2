//! End-to-end tests, one binary grouped by area (one link instead of fourteen), sharing
//! `tests/support/`:
//!
//! - `emulator`, `credentials`, `persistence`, `wsdl`: the emulator, its checks, its state, its
//!   SOAP description;
//! - `client`, `auth`, `upload`, `bulk`, `edges`, `tls`: the library as a user meets it: calls,
//!   retries, authorization, uploads, the bulk uploader, small edges, trust roots;
//! - `cli`, `uploader`: the `ipernity` binary and its bulk uploader under misuse;
//! - `interop`, `interop_emulator`: third-party peers (PHP, Python's `xmlrpc.client`,
//!   PyIpernity-style clients) against the decoders and the emulator.
//!
//! Kept apart, each in its own binary: the conformance suite (`conformance.rs`), the property
//! and robustness tests (`robustness.rs`), the hostile-input suite (`hostile.rs`), decoder
//! linearity (`linear.rs`, timed) and secrets in every failure mode (`secrets.rs`, which records
//! every log event of its process).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../support/mod.rs"]
mod support;

mod archive;
mod auth;
mod bridge;
mod bulk;
mod cli;
mod client;
mod credentials;
mod edges;
mod emulator;
mod interop;
mod interop_emulator;
mod methods;
mod paging;
mod persistence;
mod tls;
mod typed;
mod upload;
mod uploader;
mod whole_api;
mod wsdl;
