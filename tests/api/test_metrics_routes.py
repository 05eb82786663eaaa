"""The metrics routes through a real server: the plan's worked examples to the cent, period edges,
baseline immutability and tampering, provenance, tenant isolation, bad input, and the reports."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal, localcontext
from typing import Any

import httpx
import pytest

from tai_graph.periods import decimal_context
from tai_graph.value import METRICS

from .support import ADMIN_KEY, LiveServer, Tenant, assert_problem, new_tenant, post_json

D = Decimal
BASELINE = ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
EMPTY_MONTH = ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
ONE_MONTH = ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
TEN_MONTHS = ("2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z")
ENGAGEMENT = {
    "currency": "USD",
    "cost_per_hour": "60",
    "cost_per_error": "100",
    "cost_per_violation": "5000",
    "annual_contract_value": 50000,
}


# -- the plan's dataset ---------------------------------------------------------------------------


def event(event_id: str, timestamp: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"event_id": event_id, "timestamp": timestamp, "transaction_type": kind, "data": data}


def month_events(
    year: int,
    month: int,
    *,
    work_hours: int,
    report_hours: int,
    stockout: str,
    fulfilled: list[str],
    errors: int,
    violations: int,
) -> list[dict[str, Any]]:
    """One calendar month of events: ``work_hours`` in 24 h work logs, ``report_hours`` in 4 h
    manual reports, one stockout order plus fulfilled orders, order errors and violations."""
    tag = f"{year}{month:02d}"

    def at(day: int, hour: int = 10) -> str:
        return f"{year}-{month:02d}-{day:02d}T{hour:02d}:00:00Z"

    out = [
        event(f"{tag}-W{i}", at(2 + i), "work_log", activity="sku_reconciliation", hours="24")
        for i in range(work_hours // 24)
    ]
    out += [
        event(f"{tag}-R{i}", at(3 + i, 15), "manual_report", report_name="weekly_ops", hours="4")
        for i in range(report_hours // 4)
    ]
    amounts = [(stockout, "stockout"), *((a, "fulfilled") for a in fulfilled)]
    out += [
        event(f"{tag}-O{i}", at(1 + i, 9), "order", order_id=f"{tag}-{i}", channel="web", amount=a, status=s)
        for i, (a, s) in enumerate(amounts)
    ]
    out += [
        event(f"{tag}-X{i}", at(20 + i, 11), "order_error", order_id=f"{tag}-{i}", error_type="wrong_sku")
        for i in range(errors)
    ]
    out += [
        event(f"{tag}-V{i}", at(25 + i, 12), "compliance_violation", violation_type="audit", severity="high")
        for i in range(violations)
    ]
    return out


def plan_events() -> list[dict[str, Any]]:
    """Baseline January 2026: 120 manual hours, 40 report hours, GMV 500,000 with 17,500 (3.5 %)
    in stockouts, 2 errors in 20 orders, 2 violations. Every month from March to December 2026:
    24 hours, 8 report hours, GMV 500,000 with 2,500 (0.5 %) in stockouts, 1 error in 20 orders;
    one violation in the ten months (July)."""
    events = month_events(
        2026,
        1,
        work_hours=120,
        report_hours=40,
        stockout="17500.00",
        fulfilled=["25000"] * 18 + ["32500"],
        errors=2,
        violations=2,
    )
    for month in range(3, 13):
        events += month_events(
            2026,
            month,
            work_hours=24,
            report_hours=8,
            stockout="2500",
            fulfilled=["26000"] * 18 + ["29500"],
            errors=1,
            violations=1 if month == 7 else 0,
        )
    return events


@pytest.fixture(scope="module")
def plan(server: LiveServer) -> Iterator[tuple[Tenant, str]]:
    """A customer with the plan's dataset, its engagement and a baseline frozen for January."""
    t = new_tenant(server, "plan")
    ingest(t.client, plan_events())
    assert t.client.put("/v1/engagement", json=ENGAGEMENT).status_code == 200
    frozen = t.client.post("/v1/baselines", json={"from": BASELINE[0], "to": BASELINE[1]})
    assert frozen.status_code == 201, frozen.text
    yield t, frozen.json()["id"]
    t.client.close()


def value_of(t: Tenant, baseline_id: str, period: tuple[str, str]) -> dict[str, Any]:
    resp = t.client.get("/v1/value", params={"baseline": baseline_id, "from": period[0], "to": period[1]})
    assert resp.status_code == 200, resp.text
    doc: dict[str, Any] = resp.json()
    return doc


def money(doc: dict[str, Any], metric: str) -> tuple[Decimal, Decimal]:
    m = doc["value_metrics"][metric]
    return D(m["monthly"]), D(m["annual"])


# -- value: the worked examples to the cent -------------------------------------------------------


