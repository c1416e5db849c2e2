//! `ipernity methods`: the method catalog, as a list or one method in full.

use std::io::Write;
use std::process::ExitCode;

use ipernity::methods::{self, MethodInfo, ParamInfo};

use crate::error::CliError;

/// Prints every method with its flags, or `name`'s parameters, allowed values and errors.
pub(crate) fn run(name: Option<&str>) -> Result<ExitCode, CliError> {
    let text = match name {
        None => methods::METHODS
            .iter()
            .map(|info| summary_line(info) + "\n")
            .collect(),
        Some(name) => {
            let info = methods::lookup(name).ok_or_else(|| {
                CliError::from(format!(
                    "no method {name:?}; `ipernity methods` lists the {}",
                    methods::METHODS.len()
                ))
            })?;
            details(info)
        }
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // A reader that stopped early (`| head`) is not a failure.
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::from(
            format!("writing to standard output: {error}"),
        )),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// `name  GET|POST  signed  token  permission  paged`, aligned.
fn summary_line(info: &MethodInfo) -> String {
    let permission = info
        .permission
        .map_or_else(|| "-".to_owned(), |p| p.to_string());
    let paged = info
        .paging
        .map_or_else(String::new, |p| format!("paged (max {})", p.max_per_page));
    format!(
        "{:<26} {:<4} {:<8} {:<8} {:<12} {}",
        info.name,
        if info.post { "POST" } else { "GET" },
        if info.sign { "signed" } else { "-" },
        if info.token { "token" } else { "-" },
        permission,
        paged
    )
    .trim_end()
    .to_owned()
}

fn details(info: &MethodInfo) -> String {
    let mut out = format!("{}\n  {}\n\n", info.name, info.description);
    out.push_str(&format!("  {}\n", summary_line(info)));
    out.push_str(&format!("  described by: {}\n\n", info.source));
    if info.params.is_empty() {
        out.push_str("  parameters: none\n");
    } else {
        out.push_str("  parameters:\n");
        for param in info.params {
            out.push_str(&param_line(param));
        }
    }
    match info.answer_root {
        Some(root) => out.push_str(&format!("\n  answer: <{root}>\n")),
        None => out.push_str("\n  answer: status only\n"),
    }
    if !info.errors.is_empty() {
        out.push_str("\n  errors:\n");
        for error in info.errors {
            out.push_str(&format!("    {:>3}  {}\n", error.code, error.meaning));
        }
    }
    out
}

fn param_line(param: &ParamInfo) -> String {
    let mut kind = param.kind.as_str().to_owned();
    if let Some(type_name) = param.type_name {
        kind = format!("{kind} {type_name}");
    }
    let mut facts = Vec::new();
    if param.required {
        facts.push("required".to_owned());
    }
    if !param.values.is_empty() {
        facts.push(format!("one of {}", param.values.join("|")));
    }
    if let Some(default) = param.default {
        facts.push(format!("default {default}"));
    }
    match (param.min, param.max) {
        (Some(min), Some(max)) => facts.push(format!("{min}..={max}")),
        (None, Some(max)) => facts.push(format!("at most {max}")),
        (Some(min), None) => facts.push(format!("at least {min}")),
        (None, None) => {}
    }
    if let Some(max) = param.max_items {
        facts.push(format!("at most {max} items"));
    }
    format!(
        "    {:<14} {:<16} {}{}\n",
        param.name,
        kind,
        param.description,
        if facts.is_empty() {
            String::new()
        } else {
            format!(" [{}]", facts.join(", "))
        }
    )
}
