"""The write path: dedupe, conflicts, atomic batches, rollups, and failures that write nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tai_graph import mapping
from tai_graph.config import Settings
from tai_graph.engine import Engine
from tai_graph.ledger import verify_receipts
from tai_graph.store import QueryScope

T = mapping.TAI


def order(
    i: int, amount: str = "10.00", day: str = "2026-01-19", status: str = "fulfilled"
) -> dict[str, Any]:
    return {
        "event_id": f"o{i}",
        "timestamp": f"{day}T10:00:00Z",
        "transaction_type": "order",
        "data": {"order_id": f"O{i}", "channel": "amazon", "amount": amount, "status": status},
    }


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    e = Engine(Settings(data_dir=tmp_path / "data"))
    e.create_tenant("acme")
    return e


def count(engine: Engine, where: str) -> int:
    rows = engine.store.select(
        f"PREFIX tai: <{T}> SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}", engine.scope("acme")
    )
    return int(rows[0]["n"].value)


def test_duplicates_and_conflicts_within_and_across_batches(engine: Engine) -> None:
    first = engine.ingest(
        "acme", [order(1), order(2), order(1), {**order(2), "data": {**order(2)["data"], "amount": "9"}}]
    )
    assert [o.status for o in first.outcomes] == ["created", "created", "duplicate", "conflict"]
    assert first.outcomes[2].receipt is first.outcomes[0].receipt
    again = engine.ingest("acme", [order(1), order(3, amount="11")])
    assert [o.status for o in again.outcomes] == ["duplicate", "created"]
    assert again.outcomes[0].receipt is not None and first.outcomes[0].receipt is not None
    assert again.outcomes[0].receipt.body == first.outcomes[0].receipt.body
    conflict = engine.ingest("acme", [order(3, amount="12")])
    assert conflict.outcomes[0].status == "conflict"
    assert count(engine, "?e a tai:Order") == 3
    assert engine.ingestor.head("acme").sequence == 3


def test_atomic_batch_writes_nothing_when_one_item_fails(engine: Engine) -> None:
    bad = {**order(2), "data": {**order(2)["data"], "amount": "-1"}}
    result = engine.ingest("acme", [order(1), bad], atomic=True)
    assert [o.status for o in result.outcomes] == ["rejected", "invalid"]
    assert result.outcomes[1].violations[0].field == "data.amount"
    assert count(engine, "?s ?p ?o") == 0
    assert engine.ingestor.head("acme").sequence == 0


@pytest.mark.parametrize("cache", [50_000, 1], ids=["cached", "read-back"])
def test_rollups_equal_the_raw_events(engine: Engine, cache: int) -> None:
    engine.ingestor.cell_cache_size = cache  # 1: the second batch reads its cells back from the store
    events = [
        order(
            i,
            amount=f"{i}.25",
            day=f"2026-01-{10 + i % 3:02d}",
            status="stockout" if i % 4 == 0 else "fulfilled",
        )
        for i in range(40)
    ]
    for i, e in enumerate(events):  # two hours a day
        e["timestamp"] = e["timestamp"].replace("T10:", f"T{10 + i % 2}:")
    engine.ingest("acme", events[:25])
    engine.ingest("acme", events[25:])  # second batch updates existing cells
    scope = engine.scope("acme")

    def norm(rows: list[Any]) -> set[tuple[str, str, int, Decimal]]:
        return {(r["k"].value, r["status"].value, int(r["n"].value), Decimal(r["sum"].value)) for r in rows}

    cells = {"MonthlyRollup": 2, "DailyRollup": 6, "HourlyRollup": 9}  # stockouts (even i) all fall at 10:00
    for width, kind, time_pred in (
        (7, "MonthlyRollup", "month"),
        (10, "DailyRollup", "day"),
        (13, "HourlyRollup", "hour"),
    ):
        raw = engine.store.select(
            f"PREFIX tai: <{T}> SELECT ?k ?status (COUNT(*) AS ?n) (SUM(?a) AS ?sum) WHERE "
            "{ ?e a tai:Order ; tai:timestamp ?ts ; tai:status ?status ; tai:amount ?a "
            f"BIND(CONCAT('order ', SUBSTR(STR(?ts), 1, {width})) AS ?k) }} GROUP BY ?k ?status",
            scope,
        )
        cube = engine.store.select(
            f"PREFIX tai: <{T}> SELECT ?k ?status ?n ?sum ?when WHERE {{ ?r a tai:{kind} ; "
            f"tai:eventType tai:Order ; tai:slice ?k ; tai:{time_pred} ?when ; tai:status ?status ; "
            "tai:count ?n ; tai:amountSum ?sum }",
            scope,
        )
        assert norm(raw) == norm(cube)
        assert len(cube) == cells[kind]
        for row in cube:  # the time dimension agrees with the key
            assert row["k"].value[6:] == row["when"].value[:width]
    assert len(engine.ingestor._cells) <= cache  # the cache stays bounded


class FlakyStore:
    """Wraps a store; the next update is applied and then reported as failed (outcome unknown)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fail_next = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update(self, text: str) -> None:
        self.inner.update(text)
        if self.fail_next:
            self.fail_next = False
            raise OSError("connection lost after the server applied the update")


def test_an_update_of_unknown_outcome_does_not_fork_the_chain(engine: Engine) -> None:
    flaky = FlakyStore(engine.store)
    engine.ingestor.store = flaky  # type: ignore[assignment]
    engine.ingest("acme", [order(1)])
    flaky.fail_next = True
    with pytest.raises(OSError):
        engine.ingest("acme", [order(2)])
    result = engine.ingest("acme", [order(2), order(3)])  # the client retries
    assert [o.status for o in result.outcomes] == ["duplicate", "created"]
    receipt = result.outcomes[1].receipt
    assert receipt is not None and receipt.sequence == 3
    bodies = [r.body for s in (1, 2, 3) if (r := engine.receipt_by_sequence("acme", s)) is not None]
    assert verify_receipts(bodies, secret=engine.tenants.get("acme").api_secret).ok
    cells = engine.store.select(
        f"PREFIX tai: <{T}> SELECT ?n WHERE {{ ?r a tai:DailyRollup ; tai:count ?n }}", engine.scope("acme")
    )
    assert [int(c["n"].value) for c in cells] == [3]


def test_customers_do_not_share_chains_or_graphs(engine: Engine) -> None:
    engine.create_tenant("other")
    engine.ingest("acme", [order(1)])
    engine.ingest("other", [order(1, amount="99")])  # same event id, other customer: no conflict
    assert engine.receipt("other", "o1").body["data"]["amount"] == "99"
    assert engine.receipt("acme", "o1").body["data"]["amount"] == "10.00"
    assert engine.ingestor.head("other").sequence == 1
    acme_only = QueryScope((mapping.graph_iri("acme"),))
    rows = engine.store.select(f"PREFIX tai: <{T}> SELECT ?a WHERE {{ ?e tai:amount ?a }}", acme_only)
    # the graph holds the value (Oxigraph writes decimals canonically); the receipt keeps the text sent
    assert [Decimal(r["a"].value) for r in rows] == [Decimal("10.00")]