def test_one_month_value_matches_the_plan(plan: tuple[Tenant, str]) -> None:
    t, baseline_id = plan
    doc = value_of(t, baseline_id, ONE_MONTH)
    assert set(doc) >= {
        "baseline",
        "current",
        "value_metrics",
        "gross_annual_benefit",
        "annual_contract_value",
        "net_annual_benefit",
        "roi",
        "payback_months",
        "provenance",
    }
    assert doc["baseline"] == {
        "id": baseline_id,
        "from": BASELINE[0],
        "to": BASELINE[1],
        "frozen_at": doc["baseline"]["frozen_at"],
    }
    assert doc["current"] == {"from": ONE_MONTH[0], "to": ONE_MONTH[1]}
    assert list(doc["value_metrics"]) == list(METRICS)
    eff = doc["value_metrics"]["operational_efficiency"]
    assert (D(eff["baseline"]), D(eff["current"]), eff["source"]) == (D(120), D(24), "measured")
    assert money(doc, "operational_efficiency") == (D("5760"), D("69120"))
    rev = doc["value_metrics"]["revenue_protection"]
    assert (D(rev["baseline"]), D(rev["current"])) == (D("0.035"), D("0.005"))
    assert money(doc, "revenue_protection") == (D("15000"), D("180000"))
    err = doc["value_metrics"]["error_reduction"]
    assert (D(err["baseline"]), D(err["current"])) == (D("0.1"), D("0.05"))
    assert money(doc, "error_reduction") == (D("100"), D("1200"))  # (0.1 - 0.05) * 20 orders * $100
    assert money(doc, "compliance_reduction") == (D("10000"), D("120000"))  # (2 - 0) * $5,000
    assert money(doc, "operational_overhead") == (D("1920"), D("23040"))  # (40 - 8) h * $60
    gross = D("69120") + D("180000") + D("1200") + D("120000") + D("23040")
    assert D(doc["gross_annual_benefit"]) == gross == D("393360")
    assert D(doc["net_annual_benefit"]) == gross - 50000
    assert D(doc["roi"]) == D("6.8672")
    with localcontext(decimal_context()):
        assert D(doc["payback_months"]) == D(50000) / (gross / 12)
    assert D(doc["annual_contract_value"]) == D(50000)
    assert doc["engagement"]["cost_per_hour"] == "60"


def test_ten_month_value_gives_the_compliance_example(plan: tuple[Tenant, str]) -> None:
    t, baseline_id = plan
    doc = value_of(t, baseline_id, TEN_MONTHS)
    comp = doc["value_metrics"]["compliance_reduction"]
    assert (D(comp["baseline"]), D(comp["current"])) == (D(2), D("0.1"))
    assert money(doc, "compliance_reduction") == (D("9500"), D("114000"))
    # every other metric is spread evenly, so its per-month figures equal the one-month period's
    assert money(doc, "operational_efficiency") == (D("5760"), D("69120"))
    assert money(doc, "revenue_protection") == (D("15000"), D("180000"))
    assert money(doc, "error_reduction") == (D("100"), D("1200"))
    gross = D("387360")
    assert D(doc["gross_annual_benefit"]) == gross
    assert D(doc["net_annual_benefit"]) == D("337360")
    assert D(doc["roi"]) == D("6.7472")
    with localcontext(decimal_context()):
        assert D(doc["payback_months"]) == D(50000) * 12 / gross
    assert D(doc["payback_months"]).quantize(D("0.01")) == D("1.55")


def test_an_attested_figure_stands_in_for_a_baseline_without_events(plan: tuple[Tenant, str]) -> None:
    t, _ = plan
    resp = t.client.post(
        "/v1/baselines",
        json={"from": EMPTY_MONTH[0], "to": EMPTY_MONTH[1], "attested": {"violations_per_month": "2"}},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["attested"] == {"violations_per_month": "2"}
    doc = value_of(t, resp.json()["id"], TEN_MONTHS)
    comp = doc["value_metrics"]["compliance_reduction"]
    assert comp["source"] == "attested"
    assert money(doc, "compliance_reduction") == (D("9500"), D("114000"))
    assert doc["value_metrics"]["operational_efficiency"]["source"] == "measured"
    assert any("attested figure 2" in note for note in doc["notes"])


def test_payback_is_never_without_benefit(tenant: Tenant) -> None:
    assert tenant.client.put("/v1/engagement", json=ENGAGEMENT).status_code == 200
    frozen = tenant.client.post("/v1/baselines", json={"from": BASELINE[0], "to": BASELINE[1]}).json()
    doc = value_of(tenant, frozen["id"], ONE_MONTH)
    assert doc["payback_months"] is None
    assert D(doc["roi"]) == D(-1)
    assert (
        "never"
        in tenant.client.get(
            "/v1/reports/value", params={"baseline": frozen["id"], "from": ONE_MONTH[0], "to": ONE_MONTH[1]}
        ).text
    )


# -- queries, KPIs, alerts, reconciliation --------------------------------------------------------


def test_query_list_describes_every_query(plan: tuple[Tenant, str]) -> None:
    t, _ = plan
    queries = t.client.get("/v1/queries").json()["queries"]
    names = {q["name"] for q in queries}
    assert names >= {"manual_hours", "orders", "error_rate", "stockout_miss_rate", "receipt_coverage"}
    orders = next(q for q in queries if q["name"] == "orders")
    assert set(orders) >= {"title", "description", "unit", "value", "columns", "parameters", "frequency"}
    assert orders["alert"] == "value < 1" and len(orders["text_sha256"]) == 64
    channel = next(p for p in orders["parameters"] if p["name"] == "channel")
    assert channel == {**channel, "type": "string", "required": False, "default": ""}


def test_run_a_query_as_json_and_csv(plan: tuple[Tenant, str]) -> None:
    t, _ = plan
    params = {"from": BASELINE[0], "to": BASELINE[1]}
    doc = t.client.get("/v1/queries/orders", params=params).json()
    assert doc["period"] == {"from": BASELINE[0], "to": BASELINE[1]}
    assert (D(doc["rows"][0]["value"]), D(doc["rows"][0]["gmv"])) == (D(20), D(500000))
    assert doc["parameters"] == {"from": BASELINE[0], "to": BASELINE[1], "channel": ""}
    assert D(t.client.get("/v1/queries/orders", params={**params, "channel": "store"}).json()["value"]) == 0
    for resp in (
        t.client.get("/v1/queries/orders", params=params, headers={"Accept": "text/csv"}),
        t.client.get("/v1/queries/orders", params={**params, "format": "csv"}),
    ):
        assert resp.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(resp.text)))
        assert rows[0] == ["value", "gmv"]
        assert [D(c) for c in rows[1]] == [D(20), D(500000)] and len(rows) == 2


