"""The named-query registry: meta-tests over queries/*.rq, header and SPARQL checks, safe binding."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
from query_support import ROOT, DirectEngine, load_types

from tai_graph.errors import InvalidInput, InvalidQuery, NotFound
from tai_graph.periods import parse_period
from tai_graph.queries import (
    PERIOD_VARIABLES,
    SLICE_VARIABLES,
    NamedQuery,
    QueryRegistry,
    bind,
    run,
    substitute,
    to_python,
    variables,
)
from tai_graph.querytext import values_blocks

QUERIES = ROOT / "queries"
RAW = ROOT / "benchmarks" / "raw_queries"
SPEC_NAMES = {
    "manual_hours",
    "manual_reports",
    "orders",
    "error_rate",
    "errors_by_type",
    "compliance_violations",
    "stockout_miss_rate",
    "inventory_accuracy",
    "fulfillment_accuracy",
    "sync_latency",
    "receipt_coverage",
}
REQUIRED_CASES = {
    "period_edges",
    "cut_hours",
    "whole_days",
    "whole_months",
    "one_day",
    "empty",
    "late_events",
}
PERIOD = parse_period("2026-01-05T06:00:00Z", "2026-01-08T12:30:00Z")

GOOD = """\
# name: {name}
# title: Sample
# description: A sample query.
# unit: things
# value: value
# columns:
#   value: how many
# parameters:
#   from: dateTime, required -- start
#   to: dateTime, required -- end
#   limit: integer, default 3 -- a number
# frequency: daily
# alert: value > 2

