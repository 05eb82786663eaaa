"""Named KPI queries: ``queries/*.rq`` files with a metadata header, typed parameters, safe binding.

A named query is a SPARQL SELECT file whose leading comment block is its metadata (see
``docs/queries.md`` for the format)::

    # name: manual_hours
    # title: Manual hours
    # description: Hours logged in work_log events in the period.
    # unit: hours
    # value: value
    # columns:
    #   value: hours logged
    #   entries: work_log events
    # parameters:
    #   from: dateTime, required -- start of the period (inclusive)
    #   to: dateTime, required -- end of the period (exclusive)
    #   activity: string, default "" -- only this activity; "" means all
    # frequency: daily
    # alert: value > 160

:meth:`QueryRegistry.load` reads the shipped folder plus any user folders and refuses a file with a
bad header or a SPARQL error, naming the file, line and column. :func:`bind` types and validates the
caller's parameters and the period (``?from``, ``?to``) into pyoxigraph terms, and expands the
period's rollup keys into ``VALUES ?slice { "order" }`` / ``VALUES ?hourSlice { "order" }``
blocks (see ``docs/queries.md``); :func:`run` executes the bound query and returns Python values
plus provenance (query name, text hash, parameters as bound).

Binding never pastes caller text into SPARQL. Every value becomes a typed pyoxigraph term
(``Literal`` with its datatype, ``NamedNode`` after IRI validation), and the text written into the
query is ``str(term)``, pyoxigraph's own N-Triples serialisation, which escapes quotes, backslashes
and newlines. It replaces the tokens ``?name``/``$name`` of the bound variables, located by a lexer
that skips comments, strings and IRIs. Substituting every occurrence (pre-binding) rather than
joining a ``VALUES`` row at the top keeps bound values visible inside ``UNION`` branches, ``FILTER``
scopes and sub-selects, and lets Oxigraph use them as index keys. The slice keys are written
as literal ``VALUES`` rows for the same reason: a key computed in the query (``BIND(CONCAT(…))``)
is not an index lookup for Oxigraph, and a range ``FILTER`` on days scans the whole history.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, cast, get_args

import pyoxigraph as ox

from tai_graph.errors import InvalidInput, InvalidQuery, NotFound
from tai_graph.mapping import slice_key
from tai_graph.model import format_utc
from tai_graph.periods import Period, parse_instant, slices
from tai_graph.querytext import (
    SAMPLES,
    Edit,
    ParamType,
    Value,
    ValuesBlock,
    block_edit,
    convert,
    position,
    splice,
    substitute,
    term_edits,
    to_python,
    tokens,
    typed,
    values_blocks,
    variable_spans,
    variables,
)
from tai_graph.store.base import GraphStore, QueryScope, Term

__all__ = [
    "ALL_TYPES",
    "MAX_SLICE_KEYS",
    "PERIOD_VARIABLES",
    "SLICE_VARIABLES",
    "Alert",
    "BoundQuery",
    "NamedQuery",
    "ParamType",
    "Parameter",
    "QueryRegistry",
    "QueryResult",
    "Value",
    "bind",
    "convert",
    "run",
    "substitute",
    "to_python",
    "variables",
]

Frequency = Literal["real-time", "hourly", "daily", "weekly", "monthly"]
Operator = Literal[">", ">=", "<", "<="]

#: Variables bound from the period for every query (declared parameters too).
PERIOD_VARIABLES = ("from", "to")
#: ``VALUES ?slice { "order" }`` expands to the ``tai:slice`` keys of the period's whole days and
#: whole edge hours (rollup cells), ``VALUES ?hourSlice { … }`` to the ``tai:hourSlice`` keys of
#: its cut hours (events); ``"*"`` stands for every event type.
SLICE_VARIABLES = ("slice", "hourSlice")
ALL_TYPES = "*"
#: Most slice keys one bound query may list (types times buckets). Whole months take one key each,
#: so 100k is ~8,300 years for one type and ~925 years for all nine: only absurd periods are refused.
MAX_SLICE_KEYS = 100_000
_RESERVED = frozenset(SLICE_VARIABLES)
_KEYS = ("name", "title", "description", "unit", "value", "columns", "parameters", "frequency", "alert")
_REQUIRED_KEYS = frozenset(_KEYS) - {"alert"}

_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)
_IDENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}", re.ASCII)
_KEY_LINE_RE = re.compile(r"#\s?([a-z_]+):(?:\s+(.*?))?\s*", re.ASCII)
_CONT_LINE_RE = re.compile(r"#\s{2,}(\S.*?)\s*")
_PARAM_RE = re.compile(
    r"(?P<name>\w+):\s*(?P<type>\w+)\s*,\s*(?:(?P<req>required)|default\s+(?P<default>\"(?:[^\"\\]|\\.)*\"|[^\s\"]+))"
    r"(?:\s+--\s+(?P<desc>.+))?",
    re.ASCII,
)
_COLUMN_RE = re.compile(r"(?P<name>\w+):\s+(?P<desc>.+)", re.ASCII)
_ALERT_RE = re.compile(r"(\w+)\s*(>=|<=|>|<)\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))", re.ASCII)
_POSITION_RE = re.compile(r"error at (\d+):(\d+)")


@dataclass(frozen=True, slots=True)
class Parameter:
    """A declared query parameter: a type, and either ``required`` or a default (as text)."""

    name: str
    type: ParamType
    required: bool
    default: str | None = None
    description: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON form, for query listings."""
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """Alert condition of a query: alert when ``column <operator> threshold`` on any result row."""

    column: str
    operator: Operator
    threshold: Decimal

    def breached(self, row: Mapping[str, Value]) -> bool:
        """Whether ``row`` meets the condition (an unbound or non-numeric cell never does)."""
        got = row.get(self.column)
        if not isinstance(got, Decimal) or not got.is_finite():
            return False
        t = self.threshold
        op = self.operator
        return got > t if op == ">" else got >= t if op == ">=" else got < t if op == "<" else got <= t

    def __str__(self) -> str:
        return f"{self.column} {self.operator} {format(self.threshold, 'f')}"