def _number_or_text(text: str) -> Decimal | str:
    try:
        return D(text)
    except ArithmeticError:
        return text


@pytest.mark.parametrize(
    "period",
    [ONE_MONTH, ("2026-03-01T00:00:00-05:00", "2026-03-31T12:30:00+02:00")],
    ids=["utc-month", "offsets-and-a-cut-hour"],
)
def test_the_bound_text_reproduces_every_figure_on_the_sparql_endpoint(
    plan: tuple[Tenant, str], period: tuple[str, str]
) -> None:
    t, _ = plan
    for q in t.client.get("/v1/queries").json()["queries"]:
        params = {"from": period[0], "to": period[1]}
        bound = t.client.get(f"/v1/queries/{q['name']}/text", params=params)
        assert bound.status_code == 200 and bound.headers["tai-query-text-sha256"] == q["text_sha256"]
        assert bound.headers["etag"] == f'"{hashlib.sha256(bound.content).hexdigest()}"'
        assert 'VALUES ?slice { "' in bound.text and "?from" not in bound.text.split("PREFIX", 1)[1]
        answer = t.client.get(f"/v1/queries/{q['name']}", params=params).json()
        sparql = t.client.post(
            "/v1/sparql",
            content=bound.content,
            headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        ).json()
        again = [
            {k: _number_or_text(v["value"]) for k, v in b.items()} for b in sparql["results"]["bindings"]
        ]
        want = [{k: _number_or_text(v) for k, v in row.items() if v is not None} for row in answer["rows"]]
        assert again == want, q["name"]
    with_param = t.client.get(
        "/v1/queries/orders/text", params={"from": ONE_MONTH[0], "to": ONE_MONTH[1], "channel": "x"}
    )
    assert '"x"' in with_param.text
    bad = t.client.get(
        "/v1/queries/orders/text", params={"from": ONE_MONTH[0], "to": ONE_MONTH[1], "nope": "1"}
    )
    assert_problem(bad, 400, "invalid-input")


def test_kpis_as_json_and_csv_with_alerts(plan: tuple[Tenant, str]) -> None:
    t, _ = plan
    params = {"from": BASELINE[0], "to": BASELINE[1]}
    doc = t.client.get("/v1/kpis", params=params).json()
    assert doc["period"] == {"from": BASELINE[0], "to": BASELINE[1]} and D(doc["months"]) == 1
    assert D(doc["kpis"]["manual_hours"]["value"]) == 120
    assert D(doc["kpis"]["error_rate"]["value"]) == D("0.1")
    fired = {a["query"] for a in doc["alerts"]}
    assert fired == {"error_rate", "stockout_miss_rate", "compliance_violations", "fulfillment_accuracy"}
    assert t.client.get("/v1/alerts", params=params).json() == {
        "period": {"from": BASELINE[0], "to": BASELINE[1]},
        "alerts": doc["alerts"],
    }
    rows = list(
        csv.DictReader(io.StringIO(t.client.get("/v1/kpis", params={**params, "format": "csv"}).text))
    )
    assert list(rows[0]) == ["name", "title", "unit", "value", "text_sha256"]
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == set(doc["kpis"])
    assert D(by_name["manual_hours"]["value"]) == 120 and by_name["manual_hours"]["unit"] == "hours"
    assert by_name["error_rate"]["text_sha256"] == doc["kpis"]["error_rate"]["text_sha256"]


