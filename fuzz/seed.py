"""Seeds each fuzz target's corpus (fuzz/corpus/TARGET) from the conformance fixtures.

Decoders get every response fixture of their format; request parsers get every request
fixture's body behind the selector byte that parses it as it was sent (POST, its content type).
"""
import pathlib

root = pathlib.Path(__file__).resolve().parent
fixtures = root.parent / "fixtures"

for fmt in ["json", "xml", "php", "soap", "xmlrpc"]:
    out = root / "corpus" / f"decode_{fmt}"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((fixtures / "responses" / fmt).glob("*")):
        if path.is_file():
            (out / path.name).write_bytes(path.read_bytes())

# Selector bits: 0 = POST; bits 3-4 pick the content type (0 form, 2 XML).
selectors = {"rest": 0, "soap": 2 << 3, "xmlrpc": 2 << 3}
for protocol, selector in selectors.items():
    out = root / "corpus" / f"parse_{protocol}"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((fixtures / "requests" / protocol).glob("*.http")):
        raw = path.read_bytes()
        _, _, body = raw.partition(b"\r\n\r\n")
        if not body:
            _, _, body = raw.partition(b"\n\n")
        (out / path.name).write_bytes(bytes([selector]) + body)
print("seeded", sum(1 for _ in (root / "corpus").rglob("*") if _.is_file()), "inputs")
