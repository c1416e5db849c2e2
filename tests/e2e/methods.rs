//! The whole API on the emulator: every method of the catalog answers (none 103), and the
//! method cases (`protocols/method-cases.json`) pass on every protocol and format.

use std::time::Duration;

use ipernity::conformance::{MethodOutcome, method_cases, run_method_cases};
use ipernity::server::Emulator;
use ipernity::{Format, Protocol};

use crate::support::client_for;

/// An emulator whose user belongs to a group and has a blog post (the API makes neither).
async fn emulator() -> ipernity::server::EmulatorHandle {
    Emulator::builder()
        .ticket_delay(Duration::from_millis(50))
        .member("alice", "alice-token-for-the-method-cases")
        .group("Blue skies over the sea", true, false)
        .post(1, "Holidays", "We went to the sea.", true)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn api_methods_get_list_names_102_methods_and_none_answers_103() {
    let emulator = emulator().await;
    let client = client_for(&emulator, Protocol::Rest, Format::Json, true);
    let listed = client.call("api.methods.getList").send().await.unwrap();
    let names: Vec<String> = listed
        .get("methods")
        .unwrap()
        .list("method")
        .iter()
        .map(|m| m.get("name").and_then(|n| n.as_str()).unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 102);
    for name in &names {
        // Without parameters a method may refuse (its own error or a missing one), never as
        // unknown.
        let outcome = client.call(name.as_str()).unchecked().send().await;
        if let Err(error) = outcome {
            assert_ne!(
                error.code().map(|c| c.as_u32()),
                Some(103),
                "{name}: {error}"
            );
        }
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn every_method_case_passes_on_every_protocol_and_format() {
    let cases = method_cases().unwrap();
    assert_eq!(cases.len(), 102, "one case per method");
    let emulator = emulator().await;
    let pairs = [
        (Protocol::Rest, Format::Json),
        (Protocol::Rest, Format::Xml),
        (Protocol::Rest, Format::Php),
        (Protocol::Soap, Format::Soap),
        (Protocol::XmlRpc, Format::XmlRpc),
    ];
    let mut failures = Vec::new();
    for (protocol, format) in pairs {
        let client = client_for(&emulator, protocol, format, true);
        let outcomes = run_method_cases(&client, &mut |_: &MethodOutcome| {})
            .await
            .unwrap_or_else(|e| panic!("{protocol}/{format}: {e}"));
        assert_eq!(outcomes.len(), 102);
        failures.extend(outcomes.into_iter().filter_map(|o| {
            o.failure
                .as_ref()
                .map(|f| format!("{protocol}/{format} {}: {f}", o.method))
        }));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    emulator.shutdown().await;
}
