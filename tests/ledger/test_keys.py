"""Service key storage, public key formats, keyrings and the HMAC."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tai_graph.errors import LedgerError
from tai_graph.ledger.keys import (
    ServiceKey,
    hmac_hex,
    hmac_matches,
    key_id_for,
    load_public_keys,
    public_jwks,
    verify_ed25519,
)

OPENSSL = "/usr/bin/openssl"


def test_load_or_create_writes_a_private_pkcs8_pem_and_reloads_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "nested" / "service.pem"
    key = ServiceKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert sorted(p.name for p in path.parent.iterdir()) == ["service.pem"]  # no temp file left
    again = ServiceKey.load_or_create(path)  # "after a restart"
    assert again.key_id == key.key_id
    assert again.sign(b"x") == key.sign(b"x")  # Ed25519 is deterministic


def test_load_or_create_never_replaces_an_existing_key(tmp_path: Path) -> None:
    path = tmp_path / "service.pem"
    first = ServiceKey.load_or_create(path)
    before = path.read_bytes()
    assert ServiceKey.load_or_create(path).key_id == first.key_id
    assert path.read_bytes() == before


def test_unusable_key_files_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(LedgerError, match=r"garbage\.pem"):
        ServiceKey.load_or_create(garbage)
    ec_key = tmp_path / "ec.pem"
    ec_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(LedgerError, match="not an Ed25519 key"):
        ServiceKey.load_or_create(ec_key)
    with pytest.raises(LedgerError, match="cannot read"):
        ServiceKey.load_or_create(tmp_path)  # a directory


def test_key_id_is_derived_from_the_raw_public_key() -> None:
    key = ServiceKey.ephemeral()
    raw = key.public_key_raw()
    assert len(raw) == 32
    assert re.fullmatch(r"ed25519:[0-9a-f]{16}", key.key_id)
    assert key.key_id == "ed25519:" + hashlib.sha256(raw).hexdigest()[:16] == key_id_for(raw)
    assert key.key_id in repr(key)
    assert ServiceKey.ephemeral().key_id != key.key_id


def test_sign_is_standard_base64_of_a_64_byte_signature() -> None:
    key = ServiceKey.ephemeral()
    signature = key.sign(b"payload")
    raw = base64.b64decode(signature, validate=True)
    assert len(raw) == 64
    key.public_key().verify(raw, b"payload")
    assert verify_ed25519(key.public_key(), b"payload", signature)
    assert not verify_ed25519(key.public_key(), b"payload!", signature)
    assert not verify_ed25519(key.public_key(), b"payload", "not base64!")
    assert not verify_ed25519(key.public_key(), b"payload", base64.b64encode(b"short").decode())


def test_public_jwk_is_rfc8037_okp_without_private_material() -> None:
    key = ServiceKey.ephemeral()
    jwk = key.public_jwk()
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": jwk["x"],
        "kid": key.key_id,
        "use": "sig",
        "alg": "EdDSA",
    }
    assert "=" not in jwk["x"] and "+" not in jwk["x"] and "/" not in jwk["x"]
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == key.public_key_raw()
    assert public_jwks([key]) == {"keys": [jwk]}


def test_keyrings_from_jwks_and_pem_in_every_form(tmp_path: Path) -> None:
    one, two = ServiceKey.ephemeral(), ServiceKey.ephemeral()
    jwks = public_jwks([one, two])
    jwks["keys"].insert(0, {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa-1"})  # ignored
    (tmp_path / "keys.json").write_text(json.dumps(jwks))
    (tmp_path / "keys.pem").write_text(one.public_pem() + two.public_pem())
    expected = {one.key_id, two.key_id}
    for source in (jwks, json.dumps(jwks), json.dumps(jwks).encode(), tmp_path / "keys.json"):
        assert set(load_public_keys(source)) == expected
    assert set(load_public_keys(tmp_path / "keys.pem")) == expected
    assert set(load_public_keys(one.public_pem())) == {one.key_id}
    assert set(load_public_keys(one.public_jwk())) == {one.key_id}
    ring = load_public_keys(one.public_jwk())
    assert verify_ed25519(ring[one.key_id], b"m", one.sign(b"m"))


def test_keyring_refuses_mislabelled_or_missing_keys() -> None:
    one, two = ServiceKey.ephemeral(), ServiceKey.ephemeral()
    forged = dict(one.public_jwk(), kid=two.key_id)
    with pytest.raises(LedgerError, match="does not match its key"):
        load_public_keys({"keys": [forged]})
    with pytest.raises(LedgerError, match="no Ed25519 key"):
        load_public_keys({"keys": []})
    with pytest.raises(LedgerError, match="bad Ed25519 JWK"):
        load_public_keys({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]})
    with pytest.raises(LedgerError, match="neither PEM nor JSON"):
        load_public_keys("hello")
    with pytest.raises(LedgerError, match='"keys" must be an array'):
        load_public_keys({"keys": "x"})


def test_hmac_hex_is_what_openssl_prints(tmp_path: Path) -> None:
    data = b'{"a":"\xe2\x82\xac"}'
    for secret in ("s3cret", "sécret ✓ with spaces"):
        out = subprocess.run(
            [OPENSSL, "dgst", "-sha256", "-hmac", secret], input=data, capture_output=True, check=True
        ).stdout.decode()
        assert out.strip().rsplit("= ", 1)[1] == hmac_hex(secret, data)
    assert re.fullmatch(r"[0-9a-f]{64}", hmac_hex("k", b""))


def test_hmac_matches_is_strict() -> None:
    good = hmac_hex("k", b"data")
    assert hmac_matches("k", b"data", good)
    assert not hmac_matches("k", b"data", good.upper())
    assert not hmac_matches("other", b"data", good)
    assert not hmac_matches("k", b"data", None)
    assert not hmac_matches("k", b"data", "é" * 64)


def test_keyring_from_the_service_key_file_itself(tmp_path: Path) -> None:
    path = tmp_path / "service.pem"
    key = ServiceKey.load_or_create(path)
    assert set(load_public_keys(path)) == {key.key_id}
