"""Who is calling: a customer's Bearer API key, or the operator's admin key.

A customer key resolves to exactly one tenant (:meth:`TenantRegistry.authenticate`); every route
then works on that tenant's data only — no route takes a customer id, so there is nothing to point
at another customer. The admin key reaches ``POST /v1/tenants`` and nothing else; both comparisons
run in constant time.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from tai_graph.engine import Engine
from tai_graph.errors import Forbidden, Unauthorized
from tai_graph.tenants import Tenant


def get_engine(request: Request) -> Engine:
    """The engine the app was built with."""
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>``; :class:`Unauthorized` when there is none."""
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("this route needs an API key: send 'Authorization: Bearer <api_key>'")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer <api_key>'")
    return token


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def is_admin(engine: Engine, token: str) -> bool:
    """Whether ``token`` is the configured admin key (never true when none is configured)."""
    admin = engine.settings.admin_key
    return bool(admin) and _same(token, str(admin))


def require_customer(request: Request, engine: EngineDep) -> Tenant:
    """The tenant owning the request's API key.

    The admin key is refused here (:class:`Forbidden`): it administers, it does not read data.
    """
    token = bearer_token(request)
    if is_admin(engine, token):
        raise Forbidden("the admin key only creates customers (POST /v1/tenants); use a customer key")
    return engine.tenants.authenticate(token)


def require_admin(request: Request, engine: EngineDep) -> None:
    """Pass only with the admin key; a customer's key is :class:`Forbidden`."""
    token = bearer_token(request)
    if not engine.settings.admin_key:
        raise Forbidden("no admin key is configured on this server (set TAI_ADMIN_KEY)")
    if is_admin(engine, token):
        return
    engine.tenants.authenticate(token)  # an unknown key is 401, a customer's key is 403
    raise Forbidden("only the admin key can create customers")


Customer = Annotated[Tenant, Depends(require_customer)]
Admin = Depends(require_admin)

__all__ = [
    "Admin",
    "Customer",
    "EngineDep",
    "bearer_token",
    "get_engine",
    "require_admin",
    "require_customer",
]
