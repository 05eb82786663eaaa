"""The write path: validate → dedupe → sequence → sign → one atomic transaction.

Everything a batch writes (events, receipts, the ledger head, rollup cells) goes into the store as
one SPARQL Update, which Oxigraph applies all-or-nothing. A receipt is returned only after that
commit, so an acknowledged event survives the process being killed. One lock serialises writers:
sequences are gap-free per customer and the hash chain never forks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter

from tai_graph import mapping, rollups
from tai_graph.intake import BadRecord
from tai_graph.ledger import GENESIS_HASH, ServiceKey, build_receipt, receipt_from_parts, receipt_hash
from tai_graph.model import JSON, Event, EventOutcome, IngestResult, SignedReceipt
from tai_graph.schema import EventType, TypeRegistry
from tai_graph.store.base import GraphStore, term_value
from tai_graph.validation import Validator

T = mapping.TAI
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
P_RECEIPT = T + "receipt"
P_CANONICAL = T + "canonicalReceipt"
P_SIGNATURE = T + "signature"
P_ED25519 = T + "ed25519Signature"
P_SEQUENCE = T + "sequence"
P_HEAD_SEQUENCE = T + "headSequence"
P_HEAD_HASH = T + "headHash"
P_HEAD_TIME = T + "headTimestamp"
#: Rollup cells the ingestor keeps in memory (~0.5 KB each). Ingest touches the cells of recent
#: hours and days again and again; an older cell (a late event) is read back from the store.
CELL_CACHE_SIZE = 50_000


def ledger_iri(customer_id: str) -> str:
    return f"urn:tai:{customer_id}:ledger"


@dataclass(slots=True)
class LedgerHead:
    """The newest receipt of a customer's chain."""

    sequence: int
    hash: str
    timestamp: datetime | None

    def triples(self, customer_id: str) -> list[str]:
        s = mapping.iri(ledger_iri(customer_id))
        out = [
            f"{s} {mapping.iri(P_HEAD_SEQUENCE)} {mapping.lit_typed(str(self.sequence), XSD + 'integer')} .",
            f"{s} {mapping.iri(P_HEAD_HASH)} {mapping.lit_string(self.hash)} .",
        ]
        if self.timestamp is not None:
            ts = mapping.lit_typed(self.timestamp.isoformat().replace("+00:00", "Z"), XSD + "dateTime")
            out.append(f"{s} {mapping.iri(P_HEAD_TIME)} {ts} .")
        return out


def _content(event: Event) -> dict[str, JSON]:
    return {
        "event_id": event.event_id,
        "timestamp": event.timestamp_text,
        "transaction_type": event.transaction_type,
        "data": event.data,
    }


def _receipt_content(body: dict[str, JSON]) -> dict[str, JSON]:
    return {k: body[k] for k in ("event_id", "timestamp", "transaction_type", "data")}


