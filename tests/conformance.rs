//! The conformance suite: every case of `protocols/*.json` as one named test, run through the
//! crate's typed conformance module (`ipernity::conformance`), the same one `ipernity
//! conformance` runs against endpoints.
//!
//! Schema: `protocols/README.md`. A case listed in `protocols/known-failures.json` must fail; if
//! it starts passing, its test fails so the list is kept honest.

use std::sync::Arc;

use ipernity::conformance::{Check, Failure, Suite, run_golden};
use libtest_mimic::{Arguments, Failed, Trial};

/// The suite is never smaller than this: a manifest that lost its cases fails the run.
const MIN_CASES: usize = 150;

fn main() {
    let args = Arguments::from_args();
    let suite = match Suite::from_dir(env!("CARGO_MANIFEST_DIR")) {
        Ok(suite) => Arc::new(suite),
        Err(error) => {
            eprintln!("the suite cannot be read: {error}");
            std::process::exit(101);
        }
    };
    let mut trials = Vec::new();
    for (index, case) in suite.cases.iter().enumerate() {
        let suite = Arc::clone(&suite);
        let is_known = suite.known_failures.contains(&case.name);
        trials.push(Trial::test(case.name.clone(), move || {
            let case = suite.cases.get(index).ok_or("the case went missing")?;
            with_known(is_known, case.run(&suite))
        }));
    }
    for group in suite.golden_groups().into_keys() {
        let name = format!("golden/{group}");
        let is_known = suite.known_failures.contains(&name);
        let group = group.to_owned();
        let suite = Arc::clone(&suite);
        trials.push(Trial::test(name, move || {
            let groups = suite.golden_groups();
            let cases = groups.get(group.as_str()).ok_or("the group went missing")?;
            with_known(is_known, run_golden(&suite, cases))
        }));
    }
    trials.push(Trial::test(
        "suite/known-failure-that-passes-fails",
        || match with_known(true, Ok(())) {
            Err(_) => Ok(()),
            Ok(()) => Err("a passing known failure was not reported".into()),
        },
    ));
    let count = suite.cases.len();
    let uploads = suite
        .cases
        .iter()
        .filter(|case| {
            matches!(
                &case.check,
                Check::Encode {
                    upload: Some(_),
                    ..
                }
            )
        })
        .count();
    trials.push(Trial::test("suite/size", move || {
        if count < MIN_CASES {
            return Err(format!("only {count} cases").into());
        }
        if uploads < 3 {
            return Err(format!("{uploads} upload cases, one per protocol expected").into());
        }
        Ok(())
    }));
    libtest_mimic::run(&args, trials).exit();
}

fn with_known(is_known: bool, outcome: Result<(), Failure>) -> Result<(), Failed> {
    match (is_known, outcome) {
        (false, outcome) => outcome.map_err(|failure| Failed::from(failure.to_string())),
        (true, Err(_)) => Ok(()),
        (true, Ok(())) => Err(
            "this known failure now passes: remove it from protocols/known-failures.json".into(),
        ),
    }
}