PREFIX tai: <https://w3id.org/tai-graph/ns#>
SELECT (COUNT(?e) AS ?value) WHERE {{
  ?e tai:timestamp ?ts . FILTER(?ts >= ?from && ?ts < ?to && ?limit > 0)
}}
"""


@pytest.fixture(scope="module")
def registry() -> QueryRegistry:
    return QueryRegistry.load([QUERIES])


@pytest.fixture(scope="module")
def reference() -> QueryRegistry:
    return QueryRegistry.load([RAW])


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.rq"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str, name: str = "sample") -> list[dict[str, object]]:
    write(tmp_path / "q", name, text)
    with pytest.raises(InvalidQuery) as info:
        QueryRegistry.load([tmp_path / "q"])
    problems: list[dict[str, object]] = info.value.details["problems"]
    assert problems and all(p["file"] == str(tmp_path / "q" / f"{name}.rq") for p in problems)
    return problems


# -- meta-tests over the shipped queries ---------------------------------------------------------


def test_the_spec_names_are_shipped(registry: QueryRegistry) -> None:
    assert set(registry.names) == SPEC_NAMES


@pytest.mark.parametrize("name", sorted(SPEC_NAMES))
def test_shipped_query_is_complete(registry: QueryRegistry, name: str) -> None:
    q = registry.get(name)
    assert q.path == QUERIES / f"{name}.rq"
    assert all([q.title, q.description, q.unit, q.frequency]) and q.value in [c for c, _ in q.columns]
    assert [p.name for p in q.parameters][:2] == ["from", "to"]
    assert all(p.required or p.default is not None for p in q.parameters)
    # It binds what it declares, and it follows the slice pattern of docs/queries.md.
    used = variables(q.text)
    assert {p.name for p in q.parameters} <= used
    assert set(PERIOD_VARIABLES) | set(SLICE_VARIABLES) <= used
    assert {b.variable for b in values_blocks(q.text, SLICE_VARIABLES)} == set(SLICE_VARIABLES)


@pytest.mark.parametrize("name", sorted(SPEC_NAMES))
def test_shipped_query_has_golden_cases(name: str) -> None:
    cases = {p.stem for p in (QUERIES / "tests" / name).glob("*.json")}
    assert cases >= REQUIRED_CASES
    for path in (QUERIES / "tests" / name).glob("*.json"):
        assert "expect" in json.loads(path.read_text())


@pytest.mark.parametrize("name", sorted(SPEC_NAMES))
def test_raw_reference_matches_the_named_query_contract(
    registry: QueryRegistry, reference: QueryRegistry, name: str
) -> None:
    named, raw = registry.get(name), reference.get(name)
    assert raw.columns == named.columns and raw.parameters == named.parameters
    assert "tai:DailyRollup" not in raw.text


def test_to_dict_is_json(registry: QueryRegistry) -> None:
    data = registry.get("orders").to_dict()
    assert json.loads(json.dumps(data))["parameters"][2] == {
        "name": "channel",
        "type": "string",
        "required": False,
        "default": "",
        "description": 'only orders of this sales channel; "" means every channel',
    }
    assert data["alert"] == "value < 1" and len(str(data["text_sha256"])) == 64


def test_unknown_query_is_not_found(registry: QueryRegistry) -> None:
    with pytest.raises(NotFound):
        registry.get("nope")


# -- loading refuses bad files --------------------------------------------------------------------


def test_good_sample_loads(tmp_path: Path) -> None:
    write(tmp_path, "sample", GOOD.format(name="sample"))
    q = QueryRegistry.load([tmp_path]).get("sample")
    assert q.alert is not None and str(q.alert) == "value > 2"
    assert q.parameter("limit") is not None and q.parameter("limit").default == "3"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("# unit: things\n", "", 1, "missing the key 'unit'"),
        ("# unit: things\n", "# unit: things\n# owner: me\n", 5, "unknown header key 'owner'"),
        ("integer, default 3", "number, default 3", 11, "unknown type 'number'"),
        ("integer, default 3", "integer, default three", 11, "bad default"),
        ("integer, default 3", "integer", 11, "a parameter must be"),
        ("# alert: value > 2", "# alert: value >> 2", 13, "alert must be"),
        ("# frequency: daily", "# frequency: sometimes", 12, "frequency must be one of"),
        ("#   to: dateTime, required -- end\n", "", 8, "must declare 'to: dateTime, required'"),
        ("#   limit: integer", "#   slice: string", 11, "reserved for the period's slice keys"),
        ("# name: sample", "# name: other", 1, "must equal the file name"),
        ("# title: Sample\n", "# title: Sample\nnot a comment\n# unit: x\n", 1, "missing the key"),
    ],
)
def test_bad_header_is_refused_with_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    text = GOOD.format(name="sample")
    assert old in text
    problems = refused(tmp_path, text.replace(old, new, 1))
    assert any(message in str(p["message"]) and p["line"] == line for p in problems), problems


def test_alert_on_a_column_that_is_not_projected(tmp_path: Path) -> None:
    problems = refused(tmp_path, GOOD.format(name="sample").replace("alert: value", "alert: other"))
    assert "alert column 'other' is not projected" in str(problems)


def test_columns_must_match_the_projection(tmp_path: Path) -> None:
    text = GOOD.format(name="sample").replace("#   value: how many\n", "#   value: how many\n#   more: x\n")
    assert "must list the SELECT projection" in str(refused(tmp_path, text))


def test_sparql_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    text = GOOD.format(name="sample").replace("?e tai:timestamp ?ts .", "?e tai:timestamp ?ts ) .")
    [problem] = refused(tmp_path, text)
    assert problem["line"] == 17 and isinstance(problem["column"], int)  # where Oxigraph's parser stopped
    assert "SPARQL syntax error" in str(problem["message"])


def test_bound_variable_where_a_variable_is_required_is_refused(tmp_path: Path) -> None:
    text = GOOD.format(name="sample").replace("  ?e tai:timestamp", "  VALUES ?limit { 1 } ?e tai:timestamp")
    [problem] = refused(tmp_path, text)
    assert (problem["line"], problem["column"]) == (17, 10)
    assert "?limit is bound by the engine" in str(problem["message"])


def test_declared_parameter_must_be_used(tmp_path: Path) -> None:
    text = GOOD.format(name="sample").replace(" && ?limit > 0", "")
    assert "'limit' is declared but ?limit is never used" in str(refused(tmp_path, text))


def test_service_is_refused(tmp_path: Path) -> None:
    text = GOOD.format(name="sample").replace(
        "?e tai:timestamp ?ts .", "SERVICE <http://example.org/sparql> { ?e tai:timestamp ?ts }"
    )
    assert "SERVICE is not allowed" in str(refused(tmp_path, text))


def test_only_select_queries(tmp_path: Path) -> None:
    text = GOOD.format(name="sample").replace("SELECT (COUNT(?e) AS ?value) WHERE", "ASK")
    assert "must be a SELECT query" in str(refused(tmp_path, text))


def test_duplicate_name_names_both_files(tmp_path: Path) -> None:
    first = write(tmp_path / "a", "sample", GOOD.format(name="sample"))
    second = write(tmp_path / "b", "sample", GOOD.format(name="sample"))
    with pytest.raises(InvalidQuery) as info:
        QueryRegistry.load([tmp_path / "a", tmp_path / "b"])
    [problem] = info.value.details["problems"]
    assert problem["file"] == str(second) and str(first) in str(problem["message"])


def test_user_folder_adds_queries(tmp_path: Path) -> None:
    write(tmp_path, "sample", GOOD.format(name="sample"))
    both = QueryRegistry.load([QUERIES, tmp_path])
    assert both.names[-1] == "sample" and len(both) == len(SPEC_NAMES) + 1


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidQuery, match="query folder not found"):
        QueryRegistry.load([tmp_path / "nope"])


# -- binding --------------------------------------------------------------------------------------


def test_bind_fills_defaults_and_period_variables(registry: QueryRegistry) -> None:
    bound = bind(
        registry.get("orders"), {}, parse_period("2026-01-01T00:00:00-05:00", "2026-01-03T00:30:00Z")
    )
    assert bound.parameters == {"from": "2026-01-01T05:00:00Z", "to": "2026-01-03T00:30:00Z", "channel": ""}
    body = bound.text.split("PREFIX", 1)[1]
    assert "?from" not in body and "?channel" not in body
    # whole day 01-02 and the whole hours 05..23 of 01-01 from cells; the cut hour 01-03T00 from events
    cells = ['"order 2026-01-02"'] + [f'"order 2026-01-01T{h:02d}"' for h in range(5, 24)]
    assert "VALUES ?slice { " + " ".join(cells) + " }" in body
    assert 'VALUES ?hourSlice { "order 2026-01-03T00" }' in body


def test_slice_lists_expand_every_type_and_star(registry: QueryRegistry) -> None:
    period = parse_period("2026-01-01", "2026-01-03")
    bound = bind(registry.get("error_rate"), {}, period)
    assert 'VALUES ?slice { "order 2026-01-01" "order 2026-01-02" "order_error 2026-01-01"' in bound.text
    assert "VALUES ?hourSlice {  }" in bound.text  # no cut hour: nothing read event by event
    star = bind(registry.get("receipt_coverage"), {}, period, event_types=["a", "b"])
    assert 'VALUES ?slice { "a 2026-01-01" "a 2026-01-02" "b 2026-01-01" "b 2026-01-02" }' in star.text
    with pytest.raises(InvalidQuery, match="event types"):
        bind(registry.get("receipt_coverage"), {}, period)


def test_a_period_with_too_many_slice_keys_is_refused(registry: QueryRegistry) -> None:
    query = registry.get("orders")
    bind(query, {}, parse_period("2000-01-01", "2099-01-01"))  # 36k days of one type
    with pytest.raises(InvalidInput) as caught:
        bind(query, {}, parse_period("0001-01-01", "9999-01-01"))
    assert caught.value.details["rule"] == "max-slice-keys" and caught.value.details["parameter"] == "to"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{ VALUES ?slice { "order" 1 } ?r tai:slice ?slice }', "lists event types as plain strings"),
        ('{ VALUES ?slice { "order"@en } ?r tai:slice ?slice }', "lists event types as plain strings"),
        ("{ ?r tai:slice ?slice }", "?slice is used but never listed"),
        ('{ VALUES ?hourSlice { "order" } ?r tai:slice ?slice ; tai:x ?hourSlice }', "?slice is used"),
    ],
)
def test_bad_slice_lists_are_refused(tmp_path: Path, body: str, message: str) -> None:
    text = GOOD.format(name="sample").replace("?e tai:timestamp ?ts .", body + " ?e tai:timestamp ?ts .")
    problems = refused(tmp_path, text)
    assert any(message in str(p["message"]) for p in problems), problems


def test_slice_lists_must_name_the_engines_types(tmp_path: Path) -> None:
    body = '{ VALUES ?slice { "order" "ordr" } ?r tai:slice ?slice } ?e tai:timestamp ?ts .'
    text = GOOD.format(name="sample").replace("?e tai:timestamp ?ts .", body)
    write(tmp_path / "q", "sample", text)
    QueryRegistry.load([tmp_path / "q"])  # without the engine's types nothing to check against
    with pytest.raises(InvalidQuery) as info:
        QueryRegistry.load([tmp_path / "q"], event_types=("order", "sync"))
    [problem] = info.value.details["problems"]
    assert "unknown event type(s) 'ordr'; known: order, sync" in str(problem["message"])
    assert problem["line"] == 17  # the line of the VALUES block
    # the shipped queries name only shipped types
    QueryRegistry.load([QUERIES], event_types=sorted(load_types()))


@pytest.mark.parametrize(
    "evil",
    [
        'x" } ; DROP ALL #',
        "x' } ; DROP ALL #",
        'a"""b',
        'back\\slash" . } INSERT DATA { <a:b> <a:c> <a:d> }',
        "new\nline",
    ],
)
def test_injection_is_bound_as_a_literal(registry: QueryRegistry, evil: str) -> None:
    engine = DirectEngine()
    engine.create_tenant("acme")
    event = {"event_id": "O1", "timestamp": "2026-01-06T10:00:00Z", "transaction_type": "order"}
    engine.ingest(
        "acme", [{**event, "data": {"order_id": "1", "channel": "x", "amount": "5", "status": "fulfilled"}}]
    )
    before = len(engine.store.raw)
    bound = bind(registry.get("orders"), {"channel": evil}, PERIOD)
    assert str(ox.Literal(evil)) in bound.text
    result = run(engine.store, engine.scope("acme"), bound)
    assert result.rows == [{"value": Decimal(0), "gmv": Decimal(0)}]
    assert len(engine.store.raw) == before
    assert (
        run(engine.store, engine.scope("acme"), bind(registry.get("orders"), {"channel": "x"}, PERIOD)).value
        == 1
    )