def test_reconciliation_lists_the_figures_beyond_tolerance(plan: tuple[Tenant, str]) -> None:
    t, _ = plan
    body = {
        "from": BASELINE[0],
        "to": BASELINE[1],
        "manual": {"manual_hours": 121, "error_rate": "0.08", "orders": 0},
        "tolerance": "0.01",
    }
    resp = t.client.post("/v1/reconciliation", json=body)
    assert resp.status_code == 200, resp.text
    diffs = {d["name"]: d for d in resp.json()["differences"]}
    assert set(diffs) == {"error_rate", "orders"}  # 120 vs 121 is within 1 %
    assert (D(diffs["error_rate"]["absolute"]), D(diffs["error_rate"]["relative"])) == (D("0.02"), D("0.25"))
    assert D(diffs["orders"]["engine"]) == 20 and diffs["orders"]["relative"] is None
    loose = t.client.post("/v1/reconciliation", json={**body, "tolerance": 0.3}).json()
    assert {d["name"] for d in loose["differences"]} == {"orders"}


# -- period edges ---------------------------------------------------------------------------------


def test_period_edges_are_half_open_and_offsets_convert_to_utc(tenant: Tenant) -> None:
    def order(event_id: str, ts: str) -> dict[str, Any]:
        return event(event_id, ts, "order", order_id=event_id, channel="web", amount="10", status="fulfilled")

    events = [
        order("before", "2026-01-01T04:59:59.999999Z"),  # just before 2026-01-01T00:00:00-05:00
        order("at-from", "2026-01-01T05:00:00Z"),  # exactly at from: counts
        order("middle", "2026-01-15T12:00:00+01:00"),
        order("last", "2026-01-31T22:59:59.999999Z"),  # just before to
        order("at-to", "2026-01-31T23:00:00Z"),  # exactly at 2026-02-01T00:00:00+01:00: excluded
    ]
    ingest(tenant.client, events)
    params = {"from": "2026-01-01T00:00:00-05:00", "to": "2026-02-01T00:00:00+01:00"}
    doc = tenant.client.get("/v1/queries/orders", params=params).json()
    assert doc["period"] == {"from": "2026-01-01T05:00:00Z", "to": "2026-01-31T23:00:00Z"}
    assert D(doc["value"]) == 3 and D(doc["rows"][0]["gmv"]) == 30
    kpis = tenant.client.get("/v1/kpis", params=params).json()
    assert D(kpis["kpis"]["orders"]["value"]) == 3
    assert (
        D(
            tenant.client.get("/v1/kpis", params={"from": "2026-01-31T23:00:00Z", "to": "2026-02-01"}).json()[
                "kpis"
            ]["orders"]["value"]
        )
        == 1
    )
    # a literal '+' in a query string is a space: the offset must be URL-encoded (%2B)
    raw = tenant.client.get("/v1/kpis?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00+01:00")
    assert_problem(raw, 400, "invalid-period", field="to", rule="rfc3339")
    encoded = tenant.client.get("/v1/kpis?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00%2B01:00")
    assert encoded.status_code == 200


# -- baselines: immutable, signed -----------------------------------------------------------------


def _work(event_id: str, ts: str) -> dict[str, Any]:
    return event(event_id, ts, "work_log", activity="error_investigation", hours="24")


def ingest(client: httpx.Client, events: list[dict[str, Any]]) -> None:
    resp = post_json(client, events)
    assert resp.json()["summary"]["created"] == len(events), resp.text


def test_a_frozen_baseline_never_changes(tenant: Tenant) -> None:
    c = tenant.client
    ingest(c, [_work("W1", "2026-01-10T10:00:00Z")])
    assert c.put("/v1/engagement", json=ENGAGEMENT).status_code == 200
    resp = c.post("/v1/baselines", json={"from": "2026-01-01", "to": "2026-02-01"})
    assert resp.status_code == 201
    frozen = resp.json()
    assert resp.headers["location"] == f"/v1/baselines/{frozen['id']}"
    assert c.get(resp.headers["location"]).json() == frozen
    assert frozen["id"] in c.get("/v1/baselines").json()["baselines"]
    assert frozen["ledger_head"]["head_sequence"] == 1 and frozen["key_id"]
    # late events for the baseline period arrive after the freeze
    ingest(c, [_work("W2", "2026-01-20T10:00:00Z"), _work("W3", "2026-01-31T23:59:59Z")])
    assert (
        D(
            c.get("/v1/kpis", params={"from": "2026-01-01", "to": "2026-02-01"}).json()["kpis"][
                "manual_hours"
            ]["value"]
        )
        == 72
    )
    assert c.get(f"/v1/baselines/{frozen['id']}").json() == frozen
    doc = value_of(tenant, frozen["id"], ONE_MONTH)
    assert D(doc["value_metrics"]["operational_efficiency"]["baseline"]) == 24  # the frozen figure
    refrozen = c.post("/v1/baselines", json={"from": "2026-01-01", "to": "2026-02-01"}).json()
    assert refrozen["id"] != frozen["id"] and D(refrozen["figures"]["manual_hours"]) == 72


