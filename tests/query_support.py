"""Test helpers for the named queries: engines that load fixture events.

``DirectEngine`` writes the triples of docs/design.md (events, receipts, monthly, daily and hourly
rollups) straight
into an in-memory :class:`OxigraphStore`, reading field → predicate, datatypes and rollup roles
from ``shapes/*.ttl``. It checks the queries against the documented data model independently of the
ingest code; :func:`engine_factories` adds the real :class:`~tai_graph.engine.Engine` when it can be
built, so the same cases also run end to end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from tai_graph.model import EventOutcome, IngestResult, format_utc
from tai_graph.periods import parse_instant
from tai_graph.store import OxigraphStore, QueryScope

ROOT = Path(__file__).resolve().parent.parent
TAI = "https://w3id.org/tai-graph/ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
QB = "http://purl.org/linked-data/cube#"


@dataclass(slots=True)
class FieldSpec:
    predicate: str
    datatype: str
    rollup: str | None


@dataclass(slots=True)
class TypeSpec:
    class_iri: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    derived: list[tuple[str, str, str, str]] = field(default_factory=list)  # (pred, op, field a, field b)


def load_types(shapes_dir: Path = ROOT / "shapes") -> dict[str, TypeSpec]:
    """Event types from the SHACL shapes: transaction_type → class, fields, rollup roles."""
    store = ox.Store()
    for path in sorted(shapes_dir.glob("*.ttl")):
        store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    prefix = f"PREFIX sh: <http://www.w3.org/ns/shacl#> PREFIX tai: <{TAI}> "
    types: dict[str, TypeSpec] = {}
    for row in store.query(
        prefix + "SELECT ?t ?c ?f ?p ?d ?r WHERE { ?s tai:transactionType ?t ; sh:targetClass ?c ; "
        "sh:property ?ps . ?ps sh:path ?p ; tai:field ?f . OPTIONAL { ?ps sh:datatype ?d } "
        "OPTIONAL { ?ps tai:rollup ?r } }"
    ):
        spec = types.setdefault(row["t"].value, TypeSpec(row["c"].value))
        rollup = row["r"].value.removeprefix(TAI) if row["r"] is not None else None
        datatype = row["d"].value if row["d"] is not None else XSD + "string"
        spec.fields[row["f"].value] = FieldSpec(row["p"].value, datatype, rollup)
    for row in store.query(
        prefix + "SELECT ?t ?m ?o ?a ?b WHERE { ?s tai:transactionType ?t ; tai:derivedMeasure ?dm . "
        "?dm tai:measure ?m ; tai:operator ?o ; tai:operands ?l . ?l <http://www.w3.org/1999/02/22-rdf-"
        "syntax-ns#first> ?a ; <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest>/<http://www.w3.org/1999/"
        "02/22-rdf-syntax-ns#first> ?b }"
    ):
        spec = types[row["t"].value]
        by_pred = {f.predicate: name for name, f in spec.fields.items()}
        spec.derived.append(
            (
                row["m"].value,
                row["o"].value.removeprefix(TAI),
                by_pred[row["a"].value],
                by_pred[row["b"].value],
            )
        )
    return types


def _lit(value: Any, datatype: str) -> ox.Literal:
    if datatype == XSD + "decimal":
        text = format(Decimal(str(value)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return ox.Literal(text or "0", datatype=ox.NamedNode(datatype))
    if datatype == XSD + "integer":
        return ox.Literal(str(int(value)), datatype=ox.NamedNode(datatype))
    return ox.Literal(str(value))


class DirectEngine:
    """A stand-in engine: stores events and rebuilds the rollups exactly as docs/design.md says."""

    def __init__(self, types: dict[str, TypeSpec] | None = None) -> None:
        self.types = types if types is not None else load_types()
        self.store = OxigraphStore()
        self._events: dict[str, list[dict[str, Any]]] = {}

    def create_tenant(self, customer_id: str, /) -> object:
        self._events.setdefault(customer_id, [])
        return customer_id

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(sorted(self.types))

    def scope(self, customer_id: str) -> QueryScope:
        return QueryScope((f"urn:tai:{customer_id}",))

    def close(self) -> None:
        self.store.close()

    def ingest(self, customer_id: str, items: Sequence[Any], *, atomic: bool = False) -> IngestResult:
        graph = ox.NamedNode(f"urn:tai:{customer_id}")
        events = self._events[customer_id]
        quads: list[ox.Quad] = []
        outcomes: list[EventOutcome] = []
        for index, item in enumerate(items):
            spec = self.types[item["transaction_type"]]
            ts = parse_instant(item["timestamp"], parameter="timestamp")
            seq = len(events) + 1
            events.append({"type": item["transaction_type"], "ts": ts, "data": item["data"]})
            e = ox.NamedNode(f"urn:tai:{customer_id}:event:{item['event_id']}")
            receipt = ox.NamedNode(f"urn:tai:{customer_id}:receipt:{seq}")

            def add(s: ox.NamedNode, p: str, o: ox.NamedNode | ox.Literal) -> None:
                quads.append(ox.Quad(s, ox.NamedNode(p), o, graph))

            add(e, RDF_TYPE, ox.NamedNode(spec.class_iri))
            add(e, TAI + "eventId", ox.Literal(item["event_id"]))
            add(e, TAI + "timestamp", ox.Literal(format_utc(ts), datatype=ox.NamedNode(XSD + "dateTime")))
            hour = ts.astimezone(UTC).strftime("%Y-%m-%dT%H")
            add(e, TAI + "hourSlice", ox.Literal(f"{item['transaction_type']} {hour}"))
            add(e, TAI + "receipt", receipt)
            add(receipt, RDF_TYPE, ox.NamedNode(TAI + "Receipt"))
            add(receipt, TAI + "sequence", _lit(seq, XSD + "integer"))
            for name, value in item["data"].items():
                f = spec.fields[name]
                add(e, f.predicate, _lit(value, f.datatype))
            outcomes.append(EventOutcome(index, item["event_id"], "created"))
        self.store.raw.extend(quads)
        self._rebuild_rollups(customer_id, graph)
        return IngestResult(outcomes, atomic=atomic)

    def _rebuild_rollups(self, customer_id: str, graph: ox.NamedNode) -> None:
        self.store.update(
            f"DELETE {{ GRAPH <{graph.value}> {{ ?r ?p ?o }} }} WHERE {{ GRAPH <{graph.value}> "
            f"{{ ?r a <{QB}Observation> ; ?p ?o }} }}"
        )
        cells: dict[tuple[str, str, tuple[tuple[str, str], ...]], dict[str, Decimal]] = {}
        for event in self._events[customer_id]:
            spec = self.types[event["type"]]
            data = event["data"]
            dims = tuple(
                sorted(
                    (f.predicate, str(data[n]))
                    for n, f in spec.fields.items()
                    if f.rollup == "Dimension" and n in data
                )
            )
            hour = event["ts"].astimezone(UTC).strftime("%Y-%m-%dT%H")
            for bucket in (hour[:7], hour[:10], hour):  # a monthly, a daily and an hourly cell
                sums = cells.setdefault((event["type"], bucket, dims), {})
                sums[TAI + "count"] = sums.get(TAI + "count", Decimal(0)) + 1
                sums[TAI + "receiptCount"] = sums.get(TAI + "receiptCount", Decimal(0)) + 1
                for n, f in spec.fields.items():
                    if f.rollup == "Measure":
                        pred = f.predicate + "Sum"
                        sums[pred] = sums.get(pred, Decimal(0)) + Decimal(str(data.get(n, 0)))
                for pred, op, a, b in spec.derived:
                    va, vb = data.get(a), data.get(b)
                    if va is None or vb is None:
                        add = Decimal(0)
                    elif op == "EqualCount":
                        add = Decimal(1 if Decimal(str(va)) == Decimal(str(vb)) else 0)
                    else:
                        add = abs(Decimal(str(va)) - Decimal(str(vb)))
                    sums[pred] = sums.get(pred, Decimal(0)) + add
        quads: list[ox.Quad] = []
        for (ttype, bucket, dims), sums in cells.items():
            spec = self.types[ttype]
            digest = hashlib.sha256("\n".join(f"{p}={v}" for p, v in dims).encode()).hexdigest()[:16]
            r = ox.NamedNode(f"urn:tai:{customer_id}:rollup:{ttype}:{bucket}:{digest}")
            integer_preds = {
                f.predicate + "Sum" for f in spec.fields.values() if f.datatype == XSD + "integer"
            }
            integer_preds |= {TAI + "count", TAI + "receiptCount"}
            integer_preds |= {p for p, op, _, _ in spec.derived if op == "EqualCount"}
            if "T" in bucket:
                kind, dataset = "HourlyRollup", f"urn:tai:{customer_id}:rollup:{ttype}:hourly"
                when = (TAI + "hour", ox.Literal(bucket + ":00:00Z", datatype=ox.NamedNode(XSD + "dateTime")))
            elif len(bucket) == 7:
                kind, dataset = "MonthlyRollup", f"urn:tai:{customer_id}:rollup:{ttype}:monthly"
                when = (TAI + "month", ox.Literal(bucket, datatype=ox.NamedNode(XSD + "gYearMonth")))
            else:
                kind, dataset = "DailyRollup", f"urn:tai:{customer_id}:rollup:{ttype}"
                when = (TAI + "day", ox.Literal(bucket, datatype=ox.NamedNode(XSD + "date")))
            triples: list[tuple[str, ox.NamedNode | ox.Literal]] = [
                (RDF_TYPE, ox.NamedNode(QB + "Observation")),
                (RDF_TYPE, ox.NamedNode(TAI + kind)),
                (QB + "dataSet", ox.NamedNode(dataset)),
                (TAI + "eventType", ox.NamedNode(spec.class_iri)),
                when,
                (TAI + "slice", ox.Literal(f"{ttype} {bucket}")),
            ]
            triples += [(p, ox.Literal(v)) for p, v in dims]
            triples += [
                (p, _lit(v, XSD + ("integer" if p in integer_preds else "decimal"))) for p, v in sums.items()
            ]
            quads += [ox.Quad(r, ox.NamedNode(p), o, graph) for p, o in triples]
        self.store.raw.extend(quads)


def real_engine_factory() -> Callable[[], Any] | None:
    """``lambda: Engine(Settings())`` when the real engine imports and builds, else None."""
    try:
        from tai_graph.config import Settings
        from tai_graph.engine import Engine

        Engine(Settings()).close()
    except Exception:
        return None
    return lambda: Engine(Settings())


def engine_factories() -> dict[str, Callable[[], Any]]:
    """The engines to run query cases on: always ``direct``; ``engine`` when available."""
    out: dict[str, Callable[[], Any]] = {"direct": DirectEngine}
    real = real_engine_factory()
    if real is not None:
        out["engine"] = real
    return out


def utc(text: str) -> datetime:
    return parse_instant(text, parameter="t")
