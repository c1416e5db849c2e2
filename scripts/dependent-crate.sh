#!/usr/bin/env bash
# Compiles every ```rust example of README.md as a program of a new crate that depends on this one
# exactly as the README's "Cargo features" section says: the examples need nothing but the public
# API and the dependencies listed there. The doctests run the same examples; this proves they
# also compile outside this crate's own test harness. The new crate resolves its own features
# and warning flags, so it has a target directory of its own (target/dependent-crate).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/bin"

python3 - "$root/README.md" "$work/src/bin" <<'PY'
import re, sys
readme, out = sys.argv[1], sys.argv[2]
blocks = re.findall(r"^```rust\n(.*?)^```", open(readme).read(), re.S | re.M)
if not blocks:
    sys.exit("README.md has no rust example")
for index, block in enumerate(blocks, 1):
    if "fn main" not in block:
        sys.exit(f"README example {index} is not a whole program")
    open(f"{out}/example{index}.rs", "w").write(block)
print(f"{len(blocks)} README examples")
PY

# The dependencies section of the README, as a user would copy it, with this checkout's path.
python3 - "$root/README.md" "$work/Cargo.toml" "$root" <<'PY'
import re, sys
readme, manifest, root = sys.argv[1:]
toml = re.search(r"^```toml\n(\[dependencies\]\n.*?)^```", open(readme).read(), re.S | re.M)
if not toml:
    sys.exit("README.md lists no dependencies for a dependent crate")
dependencies = toml.group(1).replace('ipernity = { version = "0.1",', f'ipernity = {{ path = "{root}",')
open(manifest, "w").write('[package]\nname = "readme-user"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
                          + dependencies + "\n[workspace]\n")
PY
# The same versions this checkout was tested with.
cp "$root/Cargo.lock" "$work/Cargo.lock"
# Warnings are errors: an example that leaves something unused misleads its reader.
# `check` compiles every example against the public API without linking eleven programs: the
# doctests link and run the same examples, and eleven linked debug programs took 4 GB of disk.
RUSTFLAGS="-D warnings" CARGO_TARGET_DIR="$root/target/dependent-crate" cargo check --quiet --manifest-path "$work/Cargo.toml" --bins
echo "every README example compiles in a dependent crate"