@pytest.mark.parametrize(
    ("ptype", "text", "rule"),
    [
        ("integer", "1.5", "integer"),
        ("integer", "12abc", "integer"),
        ("decimal", "1e5", "decimal"),
        ("decimal", "NaN", "decimal"),
        ("date", "2026-13-01", "date"),
        ("date", "2026-1-1", "date"),
        ("dateTime", "2026-01-01T00:00:00", "dateTime"),
        ("iri", "not an iri", "iri"),
        ("iri", "http://a b/", "iri"),
        ("iri", "https://x/>{ ?s ?p ?o }", "iri"),
        ("string", "x" * 5000, "max-length"),
        ("string", "\ud800", "string"),
    ],
)
def test_types_are_validated(tmp_path: Path, ptype: str, text: str, rule: str) -> None:
    query = _one_param_query(tmp_path, ptype)
    with pytest.raises(InvalidInput) as info:
        bind(query, {"p": text}, PERIOD)
    assert info.value.details["parameter"] == "p" and info.value.details["rule"] == rule


@pytest.mark.parametrize(
    ("ptype", "text", "expected"),
    [
        ("integer", "+007", '"7"^^<http://www.w3.org/2001/XMLSchema#integer>'),
        ("decimal", "12.500", '"12.5"^^<http://www.w3.org/2001/XMLSchema#decimal>'),
        ("date", "2026-02-28", '"2026-02-28"^^<http://www.w3.org/2001/XMLSchema#date>'),
        (
            "dateTime",
            "2026-01-01T01:00:00+01:00",
            '"2026-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>',
        ),
        ("iri", "urn:tai:acme", "<urn:tai:acme>"),
        ("string", "", '""'),
    ],
)
def test_types_are_bound_as_typed_terms(tmp_path: Path, ptype: str, text: str, expected: str) -> None:
    bound = bind(_one_param_query(tmp_path, ptype), {"p": text}, PERIOD)
    assert str(bound.terms["p"]) == expected and expected in bound.text


