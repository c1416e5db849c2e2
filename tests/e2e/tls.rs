//! Trust roots: against an HTTPS endpoint whose certificate comes from its own CA (made here by
//! the `openssl` command), a client that does not trust the CA says the certificate was refused;
//! one given the CA with `root_certificates` (added to the platform's roots, or as the only
//! roots) calls it; a bundle that holds no certificate is refused when the client is built.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use ipernity::{Client, Error, RetryPolicy, TrustRoots};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a certificate it signed for 127.0.0.1: (CA PEM, server chain PEM, server key PEM).
fn certificates() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("ipernity-tls-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=ipernity test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    );
    openssl(
        &dir,
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let certificates = (read("ca.pem"), read("server.pem"), read("server.key"));
    std::fs::remove_dir_all(&dir).ok();
    certificates
}

/// An HTTPS server on loopback answering every request with a `test.hello` payload.
async fn https_server(chain: &[u8], key: &[u8]) -> String {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain)
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = r#"{"api":{"status":"ok"},"hello":"over TLS"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                tls.write_all(answer.as_bytes()).await.ok();
                tls.shutdown().await.ok();
            });
        }
    });
    format!("https://{addr}/api")
}

fn client(endpoint: &str, roots: Option<(&[u8], TrustRoots)>) -> Result<Client, Error> {
    let mut builder = Client::builder()
        .endpoint(endpoint)
        .credentials("key", "secret")
        .retry(RetryPolicy::none());
    if let Some((pem, trust)) = roots {
        builder = builder.root_certificates(pem, trust);
    }
    builder.build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trusts_the_roots_it_is_given_and_says_why_it_refuses_others() {
    let (ca, chain, key) = certificates();
    let endpoint = https_server(&chain, &key).await;

    let untrusting = client(&endpoint, None).unwrap();
    let error = untrusting.call("test.hello").send().await.unwrap_err();
    let text = error.to_string();
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    // Each cause once, however its error prints it.
    let causes: Vec<&str> = text
        .split(": ")
        .map(|part| part.trim_end_matches(':'))
        .filter(|part| part.len() > 20)
        .collect();
    let unique: std::collections::HashSet<&str> = causes.iter().copied().collect();
    assert_eq!(causes.len(), unique.len(), "a cause repeated in {text}");
    // rustls says UnknownIssuer, OpenSSL (with native-tls) "unable to get local issuer".
    assert!(
        text.contains("UnknownIssuer") || text.contains("issuer"),
        "{text}"
    );

    for trust in [TrustRoots::AddToPlatform, TrustRoots::Only] {
        let trusting = client(&endpoint, Some((&ca, trust))).unwrap();
        let hello = trusting
            .call("test.hello")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{trust:?}: {e}"));
        assert_eq!(
            hello.get("hello").and_then(|v| v.as_str()),
            Some("over TLS")
        );
    }

    let refused = client(&endpoint, Some((b"not a certificate", TrustRoots::Only))).unwrap_err();
    assert!(
        matches!(&refused, Error::InvalidParam { param, .. } if param == "root_certificates"),
        "{refused:?}"
    );
}
