"""Offline verification of a receipt set: signatures, sequence and hash chain (SPEC §5).

Receipts are checked in the order given: each is recomputed to its canonical signed bytes, its
HMAC (customer secret) and Ed25519 signature (published keys) are checked, its ``sequence`` must
continue the one before, and its ``previous_hash`` must be the hash of receipt ``sequence - 1``.
The report names the first problem, and its kind:

* ``altered`` — the content no longer matches its signatures (without signatures: no longer
  matches the next receipt's ``previous_hash``);
* ``bad-hmac`` / ``bad-signature`` — that signature is wrong, but the content is confirmed by the
  other signature or by the next receipt's chain hash (wrong secret, replaced signature);
* ``missing`` / ``reordered`` / ``duplicate`` — sequence numbers absent, out of order, repeated;
* ``broken-chain`` — authentic receipts that do not link (or a receipt of another customer);
* ``unknown-key`` / ``malformed`` — signed by a key not in the keyring; not a receipt at all.

Receipts cut from the *end* of a set leave no trace in the set: compare its head with a signed
checkpoint (:mod:`tai_graph.ledger.checkpoint`). Memory stays bounded by a window of recent
receipts plus the anomalies found, so sets of any length can be streamed.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tai_graph.errors import LedgerError
from tai_graph.ledger.canonical import signed_bytes
from tai_graph.ledger.keys import hmac_matches, verify_ed25519
from tai_graph.ledger.receipts import GENESIS_HASH, RECEIPT_FIELDS, receipt_hash

__all__ = ["Problem", "ProblemKind", "VerificationReport", "read_receipts", "verify_receipts"]

ProblemKind = Literal[
    "altered",
    "bad-signature",
    "bad-hmac",
    "missing",
    "reordered",
    "duplicate",
    "broken-chain",
    "unknown-key",
    "malformed",
]

_WINDOW = 4096  # recent receipts kept for chain links; anomalies further apart are still reported
_MAX_GAPS = 100_000
_HASH = re.compile(r"[0-9a-f]{64}")
_TEXT_FIELDS = tuple(f for f in RECEIPT_FIELDS if f not in ("data", "system_metadata", "sequence"))


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. ``position`` is the 0-based index in the input where it shows."""

    sequence: int | None
    event_id: str | None
    kind: ProblemKind
    message: str
    position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """Outcome of :func:`verify_receipts`.

    ``problems`` holds the first ``max_problems`` findings in input order (``problem_count`` counts
    them all). ``head_sequence``/``head_hash`` are the highest sequence seen and the hash of its
    signed bytes: what a checkpoint of this set would sign.
    """

    ok: bool
    checked: int
    first_problem: Problem | None
    problems: tuple[Problem, ...]
    problem_count: int
    head_sequence: int | None
    head_hash: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def verify_receipts(
    receipts: Iterable[Mapping[str, Any]],
    *,
    secret: str | None = None,
    public_keys: Mapping[str, Ed25519PublicKey] | None = None,
    expect_start: int | None = 1,
    anchor_hash: str | None = None,
    max_problems: int = 100,
) -> VerificationReport:
    """Verify one customer's receipts, in the order given.

    ``secret`` checks each HMAC ``signature``; ``public_keys`` (``key_id`` → key, see
    :func:`~tai_graph.ledger.keys.load_public_keys`) each ``ed25519_signature``. Without either,
    only the sequence and the chain are checked, which locates alterations less precisely.
    ``expect_start`` is the first sequence expected (``None``: whatever the first receipt has).
    Receipt 1 must follow the genesis hash; a later first receipt is taken as the anchor unless
    ``anchor_hash`` (the hash of receipt ``expect_start - 1``) is given.
    """
    if expect_start is not None and expect_start < 1:
        raise LedgerError(f"expect_start must be >= 1, got {expect_start}")
    verifier = _Verifier(secret, public_keys, expect_start, anchor_hash, max_problems)
    for item in receipts:
        verifier.add(item)
    return verifier.finish()