def _one_param_query(tmp_path: Path, ptype: str) -> NamedQuery:
    text = GOOD.format(name="sample").replace("limit: integer, default 3", f"p: {ptype}, required")
    write(tmp_path, "sample", text.replace("?limit > 0", "?p = ?p"))
    return QueryRegistry.load([tmp_path]).get("sample")


def test_unknown_and_missing_parameters(tmp_path: Path, registry: QueryRegistry) -> None:
    with pytest.raises(InvalidInput) as info:
        bind(registry.get("orders"), {"chanel": "x"}, PERIOD)
    assert info.value.details == {"parameter": "chanel", "rule": "unknown-parameter", "value": "x"}
    with pytest.raises(InvalidInput) as info:
        bind(_one_param_query(tmp_path, "string"), {}, PERIOD)
    assert info.value.details == {"parameter": "p", "rule": "required"}


def test_from_and_to_in_params_must_match_the_period(registry: QueryRegistry) -> None:
    ok = bind(registry.get("orders"), {"from": "2026-01-05T01:00:00-05:00", "to": PERIOD.to_text}, PERIOD)
    assert ok.parameters["from"] == "2026-01-05T06:00:00Z"
    with pytest.raises(InvalidInput) as info:
        bind(registry.get("orders"), {"from": "2026-01-01T00:00:00Z"}, PERIOD)
    assert info.value.details["parameter"] == "from"


