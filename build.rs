//! With the feature `cli`, compiles the conformance suite's manifests and request fixtures into
//! the binary (`ipernity conformance` then needs no checkout): writes `conformance_files.rs`, a
//! table of `(path from the repository root, include_bytes!(…))`. Without it, the table is empty
//! and nothing is read.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("cargo sets OUT_DIR")?);
    let root = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").ok_or("cargo sets CARGO_MANIFEST_DIR")?,
    );
    // Without `cli` nothing is read: the script need not run again for any other file.
    println!("cargo::rerun-if-changed=build.rs");
    let mut files = Vec::new();
    if std::env::var_os("CARGO_FEATURE_CLI").is_some() {
        println!("cargo::rerun-if-changed=protocols");
        println!("cargo::rerun-if-changed=fixtures/requests");
        for name in ["formats", "rest", "soap", "xmlrpc", "known-failures"] {
            files.push(PathBuf::from(format!("protocols/{name}.json")));
        }
        collect(&root, Path::new("fixtures/requests"), &mut files);
    }
    files.sort();
    let mut table = String::from("/// The suite's files: path from the repository root, bytes.\n");
    table.push_str("pub(super) static FILES: &[(&str, &[u8])] = &[\n");
    for file in &files {
        let name = file.to_string_lossy().replace('\\', "/");
        let full = root.join(file);
        table.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            full.display().to_string()
        ));
    }
    table.push_str("];\n");
    std::fs::write(out.join("conformance_files.rs"), table)?;
    Ok(())
}

/// Every file under `dir` (relative to `root`), in any order.
fn collect(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let relative = dir.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect(root, &relative, files);
        } else {
            files.push(relative);
        }
    }
}
