"""Signing keys: the Ed25519 service key, verifier keyrings, and the per-customer HMAC.

The Ed25519 key signs every receipt and checkpoint; its public half is published (JWKS, PEM) so an
auditor can verify without holding anything that could forge. The HMAC uses the customer's API
secret, so a customer can check a receipt with ``openssl dgst -sha256 -hmac "$API_SECRET"``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tai_graph.errors import LedgerError

__all__ = [
    "ServiceKey",
    "hmac_hex",
    "hmac_matches",
    "key_id_for",
    "load_public_keys",
    "public_jwks",
    "verify_ed25519",
]

_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def key_id_for(public_key_raw: bytes) -> str:
    """``"ed25519:"`` + the first 16 hex digits of SHA-256 of the raw 32-byte public key."""
    return "ed25519:" + hashlib.sha256(public_key_raw).hexdigest()[:16]


class ServiceKey:
    """The service's Ed25519 signing key, with its derived ``key_id`` and public forms."""

    __slots__ = ("_private", "_public", "_public_raw", "key_id")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self._public = private_key.public_key()
        self._public_raw = self._public.public_bytes(*_RAW)
        self.key_id: str = key_id_for(self._public_raw)

    def __repr__(self) -> str:
        return f"ServiceKey({self.key_id!r})"

    @classmethod
    def ephemeral(cls) -> ServiceKey:
        """A fresh key that lives only in memory (tests, in-memory engines)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, data: bytes, *, source: str = "key") -> ServiceKey:
        """Load an unencrypted PKCS#8 PEM Ed25519 private key; LedgerError if it is not one."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise LedgerError(f"{source}: not an unencrypted PEM PKCS#8 private key ({exc})") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise LedgerError(f"{source}: not an Ed25519 key ({type(key).__name__})")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> ServiceKey:
        """The key stored at ``path``, created there (mode 0600, atomically) on first use.

        The file is written to a temporary name, fsynced, then linked into place, so a crash never
        leaves a half-written key and two processes racing to create it end up with the same key.
        """
        path = Path(path)
        try:
            return cls.from_pem(path.read_bytes(), source=str(path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise LedgerError(f"{path}: cannot read the service key ({exc.strerror})") from exc
        key = cls.ephemeral()
        pem = key._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process created the key first: use theirs
        except FileExistsError:
            return cls.from_pem(path.read_bytes(), source=str(path))
        except OSError:  # filesystems without hard links
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)
        return key

    def public_key(self) -> Ed25519PublicKey:
        """The public half, for verification."""
        return self._public

    def sign(self, data: bytes) -> str:
        """Standard base64 (with padding) of the 64-byte Ed25519 signature of ``data``."""
        return base64.b64encode(self._private.sign(data)).decode("ascii")

    def public_key_raw(self) -> bytes:
        """The raw 32-byte public key."""
        return self._public_raw

    def public_jwk(self) -> dict[str, str]:
        """The public key as an RFC 8037 OKP JWK (``kid`` is the ``key_id``)."""
        x = base64.urlsafe_b64encode(self._public_raw).rstrip(b"=").decode("ascii")
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.key_id, "use": "sig", "alg": "EdDSA"}

    def public_pem(self) -> str:
        """The public key as a PEM ``SubjectPublicKeyInfo`` block."""
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


def public_jwks(keys: Iterable[ServiceKey]) -> dict[str, list[dict[str, str]]]:
    """A JWKS document (``{"keys": [...]}``) publishing the public halves of ``keys``."""
    return {"keys": [k.public_jwk() for k in keys]}


def load_public_keys(source: Path | str | bytes | Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """A verifier keyring (``key_id`` → public key) from a JWKS or PEM.

    ``source`` is a file path, the document's text or bytes (a JWKS ``{"keys": [...]}``, a single
    JWK, or one or more PEM blocks), or an already parsed JWKS/JWK. Key ids are recomputed from the
    key material; a JWK whose ``kid`` disagrees is refused. Non-Ed25519 JWKs are ignored.
    Raises :class:`~tai_graph.errors.LedgerError` when no usable key is found.
    """
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    if isinstance(source, str):
        if "-----BEGIN" in source:
            return _keyring(_pem_keys(source))
        try:
            source = json.loads(source)
        except ValueError as exc:
            raise LedgerError(f"public keys: neither PEM nor JSON ({exc})") from exc
    if not isinstance(source, Mapping):
        raise LedgerError("public keys: expected a JWKS object")
    jwks = source.get("keys", [source])
    if not isinstance(jwks, list):
        raise LedgerError('public keys: "keys" must be an array')
    return _keyring(_jwk_key(jwk) for jwk in jwks if _is_ed25519_jwk(jwk))


def verify_ed25519(public_key: Ed25519PublicKey, data: bytes, signature_b64: str) -> bool:
    """True when ``signature_b64`` (standard base64) is a valid signature of ``data``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, data)
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def hmac_hex(secret: str, data: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``data`` keyed with the UTF-8 bytes of ``secret``.

    Equal to ``openssl dgst -sha256 -hmac "$secret"`` over the same bytes.
    """
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def hmac_matches(secret: str, data: bytes, signature: object) -> bool:
    """Constant-time check of a hex HMAC-SHA256 ``signature`` (see :func:`hmac_hex`)."""
    if not isinstance(signature, str) or not signature.isascii():
        return False
    return hmac.compare_digest(hmac_hex(secret, data), signature)


def _keyring(keys: Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    ring = {key_id_for(k.public_bytes(*_RAW)): k for k in keys}
    if not ring:
        raise LedgerError("public keys: no Ed25519 key found")
    return ring


def _is_ed25519_jwk(jwk: object) -> bool:
    return isinstance(jwk, Mapping) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519"


def _jwk_key(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    x = jwk.get("x")
    try:
        if not isinstance(x, str):
            raise ValueError("missing x")
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
        key = Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error) as exc:
        raise LedgerError(f"public keys: bad Ed25519 JWK x ({exc})") from exc
    kid = jwk.get("kid")
    if kid is not None and kid != key_id_for(raw):
        raise LedgerError(f"public keys: JWK kid {kid!r} does not match its key ({key_id_for(raw)})")
    return key


def _pem_keys(text: str) -> list[Ed25519PublicKey]:
    keys: list[Ed25519PublicKey] = []
    for block in text.split("-----BEGIN ")[1:]:
        pem = ("-----BEGIN " + block).encode("ascii")
        try:
            if block.startswith("PUBLIC KEY"):
                key: object = serialization.load_pem_public_key(pem)
            elif block.startswith("PRIVATE KEY"):
                key = ServiceKey.from_pem(pem).public_key()
            else:
                continue
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise LedgerError(f"public keys: unreadable PEM block ({exc})") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise LedgerError(f"public keys: PEM key is not Ed25519 ({type(key).__name__})")
        keys.append(key)
    return keys


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
