"""Monthly, daily and hourly Data Cube observations maintained at ingest.

One ``qb:Observation`` per (customer, event type, UTC month, day or hour, dimension values)
carries the event count, the receipted-event count and the sum of every measure. Each cell
carries its index key, ``tai:slice "order 2026-03"`` (``"order 2026-03-03"`` for a day,
``"order 2026-03-03T05"`` for an hour), so a KPI over a period looks up the cells of its event
type for the period's whole months, then the whole days and hours at its edges: a few dozen
cells for a month, however long the history is.
They live in the customer's graph, are updated in the same transaction as the events, and
analysts can query them like any other data.

This module is pure: it turns events into new observation states and the N-Triples to delete and
insert; the ingest path owns the store and the transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal

from tai_graph import mapping
from tai_graph.model import Event
from tai_graph.periods import hour_bucket
from tai_graph.schema import EventType

QB = "http://purl.org/linked-data/cube#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
T = mapping.TAI


@dataclass(frozen=True, slots=True)
class CellRef:
    """Which cell an event falls in: its IRI, event type name, month, day or hour, dimension values."""

    iri: str
    transaction_type: str
    bucket: str
    dims: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class Observation:
    """The running totals of one rollup cell."""

    iri: str
    transaction_type: str
    class_iri: str
    bucket: str  # a UTC month "2026-03", day "2026-03-03" or hour "2026-03-03T05"
    dims: tuple[tuple[str, str], ...]
    count: int = 0
    receipt_count: int = 0
    sums: dict[str, Decimal] = field(default_factory=dict)
    integer_sums: frozenset[str] = frozenset()

    @classmethod
    def restore(cls, ref: CellRef, etype: EventType, properties: Mapping[str, str]) -> Observation:
        """A cell's state from its stored ``predicate -> value`` pairs."""
        cell = cls(
            ref.iri, etype.name, etype.class_iri, ref.bucket, ref.dims, integer_sums=integer_sums(etype)
        )
        cell.count = int(properties.get(T + "count", 0))
        cell.receipt_count = int(properties.get(T + "receiptCount", 0))
        for pred in _measure_predicates(etype):
            if pred in properties:
                cell.sums[pred] = Decimal(properties[pred])
        return cell

    def copy(self) -> Observation:
        return Observation(
            self.iri,
            self.transaction_type,
            self.class_iri,
            self.bucket,
            self.dims,
            self.count,
            self.receipt_count,
            dict(self.sums),
            self.integer_sums,
        )

    def value_triples(self) -> list[str]:
        """The triples that change as events arrive (deleted and re-inserted on update)."""
        s = mapping.iri(self.iri)
        out = [
            f"{s} {mapping.iri(T + 'count')} {_int(self.count)} .",
            f"{s} {mapping.iri(T + 'receiptCount')} {_int(self.receipt_count)} .",
        ]
        for pred in sorted(self.sums):
            value = self.sums[pred]
            lit = _int(int(value)) if pred in self.integer_sums else _dec(value)
            out.append(f"{s} {mapping.iri(pred)} {lit} .")
        return out

    def identity_triples(self, customer_id: str) -> list[str]:
        """The triples written once, when the cell is created."""
        s = mapping.iri(self.iri)
        kind, suffix, when, (append, xsd) = _RESOLUTIONS[len(self.bucket)]
        dataset = f"urn:tai:{customer_id}:rollup:{self.transaction_type}{suffix}"
        at = mapping.lit_typed(self.bucket + append, XSD + xsd)
        key = mapping.slice_key(self.transaction_type, self.bucket)
        out = [
            f"{s} {mapping.iri(RDF_TYPE)} {mapping.iri(QB + 'Observation')} .",
            f"{s} {mapping.iri(RDF_TYPE)} {mapping.iri(T + kind)} .",
            f"{s} {mapping.iri(QB + 'dataSet')} {mapping.iri(dataset)} .",
            f"{s} {mapping.iri(T + 'eventType')} {mapping.iri(self.class_iri)} .",
            f"{s} {mapping.iri(T + when)} {at} .",
            f"{s} {mapping.iri(T + 'slice')} {mapping.lit_string(key)} .",
        ]
        out += [f"{s} {mapping.iri(p)} {mapping.lit_string(v)} ." for p, v in self.dims]
        return out


#: By bucket length: the cell class, its dataset suffix, its time dimension, and how the bucket
#: becomes that dimension's literal (text to append, XSD datatype).
_RESOLUTIONS = {
    7: ("MonthlyRollup", ":monthly", "month", ("", "gYearMonth")),
    10: ("DailyRollup", "", "day", ("", "date")),
    13: ("HourlyRollup", ":hourly", "hour", (":00:00Z", "dateTime")),
}