def read_receipts(path: Path) -> Iterator[dict[str, Any]]:
    """The receipts in a file: NDJSON, a JSON array, or an audit-trail ``{"receipts": [...]}``.

    Streams NDJSON line by line. Raises :class:`~tai_graph.errors.LedgerError` naming the line for
    text that is not JSON, duplicate object keys, or items that are not objects.
    """
    with Path(path).open(encoding="utf-8-sig") as fh:
        line_no, first = 1, fh.readline()
        while first and not first.strip():
            line_no, first = line_no + 1, fh.readline()
        if not first:
            return  # an empty file holds no receipts
        if first.lstrip().startswith("{"):
            try:
                doc = _loads(first, f"{path}:{line_no}")
            except LedgerError:
                doc = None  # a multi-line JSON document
            if isinstance(doc, dict) and "receipts" not in doc:
                yield doc
                for n, line in enumerate(fh, start=line_no + 1):
                    if line.strip():
                        yield _as_object(_loads(line, f"{path}:{n}"), f"{path}:{n}")
                return
        text = first + fh.read()
    doc = _loads(text, str(path))
    items = doc.get("receipts") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and items is None:
        items = [doc]
    if not isinstance(items, list):
        raise LedgerError(f"{path}: expected receipts as NDJSON, a JSON array or {{'receipts': [...]}}")
    for i, item in enumerate(items):
        yield _as_object(item, f"{path}: receipt #{i + 1}")


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        raise LedgerError(f"{where}: not valid JSON ({exc})") from exc


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:  # a viewer might show one value while the signature covers the other
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _as_object(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise LedgerError(f"{where}: a receipt must be a JSON object, got {type(item).__name__}")
    return item


@dataclass(slots=True, eq=False)
class _Entry:
    """What the verifier remembers of one receipt while its neighbours may still arrive."""

    seq: int
    position: int
    event_id: str | None
    hash: str | None
    previous_hash: str | None
    flagged: bool = False  # already reported as malformed / unknown key / foreign
    reported: bool = False  # its signature finding is already reported
    hmac_ok: bool | None = None  # None: not checked
    ed_ok: bool | None = None
    virtual: bool = False  # the genesis or anchor hash before the first receipt
    next_link: bool | None = None  # does receipt seq+1 chain to this one?
    bad_prev: _Entry | None = None  # chain-only mode: the predecessor this one does not link to


@dataclass(slots=True)
class _Gap:
    lo: int  # missing sequences lo .. hi-1, provisionally (they may still arrive late)
    hi: int
    position: int
    before: int  # the receipt found where they were expected


def _ev(event_id: str | None) -> str:
    return f" (event {event_id})" if event_id else ""


def _failed_kind(e: _Entry) -> ProblemKind:
    return "bad-signature" if e.ed_ok is False else "bad-hmac"


def _defect(item: Mapping[str, Any]) -> str | None:
    missing = [f for f in RECEIPT_FIELDS if f not in item]
    if missing:
        return "missing field(s) " + ", ".join(missing)
    for name in _TEXT_FIELDS:
        if not isinstance(item[name], str):
            return f"{name} must be a string"
    if type(item["sequence"]) is not int or item["sequence"] < 1:
        return "sequence must be an integer >= 1"
    if not isinstance(item["data"], dict) or not isinstance(item["system_metadata"], dict):
        return "data and system_metadata must be objects"
    if not _HASH.fullmatch(item["previous_hash"]):
        return "previous_hash must be 64 lowercase hex digits"
    return None


class _Verifier:
    """Streaming state: checks per receipt, a sequence tracker and a window for chain links."""

    def __init__(
        self,
        secret: str | None,
        keys: Mapping[str, Ed25519PublicKey] | None,
        start: int | None,
        anchor: str | None,
        max_problems: int,
    ) -> None:
        self.secret, self.keys, self.anchor = secret, keys, anchor
        self.signing = secret is not None or keys is not None
        self.max_problems = max(1, max_problems)
        self.checked = self.count = self.passed = 0
        self.found: list[tuple[int, int, Problem]] = []  # (position, discovery order, problem)
        self.window: dict[int, _Entry] = {}
        self.customer: str | None = None
        self.start = self.expected = start
        self.jumper: _Entry | None = None  # ahead of `expected`; judged on the next receipt
        self.ahead: dict[int, _Entry] = {}  # reported early arrivals, skipped when reached
        self.gaps: list[_Gap] = []
        self.head: _Entry | None = None
        if start is not None:
            self._anchor_at(start)

    # -- input -----------------------------------------------------------------------------

    def add(self, item: Mapping[str, Any]) -> None:
        position = self.checked
        self.checked += 1
        entry = self._inspect(item, position)
        if entry is None:
            return
        if self.expected is None:
            self.start = self.expected = entry.seq
            self._anchor_at(entry.seq)
        if self._sequence(entry):
            self._register(entry)

    def finish(self) -> VerificationReport:
        if self.jumper is not None:
            self._commit_jump(self.jumper)
        for seq in sorted(self.ahead):
            assert self.expected is not None
            if seq > self.expected:
                self.gaps.append(_Gap(self.expected, seq, self.checked, seq))
            self.expected = max(self.expected, seq + 1)
        for gap in self.gaps:
            self._missing(gap)
        for entry in list(self.window.values()):
            self._finalize(entry)
        self.found.sort(key=lambda f: f[:2])
        problems = tuple(p for _, _, p in self.found[: self.max_problems])
        head = self.head or self.window.get((self.start or 1) - 1)
        return VerificationReport(
            ok=self.count == 0,
            checked=self.checked,
            first_problem=problems[0] if problems else None,
            problems=problems,
            problem_count=self.count,
            head_sequence=head.seq if head else None,
            head_hash=head.hash if head else None,
        )

    def _inspect(self, item: Mapping[str, Any], pos: int) -> _Entry | None:
        """Structure, canonical bytes, customer and signatures of one receipt."""
        if not isinstance(item, Mapping):
            self._report(pos, None, None, "malformed", f"item {pos + 1} is not a JSON object")
            return None
        raw_id, raw_seq = item.get("event_id"), item.get("sequence")
        eid = raw_id if isinstance(raw_id, str) else None
        seq = raw_seq if type(raw_seq) is int and raw_seq >= 1 else None
        defect, signed = _defect(item), b""
        if defect is None:
            try:
                signed = signed_bytes(item)
            except LedgerError as exc:
                defect = exc.message
        if defect is not None:
            self._report(pos, seq, eid, "malformed", f"receipt {seq or '?'}{_ev(eid)} is malformed: {defect}")
            if seq is None:
                return None
            return _Entry(seq, pos, eid, None, None, flagged=True)  # still holds its place in order
        entry = _Entry(seq or 0, pos, eid, receipt_hash(signed), item["previous_hash"])
        if self.customer is None:
            self.customer = item["customer_id"]
        elif item["customer_id"] != self.customer:
            entry.flagged = True
            msg = f"belongs to customer {item['customer_id']!r}, not {self.customer!r}"
            self._report(pos, entry.seq, eid, "broken-chain", f"receipt {entry.seq}{_ev(eid)} {msg}")
            return entry
        if self.secret is not None:
            entry.hmac_ok = hmac_matches(self.secret, signed, item["signature"])
        if self.keys is not None:
            key = self.keys.get(item["key_id"])
            if key is None:
                entry.flagged = True
                msg = f"is signed by key {item['key_id']!r}, which is not a trusted key"
                self._report(pos, entry.seq, eid, "unknown-key", f"receipt {entry.seq}{_ev(eid)} {msg}")
                return entry
            entry.ed_ok = verify_ed25519(key, signed, item["ed25519_signature"])
        if entry.hmac_ok or entry.ed_ok:
            self.passed += 1
        if entry.hmac_ok is False and entry.ed_ok is True:
            self._signature_problem(entry, "bad-hmac", "its content is confirmed by the Ed25519 signature")
        elif entry.ed_ok is False and entry.hmac_ok is True:
            self._signature_problem(entry, "bad-signature", "its content is confirmed by the HMAC")
        return entry

    # -- sequence ----------------------------------------------------------------------------

    def _sequence(self, e: _Entry) -> bool:
        """Judge ``e.seq`` against the sequence so far; False when ``e`` is a duplicate."""
        assert self.expected is not None and self.start is not None
        s = e.seq
        if self.jumper is not None:
            j, self.jumper = self.jumper, None
            if s == self.expected:  # the gap fills right away: j came early
                msg = f"receipt {j.seq}{_ev(j.event_id)} comes before receipt {s}: out of order"
                self._report(j.position, j.seq, j.event_id, "reordered", msg)
                self.ahead[j.seq] = j
                self._advance(s)
                return True
            self._commit_jump(j)
        if s == self.expected:
            self._advance(s)
            return True
        if s > self.expected:
            if s in self.ahead:
                return self._duplicate(e, self.ahead[s])
            self.jumper = e
            return True
        gap = self._fill_gap(s)
        if gap is not None:
            msg = f"receipt {s}{_ev(e.event_id)} comes after receipt {self.expected - 1}: out of order"
            self._report(gap.position, s, e.event_id, "reordered", msg)
            return True
        if s < self.start:
            msg = f"receipt {s}{_ev(e.event_id)} precedes the set's first receipt {self.start}"
            self._report(e.position, s, e.event_id, "reordered", msg)
            return False
        return self._duplicate(e, self.window.get(s))

    def _advance(self, seq: int) -> None:
        self.expected = seq + 1
        while self.expected in self.ahead:
            del self.ahead[self.expected]
            self.expected += 1

    def _commit_jump(self, j: _Entry) -> None:
        assert self.expected is not None
        self.gaps.append(_Gap(self.expected, j.seq, j.position, j.seq))
        if len(self.gaps) > _MAX_GAPS:
            self._missing(self.gaps.pop(0))
        self._advance(j.seq)

    def _fill_gap(self, seq: int) -> _Gap | None:
        i = bisect_right(self.gaps, seq, key=lambda g: g.lo) - 1
        if i < 0 or not self.gaps[i].lo <= seq < self.gaps[i].hi:
            return None
        gap = self.gaps[i]
        parts = [_Gap(lo, hi, gap.position, gap.before) for lo, hi in ((gap.lo, seq), (seq + 1, gap.hi))]
        self.gaps[i : i + 1] = [p for p in parts if p.lo < p.hi]
        return gap

    def _duplicate(self, e: _Entry, first: _Entry | None) -> bool:
        where = f" (first at item {first.position + 1})" if first else ""
        differs = " with different content" if first and first.hash != e.hash else ""
        msg = f"receipt {e.seq}{_ev(e.event_id)} appears again{where}{differs}"
        self._report(e.position, e.seq, e.event_id, "duplicate", msg)
        return False

    def _missing(self, gap: _Gap) -> None:
        n = gap.hi - gap.lo
        what = f"receipt {gap.lo} is" if n == 1 else f"receipts {gap.lo}-{gap.hi - 1} ({n}) are"
        self._report(gap.position, gap.lo, None, "missing", f"{what} missing (before receipt {gap.before})")

    # -- chain -------------------------------------------------------------------------------

    def _anchor_at(self, start: int) -> None:
        anchor = GENESIS_HASH if start == 1 else self.anchor
        if anchor is not None:
            self.window[start - 1] = _Entry(start - 1, -1, None, anchor, None, virtual=True)

    def _register(self, e: _Entry) -> None:
        self.window[e.seq] = e
        if self.head is None or e.seq > self.head.seq:
            self.head = e
        pred, succ = self.window.get(e.seq - 1), self.window.get(e.seq + 1)
        if pred is not None:
            self._link(pred, e)
        if succ is not None:
            self._link(e, succ)
        while len(self.window) > _WINDOW:
            self._finalize(self.window.pop(next(iter(self.window))))

    def _content_ok(self, e: _Entry) -> bool:
        return e.virtual or (not e.flagged and (e.hmac_ok is True or e.ed_ok is True))

    def _pending(self, e: _Entry) -> bool:
        """Every signature check failed and the finding is not yet classified."""
        return self.signing and not (e.flagged or e.reported or e.virtual or self._content_ok(e))

    def _link(self, a: _Entry, b: _Entry) -> None:
        if a.hash is None or b.previous_hash is None:
            return
        ok = b.previous_hash == a.hash
        a.next_link = ok
        if not self.signing:
            if not ok:
                b.bad_prev = a
            return
        if self._pending(a) and self._content_ok(b):
            if ok:
                note = f"its content is confirmed by receipt {b.seq}'s previous_hash"
                self._signature_problem(a, _failed_kind(a), note)
            else:
                self._altered(a, f"its signatures fail and receipt {b.seq} chains to different content")
        if not ok and self._content_ok(a) and self._content_ok(b):
            self._broken(b, a)

    def _finalize(self, e: _Entry) -> None:
        """Decide what could not be decided while neighbours might still arrive."""
        if e.virtual:
            return
        if self._pending(e):
            if self.passed == 0:  # nothing verifies at all: most likely the wrong secret or keys
                note = "no receipt in this set passes that check: wrong secret or keys?"
                self._signature_problem(e, _failed_kind(e), note)
            else:
                self._altered(e, "its signatures do not match its content")
        a = e.bad_prev
        if a is None or e.flagged:
            return
        if e.next_link is not True or a.virtual:  # e itself is unconfirmed, or the anchor is wrong
            self._broken(e, a)
        elif not a.flagged:  # e is confirmed by its successor: a's content changed
            self._altered(a, f"receipt {e.seq}, confirmed by its successor, chains to different content")

    # -- findings ----------------------------------------------------------------------------

    def _signature_problem(self, e: _Entry, kind: ProblemKind, note: str) -> None:
        e.reported = True
        what = "HMAC signature does not match" if kind == "bad-hmac" else "Ed25519 signature does not verify"
        if e.hmac_ok is False and e.ed_ok is False:
            what = "neither the HMAC nor the Ed25519 signature verifies"
        msg = f"receipt {e.seq}{_ev(e.event_id)}: {what}; {note}"
        self._report(e.position, e.seq, e.event_id, kind, msg)

    def _altered(self, e: _Entry, evidence: str) -> None:
        e.reported = True
        msg = f"receipt {e.seq}{_ev(e.event_id)} was altered after it was made: {evidence}"
        self._report(e.position, e.seq, e.event_id, "altered", msg)

    def _broken(self, b: _Entry, a: _Entry) -> None:
        if a.virtual:
            target = "the genesis hash" if a.seq == 0 else "the anchor hash"
        else:
            target = f"the hash of receipt {a.seq}"
        msg = f"receipt {b.seq}{_ev(b.event_id)}: previous_hash does not match {target}"
        self._report(b.position, b.seq, b.event_id, "broken-chain", msg)

    def _report(self, pos: int, seq: int | None, eid: str | None, kind: ProblemKind, msg: str) -> None:
        self.count += 1
        self.found.append((pos, self.count, Problem(seq, eid, kind, msg, pos)))
        if len(self.found) >= 2 * self.max_problems + 64:
            self.found.sort(key=lambda f: f[:2])
            del self.found[self.max_problems :]
