//! Request signing (`protocols/signing.md`): one rule for REST, SOAP and XML-RPC.
//!
//! Take every parameter that travels except `api_sig` and the uploaded `file`, sort the names by
//! byte order, concatenate name and value (raw UTF-8, nothing encoded), append the method name
//! (empty for authorization links), append the secret, and take the lowercase hex MD5.

use md5::{Digest, Md5};

use crate::params::{Params, Secret};

/// Names that never take part in the signature.
const UNSIGNED: &[&str] = &["api_sig", "file"];

/// The placeholder [`explain`] shows instead of the secret.
pub const SECRET_PLACEHOLDER: &str = "<secret>";

/// The `api_sig` of a call of `method` with `params`.
///
/// ```
/// use ipernity::{Params, Secret, sign};
/// let params: Params = [("api_key", "6fa87ba500002712bd4eed6020f3bd72"), ("doc_id", "1234"), ("keywords", "easy")]
///     .into_iter().collect();
/// assert_eq!(sign::api_sig("doc.tags.add", &params, &Secret::new("e9a599f0cf6ce193")),
///            "a269b218feb341ef03bc093a0f2c8078");
/// ```
pub fn api_sig(method: &str, params: &Params, secret: &Secret) -> String {
    let mut hasher = Md5::new();
    for (name, value) in signed_params(params) {
        hasher.update(name.as_bytes());
        hasher.update(value.as_bytes());
    }
    hasher.update(method.as_bytes());
    hasher.update(secret.expose().as_bytes());
    hex(&hasher.finalize())
}

/// The signature of an authorization link (`/apps/authorize`): the same rule with no method.
pub fn auth_link_sig(params: &Params, secret: &Secret) -> String {
    api_sig("", params, secret)
}

/// The string that [`api_sig`] hashes, with the secret shown as `<secret>`.
///
/// ```
/// use ipernity::{Params, sign};
/// let params: Params = [("api_key", "K"), ("perm_doc", "write")].into_iter().collect();
/// assert_eq!(sign::explain("", &params), "api_keyKperm_docwrite<secret>");
/// ```
pub fn explain(method: &str, params: &Params) -> String {
    let mut text = String::new();
    for (name, value) in signed_params(params) {
        text.push_str(name);
        text.push_str(value);
    }
    text.push_str(method);
    text.push_str(SECRET_PLACEHOLDER);
    text
}