def test_a_tampered_baseline_is_a_clear_problem(tenant: Tenant, server: LiveServer) -> None:
    c = tenant.client
    ingest(c, [_work("W1", "2026-01-10T10:00:00Z")])
    assert c.put("/v1/engagement", json=ENGAGEMENT).status_code == 200
    frozen = c.post("/v1/baselines", json={"from": "2026-01-01", "to": "2026-02-01"}).json()
    path = server.data_dir / "docs" / "baselines" / tenant.customer_id / f"{frozen['id']}.json"
    doc = json.loads(path.read_text())
    doc["figures"]["manual_hours"] = "240"
    path.write_text(json.dumps(doc))
    for resp in (
        c.get(f"/v1/baselines/{frozen['id']}"),
        c.get("/v1/value", params={"baseline": frozen["id"], "from": ONE_MONTH[0], "to": ONE_MONTH[1]}),
        c.get("/v1/reports/baseline", params={"baseline": frozen["id"], "format": "pdf"}),
    ):
        problem = assert_problem(resp, 500, "ledger-error")
        assert "fails its signature check" in problem["detail"] and frozen["id"] in problem["detail"]


# -- provenance -----------------------------------------------------------------------------------


def test_every_figure_traces_to_a_query_text(plan: tuple[Tenant, str]) -> None:
    t, baseline_id = plan
    texts: dict[str, str] = {}
    for q in t.client.get("/v1/queries").json()["queries"]:
        resp = t.client.get(f"/v1/queries/{q['name']}/text")
        assert resp.headers["content-type"].startswith("application/sparql-query")
        assert resp.text.startswith(f"# name: {q['name']}\n")
        texts[q["name"]] = hashlib.sha256(resp.content).hexdigest()
        assert texts[q["name"]] == q["text_sha256"] and resp.headers["etag"] == f'"{q["text_sha256"]}"'
    kpis = t.client.get("/v1/kpis", params={"from": ONE_MONTH[0], "to": ONE_MONTH[1]}).json()["kpis"]
    assert set(kpis) == set(texts)
    for name, k in kpis.items():
        assert k["name"] == name and k["text_sha256"] == texts[name]
    doc = value_of(t, baseline_id, ONE_MONTH)
    for side in ("baseline", "current"):
        assert set(doc["provenance"][side]) == {
            "manual_hours",
            "manual_report_hours",
            "orders",
            "gmv",
            "order_errors",
            "violations",
            "stockout_amount",
        }
        for figure in doc["provenance"][side].values():
            assert figure["text_sha256"] == texts[figure["query"]]
    assert doc["provenance"]["current"]["manual_hours"]["parameters"]["from"] == ONE_MONTH[0]
    assert doc["provenance"]["baseline"]["manual_hours"]["parameters"]["to"] == BASELINE[1]


# -- tenant isolation -----------------------------------------------------------------------------


def test_no_route_reaches_another_customer(plan: tuple[Tenant, str], other: Tenant) -> None:
    victim, baseline_id = plan
    o = other.client
    period = {"from": BASELINE[0], "to": BASELINE[1]}
    assert o.get("/v1/baselines").json() == {"baselines": []}
    assert_problem(o.get("/v1/engagement"), 404, "not-found")
    assert o.put("/v1/engagement", json={**ENGAGEMENT, "cost_per_hour": "1"}).status_code == 200
    for path, params in (
        (f"/v1/baselines/{baseline_id}", {}),
        ("/v1/value", {"baseline": baseline_id, **period}),
        ("/v1/reports/baseline", {"baseline": baseline_id}),
        ("/v1/reports/value", {"baseline": baseline_id, **period}),
    ):
        resp = o.get(path, params=params)
        assert_problem(resp, 404, "not-found")
        assert victim.customer_id not in resp.text
    kpis = o.get("/v1/kpis", params=period).json()["kpis"]
    assert D(kpis["orders"]["value"]) == 0 and D(kpis["manual_hours"]["value"]) == 0
    assert D(o.get("/v1/queries/orders", params=period).json()["value"]) == 0
    assert {a["query"] for a in o.get("/v1/alerts", params=period).json()["alerts"]} == {"orders"}
    diffs = o.post("/v1/reconciliation", json={**period, "manual": {"orders": 20}}).json()["differences"]
    assert D(diffs[0]["engine"]) == 0
    own = o.post("/v1/baselines", json=period).json()
    assert own["figures"]["orders"] == 0 and own["customer_id"] == other.customer_id
    assert victim.client.get("/v1/engagement").json()["cost_per_hour"] == "60"
    assert own["id"] not in victim.client.get("/v1/baselines").json()["baselines"]
    assert victim.client.get(f"/v1/baselines/{baseline_id}").json()["figures"]["orders"] == 20