def test_substitution_skips_strings_comments_and_iris() -> None:
    text = "SELECT ?x { BIND(\"?p\" AS ?x) # ?p\n FILTER(?x != <urn:a?p> && ?x != '$p' && ?x != ?p && $p) }"
    out = substitute(text, {"p": ox.Literal("v")})
    assert (
        out
        == 'SELECT ?x { BIND("?p" AS ?x) # ?p\n FILTER(?x != <urn:a?p> && ?x != \'$p\' && ?x != "v" && "v") }'
    )
    assert variables(text) == {"x", "p"}
    assert substitute("?pp ?p2 ?p", {"p": ox.Literal("v")}) == '?pp ?p2 "v"'


# -- results --------------------------------------------------------------------------------------


def test_to_python() -> None:
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert to_python(ox.Literal("12.50", datatype=ox.NamedNode(xsd + "decimal"))) == Decimal("12.5")
    assert to_python(ox.Literal("3", datatype=ox.NamedNode(xsd + "integer"))) == Decimal(3)
    assert to_python(ox.Literal("1.0E2", datatype=ox.NamedNode(xsd + "double"))) == Decimal(100)
    assert to_python(ox.Literal("2026-01-01T10:00:00Z", datatype=ox.NamedNode(xsd + "dateTime"))) == datetime(
        2026, 1, 1, 10, tzinfo=UTC
    )
    assert to_python(ox.Literal("2026-01-01", datatype=ox.NamedNode(xsd + "date"))) == date(2026, 1, 1)
    assert to_python(ox.Literal("true", datatype=ox.NamedNode(xsd + "boolean"))) is True
    assert to_python(ox.Literal("amazon")) == "amazon"
    assert to_python(ox.NamedNode("urn:x")) == "urn:x"
    assert to_python(None) is None


def test_result_provenance_value_and_alerts(registry: QueryRegistry, tmp_path: Path) -> None:
    # the shipped query has no alert (a count threshold depends on the period length); a user's
    # copy with one shows that alerts are checked per row
    shipped = registry.get("errors_by_type")
    text = shipped.text.replace("# frequency:", "# alert: value > 25\n# frequency:", 1)
    (tmp_path / "errors_by_type.rq").write_text(text)
    registry = QueryRegistry.load([tmp_path])
    engine = DirectEngine()
    engine.create_tenant("acme")
    base = {"timestamp": "2026-01-06T10:00:00Z", "transaction_type": "order_error"}
    engine.ingest(
        "acme",
        [
            {**base, "event_id": f"E{i}", "data": {"order_id": str(i), "error_type": t, "cost": "2.5"}}
            for i, t in enumerate(["wrong_sku"] * 26 + ["other"])
        ],
    )
    query = registry.get("errors_by_type")
    result = run(engine.store, engine.scope("acme"), bind(query, {}, PERIOD))
    assert result.name == "errors_by_type" and result.text_sha256 == query.text_sha256
    assert shipped.alert is None
    assert result.parameters == {"from": "2026-01-05T06:00:00Z", "to": "2026-01-08T12:30:00Z"}
    assert result.columns == ["error_type", "value", "cost"]
    assert result.rows == [
        {"error_type": "wrong_sku", "value": Decimal(26), "cost": Decimal("65")},
        {"error_type": "other", "value": Decimal(1), "cost": Decimal("2.5")},
    ]
    assert result.value is None  # several rows: the KPI is per row
    assert result.alerts == [result.rows[0]]  # value > 25
    assert result.to_dict()["rows"] == [
        {"error_type": "wrong_sku", "value": "26", "cost": "65"},
        {"error_type": "other", "value": "1", "cost": "2.5"},
    ]


def test_docs_list_every_shipped_query(registry: QueryRegistry) -> None:
    section = (ROOT / "docs" / "queries.md").read_text().split("## The shipped KPIs")[1]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            rows.setdefault(line.split("|")[1].strip(), line)
    for q in registry:
        row = rows[f"`{q.name}`"]
        assert q.frequency in row and (q.alert is None or f"`{q.alert}`" in row), q.name
        for p in q.parameters[2:]:
            assert f"`{p.name}`" in row, (q.name, p.name)