/// Whether `signature` is the right `api_sig` for the call, compared in constant time.
pub fn verify(method: &str, params: &Params, secret: &Secret, signature: &str) -> bool {
    let expected = api_sig(method, params, secret);
    let given = signature.trim().to_ascii_lowercase();
    constant_time_eq(expected.as_bytes(), given.as_bytes())
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths only.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn signed_params(params: &Params) -> impl Iterator<Item = (&str, &str)> {
    params.iter().filter(|(name, _)| !UNSIGNED.contains(name))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let digit = |nibble: u8| char::from_digit(u32::from(nibble), 16).unwrap_or('0');
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(digit(byte >> 4));
        out.push(digit(byte & 0x0f));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = "6fa87ba500002712bd4eed6020f3bd72";
    const SECRET: &str = "e9a599f0cf6ce193";
    const TOKEN: &str = "12345-a0b1c2d3e4f5";

    fn sig(method: &str, params: &[(&str, &str)]) -> String {
        let params: Params = params.iter().copied().collect();
        api_sig(method, &params, &Secret::new(SECRET))
    }

    #[test]
    fn v1_doc_tags_add() {
        let params = [("api_key", KEY), ("doc_id", "1234"), ("keywords", "easy")];
        assert_eq!(
            sig("doc.tags.add", &params),
            "a269b218feb341ef03bc093a0f2c8078"
        );
        let params: Params = params.into_iter().collect();
        assert_eq!(
            explain("doc.tags.add", &params),
            format!("api_key{KEY}doc_id1234keywordseasydoc.tags.add<secret>")
        );
    }

    #[test]
    fn v2_authorization_link() {
        let params: Params = [("api_key", KEY), ("perm_network", "read")]
            .into_iter()
            .collect();
        assert_eq!(
            auth_link_sig(&params, &Secret::new(SECRET)),
            "da183021cd39461108770b822fcd9398"
        );
    }

    #[test]
    fn derived_vectors() {
        assert_eq!(
            sig("auth.getFrob", &[("api_key", KEY)]),
            "302693cca51f35c48d656cb3338a994a"
        );
        assert_eq!(
            sig("auth.getToken", &[("api_key", KEY), ("frob", TOKEN)]),
            "6fb62b97af94f35da8535a36b5097e29"
        );
        assert_eq!(
            sig(
                "upload.file",
                &[
                    ("api_key", KEY),
                    ("async", "1"),
                    ("auth_token", TOKEN),
                    ("is_public", "1"),
                    ("title", "Nice car")
                ]
            ),
            "cb712dbc1a69070f17ed423241934153"
        );
        assert_eq!(
            sig(
                "doc.set",
                &[
                    ("api_key", KEY),
                    ("auth_token", TOKEN),
                    ("doc_id", "1234"),
                    ("title", "Beschreibung für den Test")
                ]
            ),
            "63faa2062b7785da1346a876d9361269"
        );
        assert_eq!(
            sig(
                "",
                &[("api_key", KEY), ("frob", TOKEN), ("perm_doc", "write")]
            ),
            "07916e9f6ed8a65b5d98faffaf789a7a"
        );
    }

    #[test]
    fn verify_accepts_the_right_signature_only() {
        let params: Params = [("api_key", KEY), ("doc_id", "1234"), ("keywords", "easy")]
            .into_iter()
            .collect();
        let secret = Secret::new(SECRET);
        assert!(verify(
            "doc.tags.add",
            &params,
            &secret,
            "a269b218feb341ef03bc093a0f2c8078"
        ));
        assert!(verify(
            "doc.tags.add",
            &params,
            &secret,
            "A269B218FEB341EF03BC093A0F2C8078"
        ));
        assert!(!verify(
            "doc.tags.add",
            &params,
            &secret,
            "a269b218feb341ef03bc093a0f2c8079"
        ));
        assert!(!verify("doc.tags.add", &params, &secret, ""));
    }

    fn param_map() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec(("[a-z_]{1,12}", any::<String>()), 0..8)
    }

    fn distinct_params() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::btree_map("[a-z_]{1,12}", any::<String>(), 0..8)
            .prop_map(|map| map.into_iter().collect())
    }

    proptest! {
        #[test]
        fn parameter_order_does_not_matter(
            (pairs, shuffled) in distinct_params().prop_flat_map(|pairs| (Just(pairs.clone()), Just(pairs).prop_shuffle())),
            method in "[a-z.]{0,20}",
        ) {
            let secret = Secret::new(SECRET);
            let in_order: Params = pairs.into_iter().collect();
            let in_any_order: Params = shuffled.into_iter().collect();
            prop_assert_eq!(api_sig(&method, &in_order, &secret), api_sig(&method, &in_any_order, &secret));
        }

        #[test]
        fn the_file_and_api_sig_never_count(pairs in param_map(), file in any::<String>(), old_sig in any::<String>()) {
            let plain: Params = pairs.iter().cloned().collect();
            let mut with_file = plain.clone();
            with_file.insert("file", file);
            with_file.insert("api_sig", old_sig);
            let secret = Secret::new(SECRET);
            prop_assert_eq!(api_sig("upload.file", &plain, &secret), api_sig("upload.file", &with_file, &secret));
        }

        #[test]
        fn values_sign_as_their_raw_utf8_bytes(value in any::<String>(), name in "[a-z_]{1,8}") {
            let params: Params = [(name.as_str(), value.as_str())].into_iter().collect();
            let mut text = Vec::new();
            text.extend_from_slice(name.as_bytes());
            text.extend_from_slice(value.as_bytes());
            text.extend_from_slice(b"test.echo");
            text.extend_from_slice(SECRET.as_bytes());
            prop_assert_eq!(api_sig("test.echo", &params, &Secret::new(SECRET)), hex(&Md5::digest(&text)));
        }
    }

    #[test]
    fn zero_and_empty_values_sign_as_themselves() {
        let zero = sig("test.echo", &[("a", "0")]);
        let empty = sig("test.echo", &[("a", "")]);
        let absent = sig("test.echo", &[]);
        assert_eq!(zero, hex(&Md5::digest(format!("a0test.echo{SECRET}"))));
        assert_eq!(empty, hex(&Md5::digest(format!("atest.echo{SECRET}"))));
        assert_ne!(zero, empty);
        assert_ne!(empty, absent);
    }
}