ROUTES = (
    ("GET", "/v1/queries"),
    ("GET", "/v1/queries/orders?from=2026-01-01&to=2026-02-01"),
    ("GET", "/v1/queries/orders/text"),
    ("GET", "/v1/kpis?from=2026-01-01&to=2026-02-01"),
    ("GET", "/v1/alerts?from=2026-01-01&to=2026-02-01"),
    ("GET", "/v1/engagement"),
    ("PUT", "/v1/engagement"),
    ("GET", "/v1/baselines"),
    ("POST", "/v1/baselines"),
    ("GET", "/v1/baselines/bl_x"),
    ("GET", "/v1/value?baseline=bl_x&from=2026-01-01&to=2026-02-01"),
    ("POST", "/v1/reconciliation"),
    ("GET", "/v1/reports/baseline?baseline=bl_x"),
    ("GET", "/v1/reports/value?baseline=bl_x&from=2026-01-01&to=2026-02-01"),
)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_customer_key(anon: httpx.Client, method: str, path: str) -> None:
    assert_problem(anon.request(method, path, json={}), 401, "unauthorized")
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert_problem(anon.request(method, path, json={}, headers=admin), 403, "forbidden")
    wrong = {"Authorization": "Bearer not-a-key"}
    assert_problem(anon.request(method, path, json={}, headers=wrong), 401, "unauthorized")


# -- bad input ------------------------------------------------------------------------------------

JAN = {"from": "2026-01-01", "to": "2026-02-01"}
KPIS, ORDERS, BASELINES, RECONCILE = "/v1/kpis", "/v1/queries/orders", "/v1/baselines", "/v1/reconciliation"


def expect(resp: httpx.Response, expected: str) -> None:
    """``expected`` is "status code field rule"; ``-`` means "not checked"."""
    status, code, field, rule = expected.split(" ")
    checked = {"field": None if field == "-" else field, "rule": None if rule == "-" else rule}
    assert_problem(resp, int(status), code, **checked)


BAD_GETS: dict[str, tuple[str, dict[str, str], str]] = {
    "missing from": (KPIS, {"to": "2026-02-01"}, "400 invalid-input from required"),
    "missing to": ("/v1/alerts", {"from": "2026-01-01"}, "400 invalid-input to required"),
    "from after to": (KPIS, {"from": "2026-02-01", "to": "2026-01-01"}, "400 invalid-period from -"),
    "empty period": (ORDERS, {"from": "2026-01-01", "to": "2026-01-01"}, "400 invalid-period from -"),
    "naive from": (KPIS, {**JAN, "from": "2026-01-01T00:00:00"}, "400 invalid-period from zone-required"),
    "naive to": (ORDERS, {**JAN, "to": "2026-02-01T00:00:00"}, "400 invalid-period to zone-required"),
    "garbage date": (KPIS, {**JAN, "from": "yesterday"}, "400 invalid-period from rfc3339"),
    "unknown query": ("/v1/queries/nope", JAN, "404 not-found - -"),
    "unknown query text": ("/v1/queries/nope/text", {}, "404 not-found - -"),
    "unknown parameter": (ORDERS, {**JAN, "colour": "red"}, "400 invalid-input colour unknown-parameter"),
    "unknown route parameter": (
        KPIS,
        {**JAN, "colour": "red"},
        "400 invalid-input colour tai:queryParameter",
    ),
    "unknown format": (KPIS, {**JAN, "format": "xml"}, "406 not-acceptable format format"),
    "unknown report format": (
        "/v1/reports/baseline",
        {"baseline": "bl_x", "format": "docx"},
        "406 not-acceptable format format",
    ),
    "unknown baseline": ("/v1/baselines/bl_nope", {}, "404 not-found - -"),
    "unknown baseline for value": ("/v1/value", {"baseline": "bl_nope", **JAN}, "404 not-found - -"),
    "missing baseline for value": ("/v1/value", JAN, "400 invalid-input baseline required"),
    "missing baseline for report": ("/v1/reports/baseline", {}, "400 invalid-input baseline required"),
    "unsafe baseline id": ("/v1/baselines/..%2F..%2Fetc", {}, "404 not-found - -"),
}


@pytest.mark.parametrize("case", list(BAD_GETS))
def test_bad_query_strings_are_clear_problems(tenant: Tenant, case: str) -> None:
    path, params, expected = BAD_GETS[case]
    expect(tenant.client.get(path, params=params), expected)


def test_repeated_parameters_and_unacceptable_accept(tenant: Tenant) -> None:
    resp = tenant.client.get("/v1/queries/orders?from=2026-01-01&from=2026-01-02&to=2026-02-01")
    expect(resp, "400 invalid-input from tai:queryParameter")
    resp = tenant.client.get("/v1/kpis", params=JAN, headers={"Accept": "application/xml"})
    expect(resp, "406 not-acceptable Accept format")


def _engagement(**changes: Any) -> dict[str, Any]:
    return {**ENGAGEMENT, **changes}


