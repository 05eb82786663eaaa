"""Customers (tenants) and their credentials.

An API key is shown once and stored only as its SHA-256; it is compared in constant time. The
API secret signs receipts (HMAC-SHA256), so it must be kept: it lives in the data dir's documents
(mode 0600), never in the graph, so no SPARQL query can reach it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from tai_graph.documents import DocumentStore
from tai_graph.errors import Conflict, InvalidInput, NotFound, Unauthorized
from tai_graph.model import format_utc

CUSTOMER_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_COLLECTION = "tenants"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a new customer receives, once."""

    customer_id: str
    api_key: str
    api_secret: str


@dataclass(frozen=True, slots=True)
class Tenant:
    customer_id: str
    name: str
    created: str
    api_secret: str
    api_key_sha256: str


def _key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class TenantRegistry:
    """Creates customers and resolves API keys to them."""

    def __init__(self, docs: DocumentStore) -> None:
        self._docs = docs
        self._lock = threading.Lock()
        self._by_hash: dict[str, Tenant] = {}
        for cid in docs.names(_COLLECTION):
            doc = docs.get(_COLLECTION, cid)
            if doc is not None:
                self._by_hash[doc["api_key_sha256"]] = _tenant(doc)

    def create(self, customer_id: str, name: str | None = None) -> Credentials:
        """Create a customer; its key and secret are returned here and never again."""
        if not isinstance(customer_id, str) or not CUSTOMER_ID.match(customer_id):
            raise InvalidInput(
                "customer_id must be 1-64 characters of A-Z a-z 0-9 . _ -",
                details={"field": "customer_id", "rule": "pattern", "value": customer_id},
            )
        with self._lock:
            if self._docs.get(_COLLECTION, customer_id) is not None:
                raise Conflict(f"customer {customer_id!r} already exists")
            api_key = "tai_" + secrets.token_urlsafe(32)
            api_secret = secrets.token_urlsafe(32)
            doc = {
                "customer_id": customer_id,
                "name": name or customer_id,
                "created": format_utc(datetime.now(UTC).replace(microsecond=0)),
                "api_key_sha256": _key_hash(api_key),
                "api_secret": api_secret,
            }
            self._docs.put(_COLLECTION, customer_id, doc, write_once=True)
            self._by_hash[doc["api_key_sha256"]] = _tenant(doc)
        return Credentials(customer_id, api_key, api_secret)

    def authenticate(self, api_key: str) -> Tenant:
        """The tenant owning ``api_key``; :class:`Unauthorized` otherwise."""
        digest = _key_hash(api_key)
        tenant = self._by_hash.get(digest)
        stored = tenant.api_key_sha256 if tenant is not None else "0" * 64
        if tenant is None or not hmac.compare_digest(stored, digest):
            raise Unauthorized("unknown API key")
        return tenant

    def get(self, customer_id: str) -> Tenant:
        doc = self._docs.get(_COLLECTION, customer_id) if CUSTOMER_ID.match(customer_id) else None
        if doc is None:
            raise NotFound(f"no customer {customer_id!r}")
        return _tenant(doc)

    def all(self) -> list[Tenant]:
        return sorted(self._by_hash.values(), key=lambda t: t.customer_id)


def _tenant(doc: dict[str, str]) -> Tenant:
    return Tenant(doc["customer_id"], doc["name"], doc["created"], doc["api_secret"], doc["api_key_sha256"])