@dataclass(frozen=True, slots=True)
class NamedQuery:
    """A loaded, checked named query. ``text`` is the whole file; ``text_sha256`` hashes its bytes."""

    name: str
    title: str
    description: str
    unit: str
    value: str
    columns: tuple[tuple[str, str], ...]
    parameters: tuple[Parameter, ...]
    frequency: Frequency
    alert: Alert | None
    text: str
    path: Path
    text_sha256: str
    #: where ``text``'s variables and slice blocks are, found once at load so binding never lexes
    spans: tuple[tuple[int, int, str], ...] = field(default=(), repr=False)
    slice_blocks: tuple[ValuesBlock, ...] = field(default=(), repr=False)

    def parameter(self, name: str) -> Parameter | None:
        """The declared parameter called ``name``, if any."""
        return next((p for p in self.parameters if p.name == name), None)

    def to_dict(self) -> dict[str, object]:
        """The metadata as JSON (for ``GET /v1/queries``), without the SPARQL text."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "unit": self.unit,
            "value": self.value,
            "columns": [{"name": n, "description": d} for n, d in self.columns],
            "parameters": [p.to_dict() for p in self.parameters],
            "frequency": self.frequency,
            "alert": str(self.alert) if self.alert else None,
            "text_sha256": self.text_sha256,
        }


@dataclass(frozen=True, slots=True)
class BoundQuery:
    """A named query with typed parameter values and the final SPARQL text to run.

    ``parameters`` holds every declared parameter as bound (normalised text; defaults filled in;
    ``from``/``to`` in UTC); ``terms`` every bound variable, period variables included.
    """

    query: NamedQuery
    period: Period
    parameters: dict[str, str]
    terms: dict[str, Term]
    text: str


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of a named query with their provenance.

    ``value`` is the KPI: the ``value`` column of the only row, as a Decimal, or ``None`` when the
    result has no row, several rows (a per-group query), or an unbound/non-numeric value (e.g. a
    rate over an empty period).
    """

    name: str
    text_sha256: str
    parameters: dict[str, str]
    columns: list[str]
    rows: list[dict[str, Value]]
    value: Decimal | None
    alerts: list[dict[str, Value]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON form: decimals as decimal strings, times as RFC 3339 UTC."""
        return {
            "name": self.name,
            "text_sha256": self.text_sha256,
            "parameters": dict(self.parameters),
            "columns": list(self.columns),
            "rows": [{k: _json_value(v) for k, v in row.items()} for row in self.rows],
            "value": _json_value(self.value),
            "alerts": [{k: _json_value(v) for k, v in row.items()} for row in self.alerts],
        }


def _json_value(value: Value) -> object:
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, datetime):
        return format_utc(value) if value.utcoffset() is not None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- header ---------------------------------------------------------------------------------------


class _Problems:
    """Collects load problems as ``file:line:col: message`` entries."""

    def __init__(self) -> None:
        self.items: list[dict[str, object]] = []

    def add(self, path: Path, line: int | None, column: int | None, message: str) -> None:
        self.items.append({"file": str(path), "line": line, "column": column, "message": message})

    def __str__(self) -> str:
        return "\n".join(
            f"{p['file']}:{p['line'] or 0}:{p['column'] or 0}: {p['message']}" for p in self.items
        )


def _header(text: str, path: Path, problems: _Problems) -> dict[str, tuple[int, list[tuple[int, str]]]]:
    """The leading ``#`` lines as key → (key line, [(line, text) of the value and continuations])."""
    entries: dict[str, tuple[int, list[tuple[int, str]]]] = {}
    current: list[tuple[int, str]] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        if line.rstrip() == "#":
            current = None
            continue
        if m := _KEY_LINE_RE.fullmatch(line):
            key = m[1]
            if key not in _KEYS:
                problems.add(path, number, 3, f"unknown header key {key!r} (known: {', '.join(_KEYS)})")
                current = None
                continue
            if key in entries:
                problems.add(path, number, 3, f"header key {key!r} given twice")
            current = [(number, m[2])] if m[2] else []
            entries[key] = (number, current)
        elif (c := _CONT_LINE_RE.fullmatch(line)) and current is not None:
            current.append((number, c[1]))
        else:
            problems.add(path, number, 1, "header line must be '# key: value' or an indented continuation")
            current = None
    return entries


def _parse_header(text: str, path: Path, problems: _Problems) -> dict[str, object] | None:
    start = len(problems.items)
    entries = _header(text, path, problems)
    for key in _KEYS:
        if key in _REQUIRED_KEYS and key not in entries:
            problems.add(path, 1, 1, f"header is missing the key {key!r}")
    if len(problems.items) > start:
        return None

    def one(key: str) -> tuple[int, str]:
        number, parts = entries[key]
        if not parts:
            problems.add(path, number, 1, f"header key {key!r} is empty")
        return number, " ".join(text for _, text in parts)

    meta: dict[str, object] = {k: one(k)[1] for k in ("name", "title", "description", "unit")}
    if not _NAME_RE.fullmatch(str(meta["name"])):
        problems.add(path, entries["name"][0], 1, "name must match [a-z][a-z0-9_]* (at most 64 chars)")
    elif meta["name"] != path.stem:
        problems.add(
            path, entries["name"][0], 1, f"name {meta['name']!r} must equal the file name {path.stem!r}"
        )
    number, meta["value"] = one("value")
    number, freq = one("frequency")
    if freq not in get_args(Frequency):
        problems.add(path, number, 1, f"frequency must be one of {', '.join(get_args(Frequency))}")
    meta["frequency"] = freq
    meta["columns"] = _columns(entries["columns"], path, problems)
    meta["parameters"] = _parameters(entries["parameters"], path, problems)
    meta["alert"] = None
    if "alert" in entries:
        number, alert = one("alert")
        if m := _ALERT_RE.fullmatch(alert):
            meta["alert"] = Alert(m[1], cast(Operator, m[2]), Decimal(m[3]))
        else:
            problems.add(path, number, 1, "alert must be '<column> <op> <number>' with op one of > >= < <=")
    return meta if len(problems.items) == start else None


def _columns(
    entry: tuple[int, list[tuple[int, str]]], path: Path, problems: _Problems
) -> tuple[tuple[str, str], ...]:
    number, lines = entry
    out: list[tuple[str, str]] = []
    for at, line in lines:
        if m := _COLUMN_RE.fullmatch(line):
            out.append((m["name"], m["desc"]))
        else:
            problems.add(path, at, 1, "a column must be written '  name: description'")
    if not out:
        problems.add(path, number, 1, "columns: list at least one column")
    return tuple(out)


def _parameters(
    entry: tuple[int, list[tuple[int, str]]], path: Path, problems: _Problems
) -> tuple[Parameter, ...]:
    number, lines = entry
    params: list[Parameter] = []
    for at, line in lines:
        m = _PARAM_RE.fullmatch(line)
        if m is None:
            problems.add(
                path, at, 1, "a parameter must be '  name: type, required' or '  name: type, default V'"
            )
            continue
        name, ptype = m["name"], m["type"]
        if not _IDENT_RE.fullmatch(name):
            problems.add(path, at, 1, f"parameter name {name!r} must match [A-Za-z][A-Za-z0-9_]*")
        elif name in _RESERVED:
            problems.add(
                path, at, 1, f"{name!r} is reserved for the period's slice keys; it cannot be declared"
            )
        elif any(p.name == name for p in params):
            problems.add(path, at, 1, f"parameter {name!r} declared twice")
        if ptype not in get_args(ParamType):
            problems.add(path, at, 1, f"unknown type {ptype!r} (types: {', '.join(get_args(ParamType))})")
            continue
        default = m["default"]
        if default is not None and default.startswith('"'):
            default = re.sub(r"\\(.)", r"\1", default[1:-1])
        if default is not None:
            try:
                convert(cast(ParamType, ptype), default, name=name)
            except InvalidInput as exc:
                problems.add(path, at, 1, f"bad default: {exc.message}")
        params.append(Parameter(name, cast(ParamType, ptype), m["req"] is not None, default, m["desc"] or ""))
    for edge in ("from", "to"):
        p = next((p for p in params if p.name == edge), None)
        if p is None or p.type != "dateTime" or not p.required:
            problems.add(path, number, 1, f"parameters must declare '{edge}: dateTime, required'")
    return tuple(params)


# -- loading --------------------------------------------------------------------------------------


#: The period the registry binds every query with to check it (whole days, whole and cut hours).
_SAMPLE_PERIOD = ("2026-01-01T12:30:00Z", "2026-01-03T12:30:00Z")


def _sample_terms(params: Sequence[Parameter]) -> dict[str, Term]:
    values = {p.name: p.default if p.default is not None else SAMPLES[p.type] for p in params}
    terms = {p.name: convert(p.type, values[p.name], name=p.name)[0] for p in params}
    terms.update(_period_terms(_sample_period()))
    return terms


def _sample_period() -> Period:
    return Period(*(parse_instant(t, parameter="from") for t in _SAMPLE_PERIOD))


def _period_terms(period: Period) -> dict[str, Term]:
    return {"from": typed("dateTime", period.from_text), "to": typed("dateTime", period.to_text)}


def _slice_edits(blocks: Sequence[ValuesBlock], period: Period, event_types: Sequence[str]) -> list[Edit]:
    """The edits that make every ``VALUES ?slice``/``?hourSlice`` block list the period's keys."""
    if not blocks:
        return []
    split = slices(period)
    buckets = {"slice": split.cell_bucket_count, "hourSlice": len(split.cut_hours)}
    types: list[list[str]] = []
    for block in blocks:
        if ALL_TYPES in block.names and not event_types:
            raise InvalidQuery(
                f'VALUES ?{block.variable} {{ "{ALL_TYPES}" }} needs the engine\'s event types'
            )
        expanded = (list(event_types) if name == ALL_TYPES else [name] for name in block.names)
        types.append(list(dict.fromkeys(t for names in expanded for t in names)))
    total = sum(len(names) * buckets[b.variable] for names, b in zip(types, blocks, strict=True))
    if total > MAX_SLICE_KEYS:
        raise InvalidInput(
            f"period too long for the named queries: {total:,} slice keys, at most {MAX_SLICE_KEYS:,}"
            f" (about {MAX_SLICE_KEYS // 12:,} years of months for one event type)",
            details={"parameter": "to", "rule": "max-slice-keys", "value": period.to_text},
        )
    keys = {"slice": split.cell_buckets(), "hourSlice": split.event_buckets()}
    return [
        block_edit(b, [slice_key(t, k) for t in names for k in keys[b.variable]])
        for names, b in zip(types, blocks, strict=True)
    ]


def _fill(
    text: str,
    spans: Sequence[tuple[int, int, str]],
    blocks: Sequence[ValuesBlock],
    terms: Mapping[str, Term],
    period: Period,
    event_types: Sequence[str],
    *,
    only: int | None = None,
) -> str:
    """``text`` bound: the variables in ``terms`` replaced by their terms, the slice blocks listing
    the period's keys. ``spans`` and ``blocks`` are ``text``'s, found once when it was loaded."""
    edits = term_edits(spans, terms, only=only) + _slice_edits(blocks, period, event_types)
    return splice(text, sorted(edits))


def _syntaxposition(exc: Exception) -> tuple[int | None, int | None]:
    m = _POSITION_RE.search(str(exc))
    return (int(m[1]), int(m[2])) if m else (None, None)


def _check_sparql(
    text: str,
    spans: Sequence[tuple[int, int, str]],
    path: Path,
    meta: Mapping[str, object],
    problems: _Problems,
    event_types: Collection[str],
) -> tuple[ValuesBlock, ...] | None:
    """Parse the file as SPARQL, then bound with sample values; check the projection.

    Returns the file's slice blocks, or ``None`` when it is refused (``problems`` says why)."""
    store = ox.Store()
    start = len(problems.items)
    try:
        store.query(text)
    except SyntaxError as exc:
        line, col = _syntaxposition(exc)
        problems.add(path, line, col, f"SPARQL syntax error: {exc}")
        return None
    for m in tokens(text):
        if m.lastgroup == "word" and m.group().upper() in ("SERVICE", "LOAD"):
            problems.add(path, *position(text, m.start()), f"{m.group()} is not allowed in a named query")
    params = cast(tuple[Parameter, ...], meta["parameters"])
    used = {name for _, _, name in spans}
    for p in params:
        if p.name not in used:
            problems.add(path, 1, 1, f"parameter {p.name!r} is declared but ?{p.name} is never used")
    try:
        blocks = tuple(values_blocks(text, SLICE_VARIABLES))
    except ValueError as exc:
        problems.add(path, *position(text, exc.args[1]), exc.args[0])
        return None
    for name in sorted(set(SLICE_VARIABLES) & used - {b.variable for b in blocks}):
        at = next(s for s, _, n in spans if n == name)
        problems.add(
            path, *position(text, at), f'?{name} is used but never listed: write VALUES ?{name} {{ "order" }}'
        )
    known = set(event_types) | {ALL_TYPES}
    for block in blocks:
        unknown = [n for n in block.names if event_types and n not in known]
        if unknown:
            problems.add(
                path,
                *position(text, block.start),
                f"VALUES ?{block.variable} names unknown event type(s) {', '.join(map(repr, unknown))};"
                f" known: {', '.join(sorted(event_types))}",
            )
    terms = _sample_terms(params)
    sample = _sample_period()
    try:
        result = store.query(_fill(text, spans, blocks, terms, sample, ("sample",)))
    except SyntaxError:
        for at, end, name in spans:
            if name in terms:
                try:
                    store.query(_fill(text, spans, blocks, terms, sample, ("sample",), only=at))
                except SyntaxError:
                    problems.add(
                        path,
                        *position(text, at),
                        f"{text[at:end]} is bound by the engine; it cannot be projected, assigned (AS, BIND,"
                        " VALUES) or grouped on — use it in expressions and patterns only",
                    )
                    break
        return None
    if not isinstance(result, ox.QuerySolutions):
        problems.add(path, None, None, "a named query must be a SELECT query")
        return None
    projected = [v.value for v in result.variables]
    declared = [name for name, _ in cast(tuple[tuple[str, str], ...], meta["columns"])]
    if projected != declared:
        problems.add(
            path, None, None, f"columns {declared} must list the SELECT projection {projected} in order"
        )
    if meta["value"] not in projected:
        problems.add(path, None, None, f"value column {meta['value']!r} is not projected")
    alert = cast(Alert | None, meta["alert"])
    if alert is not None and alert.column not in projected:
        problems.add(path, None, None, f"alert column {alert.column!r} is not projected")
    return blocks if len(problems.items) == start else None


def _load_file(path: Path, problems: _Problems, event_types: Collection[str]) -> NamedQuery | None:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(path, None, None, f"not UTF-8: {exc}")
        return None
    meta = _parse_header(text, path, problems)
    if meta is None:
        return None
    spans = variable_spans(text)
    blocks = _check_sparql(text, spans, path, meta, problems, event_types)
    if blocks is None:
        return None
    return NamedQuery(
        name=str(meta["name"]),
        title=str(meta["title"]),
        description=str(meta["description"]),
        unit=str(meta["unit"]),
        value=str(meta["value"]),
        columns=cast(tuple[tuple[str, str], ...], meta["columns"]),
        parameters=cast(tuple[Parameter, ...], meta["parameters"]),
        frequency=cast(Frequency, meta["frequency"]),
        alert=cast(Alert | None, meta["alert"]),
        text=text,
        path=path,
        text_sha256=hashlib.sha256(raw).hexdigest(),
        spans=spans,
        slice_blocks=blocks,
    )


class QueryRegistry:
    """The named queries of an engine, by name, in load order."""

    def __init__(self, queries: Sequence[NamedQuery] = ()) -> None:
        self._queries: dict[str, NamedQuery] = {q.name: q for q in queries}

    @classmethod
    def load(cls, dirs: Sequence[Path], *, event_types: Collection[str] = ()) -> QueryRegistry:
        """Read ``*.rq`` from each folder in order (the shipped one first, then user folders).

        A later folder may add queries but not redefine one. Raises :class:`InvalidQuery` listing
        every problem as ``file:line:column: message`` (``details["problems"]``): a missing folder,
        a bad header (missing or unknown key, unknown type, bad default, bad alert), a SPARQL
        syntax error, a bound variable used where a variable is required, a bad slice block, a
        projection that does not match ``columns``, or the same name in two files. Given the
        engine's ``event_types``, a slice block naming another type is refused too.
        """
        problems = _Problems()
        found: dict[str, NamedQuery] = {}
        for folder in dirs:
            if not Path(folder).is_dir():
                problems.add(Path(folder), None, None, "query folder not found")
                continue
            for path in sorted(Path(folder).glob("*.rq")):
                query = _load_file(path, problems, event_types)
                if query is None:
                    continue
                if query.name in found:
                    first = found[query.name].path
                    problems.add(path, 1, 1, f"query {query.name!r} is already defined in {first}")
                    continue
                found[query.name] = query
        if problems.items:
            raise InvalidQuery(f"named queries refused:\n{problems}", details={"problems": problems.items})
        return cls(list(found.values()))

    def get(self, name: str) -> NamedQuery:
        """The query called ``name``; :class:`NotFound` when there is none."""
        try:
            return self._queries[name]
        except KeyError:
            raise NotFound(f"no named query {name!r}", details={"name": name}) from None

    @property
    def names(self) -> list[str]:
        """Query names in load order."""
        return list(self._queries)

    def __iter__(self) -> Iterator[NamedQuery]:
        return iter(self._queries.values())

    def __len__(self) -> int:
        return len(self._queries)

    def __contains__(self, name: object) -> bool:
        return name in self._queries


# -- binding and running --------------------------------------------------------------------------


def bind(
    query: NamedQuery, params: Mapping[str, str], period: Period, *, event_types: Sequence[str] = ()
) -> BoundQuery:
    """Type and validate ``params`` for ``query`` over ``period``; build the text to run.

    ``params`` holds the caller's values as text; ``from``/``to`` may be included (they must then
    denote ``period``'s edges) or left out. Missing optional parameters take their default.
    ``event_types`` (the engine's type names) is what ``"*"`` in a slice block stands for.
    Raises :class:`InvalidInput` naming the parameter and the rule: unknown parameter, missing
    required one, a value of the wrong type, or a period with too many slice keys.
    """
    declared = {p.name for p in query.parameters}
    unknown = sorted(set(params) - declared)
    if unknown:
        raise InvalidInput(
            f"unknown parameter(s) {', '.join(map(repr, unknown))}; {query.name} takes "
            f"{', '.join(sorted(declared))}",
            details={"parameter": unknown[0], "rule": "unknown-parameter", "value": params[unknown[0]]},
        )
    terms = _period_terms(period)
    bound: dict[str, str] = {"from": period.from_text, "to": period.to_text}
    for edge, moment in (("from", period.start), ("to", period.end)):
        if edge in params and parse_instant(params[edge], parameter=edge) != moment:
            raise InvalidInput(
                f"parameter {edge!r} does not match the period",
                details={"parameter": edge, "rule": "period", "value": params[edge]},
            )
    for p in query.parameters:
        if p.name in ("from", "to"):
            continue
        if p.name in params:
            text = params[p.name]
        elif p.default is not None:
            text = p.default
        else:
            raise InvalidInput(
                f"parameter {p.name!r} is required", details={"parameter": p.name, "rule": "required"}
            )
        terms[p.name], bound[p.name] = convert(p.type, text, name=p.name)
    text = _fill(query.text, query.spans, query.slice_blocks, terms, period, event_types)
    return BoundQuery(query, period, bound, terms, text)


def run(store: GraphStore, scope: QueryScope, bound: BoundQuery) -> QueryResult:
    """Run a bound query over ``scope`` and return Python rows plus provenance."""
    result = store.execute(bound.text, scope)
    if not isinstance(result, ox.QuerySolutions):
        raise InvalidQuery(f"named query {bound.query.name!r} did not return solutions")
    columns = [v.value for v in result.variables]
    rows = [{c: to_python(solution[c]) for c in columns} for solution in result]
    value = rows[0].get(bound.query.value) if len(rows) == 1 else None
    alert = bound.query.alert
    return QueryResult(
        name=bound.query.name,
        text_sha256=bound.query.text_sha256,
        parameters=dict(bound.parameters),
        columns=columns,
        rows=rows,
        value=value if isinstance(value, Decimal) and value.is_finite() else None,
        alerts=[row for row in rows if alert is not None and alert.breached(row)],
    )