def _int(n: int) -> str:
    return mapping.lit_typed(str(n), XSD + "integer")


def _dec(d: Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return mapping.lit_typed(text or "0", XSD + "decimal")


def _dims(event: Event, etype: EventType) -> tuple[tuple[str, str], ...]:
    pairs = []
    for spec in etype.fields.values():
        if spec.rollup == "dimension" and event.data.get(spec.name) is not None:
            pairs.append((spec.predicate, str(event.data[spec.name])))
    return tuple(sorted(pairs))


def cell_iri(customer_id: str, etype: EventType, bucket: str, dims: tuple[tuple[str, str], ...]) -> str:
    """Deterministic IRI of a rollup cell (``bucket``: a UTC month, day or hour)."""
    digest = hashlib.sha256("\n".join(f"{p}={v}" for p, v in dims).encode()).hexdigest()[:16]
    return mapping.rollup_iri(customer_id, etype.name, bucket, digest)


def _contribution(event: Event, etype: EventType) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for spec in etype.fields.values():
        if spec.measure_predicate is not None:
            value = event.data.get(spec.name)
            sums[spec.measure_predicate] = Decimal(str(value)) if value is not None else Decimal(0)
    for derived in etype.derived:
        amount = derived.compute(event.data)
        sums[derived.predicate] = Decimal(amount) if amount is not None else Decimal(0)
    return sums


def _measure_predicates(etype: EventType) -> set[str]:
    preds = {s.measure_predicate for s in etype.fields.values() if s.measure_predicate is not None}
    return preds | {d.predicate for d in etype.derived}


def integer_sums(etype: EventType) -> frozenset[str]:
    """The measure predicates of ``etype`` whose sums are integers (written as ``xsd:integer``)."""
    preds = {
        s.measure_predicate
        for s in etype.fields.values()
        if s.measure_predicate is not None and s.kind == "integer"
    }
    preds |= {d.predicate for d in etype.derived if d.kind == "integer"}
    return frozenset(preds)


@dataclass(slots=True)
class RollupChange:
    """What one batch does to the cube: triples to delete, to insert, and the new cell states."""

    delete: list[str]
    insert: list[str]
    cells: dict[str, Observation]


def apply_events(
    customer_id: str,
    events: Iterable[tuple[Event, EventType]],
    current: Callable[[Sequence[CellRef]], Mapping[str, Observation]],
) -> RollupChange:
    """Fold receipted events into their monthly, daily and hourly cells.

    ``current(refs)`` is called once, with every cell the batch touches, and returns the state
    before this batch of those that exist (all at once, so a remote store answers in one round
    trip); the returned cells are never mutated.
    """
    touched: list[tuple[CellRef, EventType, dict[str, Decimal]]] = []
    refs: dict[tuple[str, str, tuple[tuple[str, str], ...]], CellRef] = {}  # many events share a cell
    for event, etype in events:
        hour = hour_bucket(event.timestamp.astimezone(UTC))
        dims = _dims(event, etype)
        contribution = _contribution(event, etype)
        for bucket in (hour[:7], hour[:10], hour):  # the event's month, day and hour cells
            key = (etype.name, bucket, dims)
            ref = refs.get(key)
            if ref is None:
                ref = refs[key] = CellRef(
                    cell_iri(customer_id, etype, bucket, dims), etype.name, bucket, dims
                )
            touched.append((ref, etype, contribution))
    before = current(list(refs.values()))
    cells: dict[str, Observation] = {}
    for ref, etype, contribution in touched:
        cell = cells.get(ref.iri)
        if cell is None:
            old = before.get(ref.iri)
            cell = cells[ref.iri] = (
                old.copy()
                if old is not None
                else Observation(
                    ref.iri,
                    etype.name,
                    etype.class_iri,
                    ref.bucket,
                    ref.dims,
                    integer_sums=integer_sums(etype),
                )
            )
        cell.count += 1
        cell.receipt_count += 1
        for pred, amount in contribution.items():
            cell.sums[pred] = cell.sums.get(pred, Decimal(0)) + amount
    delete: list[str] = []
    insert: list[str] = []
    for iri, cell in cells.items():
        old = before.get(iri)
        if old is None:
            insert += cell.identity_triples(customer_id)
        else:
            delete += old.value_triples()
        insert += cell.value_triples()
    return RollupChange(delete, insert, cells)
