"""The one class → status table of tai_graph.api.problems covers the whole error tree."""

from __future__ import annotations

import inspect

import pytest

from tai_graph import errors
from tai_graph.api.problems import PROBLEM_BASE, STATUS, from_error, status_for

EXPECTED = {
    errors.InvalidInput: 400,
    errors.ValidationFailed: 422,
    errors.InvalidQuery: 400,
    errors.ForbiddenQuery: 400,
    errors.NotAcceptable: 406,
    errors.InvalidPeriod: 400,
    errors.InvalidSettings: 400,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.TooLarge: 413,
    errors.QueryTimeout: 504,
    errors.Unavailable: 503,
    errors.LedgerError: 500,
    errors.TaiGraphError: 500,
}

ALL = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.TaiGraphError)]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_error_class_has_a_status_and_a_problem_type(cls: type[errors.TaiGraphError]) -> None:
    exc = cls("something went wrong")
    status = status_for(exc)
    assert 400 <= status <= 599
    if cls in EXPECTED:
        assert status == EXPECTED[cls]
    resp = from_error(exc, "/x")
    assert resp.status_code == status
    assert resp.media_type == "application/problem+json"
    assert f'"type":"{PROBLEM_BASE}{cls.code}"'.encode() in resp.body


def test_a_new_subclass_inherits_its_parents_status() -> None:
    class Stale(errors.Conflict):
        code = "stale"

    assert status_for(Stale("x")) == 409
    assert Stale not in STATUS


def test_status_headers() -> None:
    assert from_error(errors.Unauthorized("no"), None).headers["www-authenticate"].startswith("Bearer")
    assert from_error(errors.Unavailable("busy"), None).headers["retry-after"].isdigit()
    assert "retry-after" not in from_error(errors.QueryTimeout("slow"), None).headers


def test_violations_become_errors() -> None:
    from decimal import Decimal

    from tai_graph.model import Violation

    v = Violation("E1", "data.amount", "sh:minInclusive", "must be >= 0", Decimal("-1.50"), 3)
    resp = from_error(errors.ValidationFailed("bad", details={"violations": [v]}), "/v1/events")
    assert b'"errors":[{"event_id":"E1","field":"data.amount","rule":"sh:minInclusive"' in resp.body
    assert b'"value":"-1.50"' in resp.body and b'"index":3' in resp.body