ENG = "/v1/engagement"
SETTINGS, INPUT, PERIOD = "invalid-settings", "invalid-input", "invalid-period"
BAD_BODIES: dict[str, tuple[str, Any, str, str]] = {
    "engagement unknown field": (ENG, _engagement(colour="red"), SETTINGS, "colour unknown-field"),
    "engagement missing field": (ENG, {"currency": "USD"}, SETTINGS, "cost_per_hour required"),
    "engagement negative cost": (ENG, _engagement(cost_per_hour=-60), SETTINGS, "cost_per_hour >="),
    "engagement zero ACV": (ENG, _engagement(annual_contract_value=0), SETTINGS, "annual_contract_value >"),
    "engagement bad currency": (ENG, _engagement(currency="usd"), SETTINGS, "currency iso-4217"),
    "engagement NaN text": (ENG, _engagement(cost_per_error="NaN"), SETTINGS, "cost_per_error number"),
    "engagement not an object": (ENG, [ENGAGEMENT], INPUT, "body tai:json"),
    "baseline unknown field": (BASELINES, {**JAN, "colour": "red"}, INPUT, "colour closed"),
    "baseline missing to": (BASELINES, {"from": "2026-01-01"}, INPUT, "to required"),
    "baseline naive from": (BASELINES, {**JAN, "from": "2026-01-01T00:00:00"}, PERIOD, "from zone-required"),
    "baseline from after to": (BASELINES, {"from": "2026-02-01", "to": "2026-01-01"}, PERIOD, "from from"),
    "attested negative": (
        BASELINES,
        {**JAN, "attested": {"error_rate": -1}},
        INPUT,
        "attested.error_rate >=",
    ),
    "attested unknown": (BASELINES, {**JAN, "attested": {"colour": 1}}, INPUT, "colour unknown-field"),
    "attested not object": (BASELINES, {**JAN, "attested": [1]}, INPUT, "attested type"),
    "reconcile without manual": (RECONCILE, JAN, INPUT, "manual required"),
    "manual not object": (RECONCILE, {**JAN, "manual": [1]}, INPUT, "manual object"),
    "manual not number": (RECONCILE, {**JAN, "manual": {"orders": "many"}}, INPUT, "manual.orders number"),
    "manual unknown KPI": (RECONCILE, {**JAN, "manual": {"nope": 1}}, INPUT, "manual.nope known-kpi"),
    "bad tolerance": (RECONCILE, {**JAN, "manual": {}, "tolerance": "wide"}, INPUT, "tolerance number"),
    "negative tolerance": (RECONCILE, {**JAN, "manual": {}, "tolerance": "-0.1"}, INPUT, "tolerance >="),
    "reconcile unknown field": (RECONCILE, {**JAN, "manual": {}, "x": 1}, INPUT, "x sh:closed"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_bodies_are_clear_problems(tenant: Tenant, case: str) -> None:
    """A 400 problem with its code, whose ``errors`` name the field and (the start of) the rule;
    nothing is stored."""
    path, body, code, expected = BAD_BODIES[case]
    resp = tenant.client.request("PUT" if path == ENG else "POST", path, json=body)
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    field, rule = expected.split(" ")
    assert resp.json()["code"] == code
    errors = [(e["field"], e["rule"]) for e in resp.json()["errors"]]
    assert any(f == field and r.startswith(rule) for f, r in errors), (expected, errors)
    assert tenant.client.get("/v1/baselines").json() == {"baselines": []}
    assert tenant.client.get("/v1/engagement").status_code == 404


def test_malformed_bodies(tenant: Tenant) -> None:
    c = tenant.client
    for path in ("/v1/engagement", "/v1/baselines", "/v1/reconciliation"):
        method = "PUT" if path == "/v1/engagement" else "POST"
        bad_json = c.request(method, path, content=b'{"from": ', headers={"Content-Type": "application/json"})
        assert_problem(bad_json, 400, "invalid-input", field="body", rule="tai:json")
        nan = c.request(method, path, content=b'{"from": NaN}', headers={"Content-Type": "application/json"})
        assert_problem(nan, 400, "invalid-input", field="body", rule="tai:json")
        text = c.request(method, path, content=b"from=x", headers={"Content-Type": "text/plain"})
        assert_problem(text, 415, "unsupported-media-type")
    assert_problem(c.get("/v1/engagement"), 404, "not-found")
    assert c.get("/v1/baselines").json() == {"baselines": []}


def test_engagement_round_trip_keeps_exact_decimals(tenant: Tenant) -> None:
    c = tenant.client
    problem = assert_problem(c.get("/v1/engagement"), 404, "not-found")
    assert "PUT /v1/engagement" in problem["detail"]
    body = b'{"currency": "EUR", "cost_per_hour": 60.10, "cost_per_error": "100", "cost_per_violation": 0.1, "annual_contract_value": 50000}'
    resp = c.put("/v1/engagement", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    stored = resp.json()
    assert stored == {
        "currency": "EUR",
        "cost_per_hour": "60.1",
        "cost_per_error": "100",
        "cost_per_violation": "0.1",
        "annual_contract_value": "50000",
    }
    assert c.get("/v1/engagement").json() == stored


def test_value_needs_engagement_settings(tenant: Tenant) -> None:
    frozen = tenant.client.post("/v1/baselines", json=JAN).json()
    resp = tenant.client.get("/v1/value", params={"baseline": frozen["id"], **JAN})
    assert "engagement" in assert_problem(resp, 404, "not-found")["detail"]


# -- reports --------------------------------------------------------------------------------------


def _report(t: Tenant, path: str, params: dict[str, str], accept: str | None = None) -> httpx.Response:
    resp = t.client.get(path, params=params, headers={"Accept": accept} if accept else {})
    assert resp.status_code == 200, resp.text
    return resp


def test_value_report_in_every_format(plan: tuple[Tenant, str]) -> None:
    t, baseline_id = plan
    params = {"baseline": baseline_id, "from": TEN_MONTHS[0], "to": TEN_MONTHS[1]}
    md = _report(t, "/v1/reports/value", params)  # no Accept: Markdown
    assert md.headers["content-type"].startswith("text/markdown")
    for text in (
        "$387,360.00",
        "$9,500.00",
        "$69,120.00",
        "674.7%",
        "1.55 months",
        baseline_id,
        "Customer sponsor",
    ):
        assert text in md.text, text
    assert t.customer_id in md.text and "docs/methodology.md" in md.text
    html = _report(t, "/v1/reports/value", params, "text/html,application/xhtml+xml,*/*;q=0.8")
    assert html.headers["content-type"].startswith("text/html") and html.text.startswith("<!DOCTYPE html>")
    assert "$387,360.00" in html.text and "Finance lead" in html.text
    table = _report(t, "/v1/reports/value", {**params, "format": "csv"})
    assert table.headers["content-type"].startswith("text/csv")
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(table.text))}
    assert (D(rows["compliance_reduction"]["monthly"]), D(rows["compliance_reduction"]["annual"])) == (
        D("9500"),
        D("114000"),
    )
    assert (
        rows["compliance_reduction"]["baseline"] == "2" and rows["compliance_reduction"]["current"] == "0.1"
    )
    assert D(rows["gross_annual_benefit"]["value"]) == D("387360") and D(rows["roi"]["value"]) == D("6.7472")
    pdf = _report(t, "/v1/reports/value", params, "application/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert f'filename="value-{baseline_id}.pdf"' in pdf.headers["content-disposition"]
    assert b"$387,360.00" in pdf.content or "$387,360.00" in _pdftotext(pdf.content)


def test_baseline_report_in_every_format(plan: tuple[Tenant, str]) -> None:
    t, baseline_id = plan
    params = {"baseline": baseline_id}
    frozen = t.client.get(f"/v1/baselines/{baseline_id}").json()
    md = _report(t, "/v1/reports/baseline", params, "text/markdown")
    for text in (baseline_id, frozen["key_id"], frozen["ledger_head"]["head_hash"], "500,000.00", "120.00"):
        assert text in md.text, text
    assert frozen["kpis"]["manual_hours"]["text_sha256"][:12] in md.text
    html = _report(t, "/v1/reports/baseline", {**params, "format": "html"})
    assert html.text.startswith("<!DOCTYPE html>") and frozen["signature"] in html.text
    rows = list(csv.DictReader(io.StringIO(_report(t, "/v1/reports/baseline", params, "text/csv").text)))
    figures = {r["name"]: r for r in rows if r["kind"] == "figure"}
    assert D(figures["manual_hours"]["value"]) == 120 and D(figures["gmv"]["per_month"]) == 500000
    assert figures["orders"]["text_sha256"] == frozen["kpis"]["orders"]["text_sha256"]
    pdf = _report(t, "/v1/reports/baseline", {**params, "format": "pdf"})
    assert pdf.content.startswith(b"%PDF") and b"500,000.00" in pdf.content


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("*/*", "text/markdown"),
        ("text/csv;q=0.5, text/markdown", "text/markdown"),
        ("text/*;q=0.4, application/pdf;q=0.9", "application/pdf"),
        ("text/html", "text/html"),
        ("text/x-markdown", "text/markdown"),
    ],
)
def test_report_negotiation(plan: tuple[Tenant, str], accept: str, media: str) -> None:
    t, baseline_id = plan
    resp = _report(t, "/v1/reports/baseline", {"baseline": baseline_id}, accept)
    assert resp.headers["content-type"].split(";")[0] == media
    assert resp.headers["vary"] == "Accept"


def test_report_refuses_json(plan: tuple[Tenant, str]) -> None:
    t, baseline_id = plan
    resp = t.client.get(
        "/v1/reports/baseline", params={"baseline": baseline_id}, headers={"Accept": "application/json"}
    )
    assert "text/markdown" in json.dumps(assert_problem(resp, 406, "not-acceptable", field="Accept"))


def _pdftotext(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        return ""
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode("utf-8", "replace")