class Ingestor:
    """Owns the write lock and the per-customer chain heads and rollup cells."""

    def __init__(
        self,
        store: GraphStore,
        registry: TypeRegistry,
        key: ServiceKey,
        system_metadata: dict[str, str],
        *,
        flush: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.registry = registry
        self.validator = Validator(registry)
        self.key = key
        self.system_metadata = dict(system_metadata)
        self.flush = flush
        self.clock = clock
        self.lock = threading.Lock()
        self._heads: dict[str, LedgerHead] = {}
        #: Rollup cells as last written, least recently used first; bounded, a miss reads the store.
        self._cells: OrderedDict[str, rollups.Observation] = OrderedDict()
        self.cell_cache_size = CELL_CACHE_SIZE
        #: Optional stage timer for benchmarks: set it to a dict and every ingest adds the seconds it
        #: spends per stage (``validate``, ``lock_wait``, ``dedupe``, ``sign``, ``map``, ``rollups``,
        #: ``sparql_text``, ``store_update``, ``flush``). ``None`` (the default) never reads the clock.
        self.stage_seconds: dict[str, float] | None = None

    # -- reads the write path needs -------------------------------------------------------
    def head(self, customer_id: str) -> LedgerHead:
        """The chain head, read from the store once and then kept in memory."""
        head = self._heads.get(customer_id)
        if head is None:
            head = LedgerHead(0, GENESIS_HASH, None)
            for q in self.store.subject_quads(ledger_iri(customer_id), mapping.graph_iri(customer_id)):
                predicate, value = q.predicate.value, term_value(q.object)
                if predicate == P_HEAD_SEQUENCE:
                    head.sequence = int(value)
                elif predicate == P_HEAD_HASH:
                    head.hash = value
                elif predicate == P_HEAD_TIME:
                    head.timestamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
            self._heads[customer_id] = head
        return head

    def stored_receipt(self, customer_id: str, event_id: str) -> SignedReceipt | None:
        """The receipt of a stored event, straight from the graph."""
        graph = mapping.graph_iri(customer_id)
        iri = mapping.event_iri(customer_id, event_id)
        receipt_node = self.store.object_values([iri], P_RECEIPT, graph).get(iri)
        return None if receipt_node is None else self.receipt_at(customer_id, receipt_node)

    def receipt_at(self, customer_id: str, receipt_node: str) -> SignedReceipt | None:
        fields: dict[str, str] = {}
        for q in self.store.subject_quads(receipt_node, mapping.graph_iri(customer_id)):
            fields[q.predicate.value] = term_value(q.object)
        if P_CANONICAL not in fields:
            return None
        return receipt_from_parts(
            fields[P_CANONICAL].encode(), fields.get(P_SIGNATURE, ""), fields.get(P_ED25519, "")
        )

    def _stored_cells(
        self, customer_id: str, refs: Sequence[rollups.CellRef]
    ) -> dict[str, rollups.Observation]:
        """The current state of the cells among ``refs`` that exist: from the cache, the rest read
        from the store in one call."""
        found: dict[str, rollups.Observation] = {}
        missing: list[rollups.CellRef] = []
        for ref in refs:
            cell = self._cells.get(ref.iri)
            if cell is None:
                missing.append(ref)
            else:
                self._cells.move_to_end(ref.iri)
                found[ref.iri] = cell
        if missing:
            stored = self.store.properties([r.iri for r in missing], mapping.graph_iri(customer_id))
            for ref in missing:
                properties = stored.get(ref.iri)
                etype = self.registry.get(ref.transaction_type)
                if properties and etype is not None:
                    found[ref.iri] = rollups.Observation.restore(ref, etype, properties)
        return found

    # -- the write path -------------------------------------------------------------------
    def ingest(
        self, customer_id: str, secret: str, raws: Sequence[JSON | BadRecord], *, atomic: bool = False
    ) -> IngestResult:
        """Validate and store a batch; per-event outcomes in submission order."""
        timer = self.stage_seconds
        started = perf_counter() if timer is not None else 0.0
        outcomes: list[EventOutcome] = []
        valid: list[tuple[int, Event]] = []
        for index, raw in enumerate(raws):
            if isinstance(raw, BadRecord):
                outcomes.append(EventOutcome(index, None, "invalid", violations=[raw.violation(index)]))
                continue
            checked = self.validator.validate(raw, customer_id=customer_id, index=index)
            if isinstance(checked, Event):
                valid.append((index, checked))
                outcomes.append(EventOutcome(index, checked.event_id, "created"))
            else:
                outcomes.append(EventOutcome(index, _event_id_of(raw), "invalid", violations=checked))
        if timer is not None:
            started = _lap(timer, "validate", started)
        with self.lock:
            if timer is not None:
                _lap(timer, "lock_wait", started)
            self._write(customer_id, secret, valid, outcomes, atomic)
        return IngestResult(outcomes, atomic=atomic)

    def _write(
        self,
        customer_id: str,
        secret: str,
        valid: list[tuple[int, Event]],
        outcomes: list[EventOutcome],
        atomic: bool,
    ) -> None:
        timer = self.stage_seconds
        started = perf_counter() if timer is not None else 0.0
        first_in_batch: dict[str, tuple[int, Event]] = {}
        fresh: list[tuple[int, Event]] = []
        graph = mapping.graph_iri(customer_id)
        iris = {e.event_id: mapping.event_iri(customer_id, e.event_id) for _, e in valid}
        receipt_nodes = self.store.object_values(list(dict.fromkeys(iris.values())), P_RECEIPT, graph)
        for index, event in valid:
            outcome = outcomes[index]
            if event.event_id in first_in_batch:
                first_index, first = first_in_batch[event.event_id]
                if _content(first) == _content(event):
                    outcome.status = "duplicate"
                    outcome.message = f"same event as item {first_index} of this batch"
                else:
                    outcome.status = "conflict"
                    outcome.message = f"event_id also used by item {first_index} with other content"
                continue
            first_in_batch[event.event_id] = (index, event)
            node = receipt_nodes.get(iris[event.event_id])
            existing = self.receipt_at(customer_id, node) if node is not None else None
            if existing is None:
                fresh.append((index, event))
            elif _receipt_content(existing.body) == _content(event):
                outcome.status = "duplicate"
                outcome.receipt = existing
                outcome.message = "already stored; this is its original receipt"
            else:
                outcome.status = "conflict"
                outcome.receipt = None
                outcome.message = (
                    f"event_id {event.event_id!r} is already stored with other content; nothing written"
                )
        if timer is not None:
            _lap(timer, "dedupe", started)
        if atomic and any(o.status in ("invalid", "conflict") for o in outcomes):
            for o in outcomes:
                if o.status in ("created", "duplicate"):
                    o.status = "rejected"
                    o.receipt = None
                    o.message = "atomic batch: not written because another item failed"
            return
        if fresh:
            self._commit(customer_id, secret, fresh, outcomes)
        for index, event in valid:
            o = outcomes[index]
            if o.status == "duplicate" and o.receipt is None:
                o.receipt = outcomes[first_in_batch[event.event_id][0]].receipt

    def _commit(
        self, customer_id: str, secret: str, fresh: list[tuple[int, Event]], outcomes: list[EventOutcome]
    ) -> None:
        timer = self.stage_seconds
        started = perf_counter() if timer is not None else 0.0
        head = self.head(customer_id)
        graph = mapping.graph_iri(customer_id)
        now = self.clock()
        if head.timestamp is not None and now < head.timestamp:
            now = head.timestamp  # verification timestamps never go backwards along the chain
        sequence, previous = head.sequence, head.hash
        receipts: list[tuple[int, SignedReceipt]] = []
        for index, event in fresh:
            sequence += 1
            receipt = build_receipt(
                event,
                sequence=sequence,
                previous_hash=previous,
                key=self.key,
                secret=secret,
                system_metadata=self.system_metadata,
                verification_timestamp=now,
            )
            previous = receipt_hash(receipt.signed_bytes)
            receipts.append((index, receipt))
        if timer is not None:
            started = _lap(timer, "sign", started)
        insert: list[str] = []
        typed: list[tuple[Event, EventType]] = []
        for (_, event), (_, receipt) in zip(fresh, receipts, strict=True):
            etype = self.registry.get(event.transaction_type)
            assert etype is not None, "the validator only accepts known types"
            typed.append((event, etype))
            insert += mapping.event_triples(event, etype)
            insert += _receipt_triples(customer_id, event, receipt)
        if timer is not None:
            started = _lap(timer, "map", started)
        change = rollups.apply_events(customer_id, typed, lambda refs: self._stored_cells(customer_id, refs))
        if timer is not None:
            started = _lap(timer, "rollups", started)
        new_head = LedgerHead(sequence, previous, now)
        delete = change.delete + (head.triples(customer_id) if head.sequence else [])
        insert += change.insert + new_head.triples(customer_id)
        parts = []
        if delete:
            parts.append(f"DELETE DATA {{ GRAPH <{graph}> {{\n" + "\n".join(delete) + "\n} }")
        parts.append(f"INSERT DATA {{ GRAPH <{graph}> {{\n" + "\n".join(insert) + "\n} }")
        update = " ;\n".join(parts)
        if timer is not None:
            started = _lap(timer, "sparql_text", started)
        try:
            self.store.update(update)
        except BaseException:
            # the outcome may be unknown (a remote store that timed out): forget what we cached, so
            # the next batch reads the chain head and rollup cells back from the store
            self._heads.pop(customer_id, None)
            for iri in change.cells:
                self._cells.pop(iri, None)
            raise
        if timer is not None:
            started = _lap(timer, "store_update", started)
        if self.flush:
            self.store.flush()
            if timer is not None:
                _lap(timer, "flush", started)
        # committed: only now does the in-memory state move
        self._heads[customer_id] = new_head
        self._cells.update(change.cells)
        while len(self._cells) > self.cell_cache_size:
            self._cells.popitem(last=False)  # least recently used
        for index, receipt in receipts:
            outcomes[index].receipt = receipt


# constant terms of the receipt triples, written once
_RECEIPT_LINK = f" {mapping.iri(P_RECEIPT)} "
_RECEIPT_CLASS = f" {mapping.iri(RDF_TYPE)} {mapping.iri(T + 'Receipt')} ."
_SEQUENCE = f" {mapping.iri(P_SEQUENCE)} "
_INTEGER_SUFFIX = f"^^{mapping.iri(XSD + 'integer')} ."
_CANONICAL = f" {mapping.iri(P_CANONICAL)} "
_SIGNATURE = f" {mapping.iri(P_SIGNATURE)} "
_ED25519 = f" {mapping.iri(P_ED25519)} "


def _receipt_triples(customer_id: str, event: Event, receipt: SignedReceipt) -> list[str]:
    e = mapping.iri(mapping.event_iri(customer_id, event.event_id))
    sequence = receipt.sequence
    r = mapping.iri(mapping.receipt_iri(customer_id, sequence))
    body = receipt.body
    return [
        f"{e}{_RECEIPT_LINK}{r} .",
        f"{r}{_RECEIPT_CLASS}",
        f'{r}{_SEQUENCE}"{sequence}"{_INTEGER_SUFFIX}',
        f"{r}{_CANONICAL}{mapping.lit_string(receipt.signed_bytes.decode())} .",
        f"{r}{_SIGNATURE}{mapping.lit_string(str(body['signature']))} .",
        f"{r}{_ED25519}{mapping.lit_string(str(body['ed25519_signature']))} .",
    ]


def _lap(timer: dict[str, float], stage: str, started: float) -> float:
    """Add the time since ``started`` to ``timer[stage]``; the new start."""
    now = perf_counter()
    timer[stage] = timer.get(stage, 0.0) + (now - started)
    return now


def _event_id_of(raw: JSON) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("event_id"), str):
        return str(raw["event_id"])
    return None


__all__ = ["Ingestor", "LedgerHead", "ledger_iri"]
