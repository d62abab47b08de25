"""Independent check of a Cairn-written OMS bundle under the reference model_signing rules.

Written from OMS-NOTES.md (not from model_signing's code) with Python's `cryptography`, so it shares
no code with Cairn: the bundle layout, the hint, the DSSE PAE over the in-toto type, DER ECDSA
with the curve's hash, the statement, the subject digest over the listed order, and a re-hash of
the model with the reference's component-wise path order and default exclusions.

usage: reference_rules.py MODEL_DIR BUNDLE PUBLIC_KEY_PEM  -> prints "ok <root digest>" or fails
"""
import base64, hashlib, json, pathlib, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

model, bundle_path, pub_path = sys.argv[1:4]
raw = open(bundle_path, "rb").read()
bundle = json.loads(raw)
assert raw == json.dumps(bundle, separators=(",", ":")).encode(), "bundle is not compact JSON in this key order"
assert list(bundle) == ["mediaType", "verificationMaterial", "dsseEnvelope"], list(bundle)
assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
vm = bundle["verificationMaterial"]
assert vm["tlogEntries"] == []

pub = serialization.load_pem_public_key(open(pub_path, "rb").read())
pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
assert vm["publicKey"]["hint"] == hashlib.sha256(pem).hexdigest(), "hint mismatch"

env = bundle["dsseEnvelope"]
assert env["payloadType"] == "application/vnd.in-toto+json"
payload = base64.b64decode(env["payload"], validate=True)
assert env["signatures"][0]["keyid"] == ""
sig = base64.b64decode(env["signatures"][0]["sig"], validate=True)
pt = b"application/vnd.in-toto+json"
pae = b"DSSEv1 %d %s %d %s" % (len(pt), pt, len(payload), payload)
curve_hash = {"secp256r1": hashes.SHA256(), "secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}[pub.curve.name]
pub.verify(sig, pae, ec.ECDSA(curve_hash))  # raises InvalidSignature

stmt = json.loads(payload)
assert payload == json.dumps(stmt, indent=2).encode(), "payload is not json.dumps(indent=2) bytes"
assert stmt["_type"] == "https://in-toto.io/Statement/v1"
assert stmt["predicateType"] == "https://model_signing/signature/v1.0"
assert len(stmt["subject"]) == 1
resources = stmt["predicate"]["resources"]
root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
assert stmt["subject"][0]["digest"]["sha256"] == root, "subject digest inconsistent"

ser = stmt["predicate"]["serialization"]
assert ser["method"] == "files" and ser["hash_type"] == "sha256"
base = pathlib.Path(model)
ignored = [base / p for p in ser.get("ignore_paths", [])]
files = sorted(
    (p for p in base.glob("**/*") if p.is_file() and not any(p.is_relative_to(i) for i in ignored)),
    key=lambda p: p.relative_to(base).parts,
)
actual = {p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
expected = {r["name"]: r["digest"] for r in resources}
assert [r["name"] for r in resources] == list(actual), "resource order differs from the reference's"
assert actual == expected, "model does not match"
print("ok", root)
