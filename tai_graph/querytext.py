"""SPARQL text and terms for named queries: a small lexer, safe substitution, typed values.

The lexer finds the tokens that matter for binding — variables (``?x``, ``$x``) and bare words —
and skips comments, strings (all four quote forms) and IRIs, so a ``?from`` inside ``"…"`` or
``# …`` is never touched. :func:`substitute` replaces bound variables by ``str(term)``: pyoxigraph's
own serialisation, which escapes quotes, backslashes and line breaks, so a caller's text can never
end a literal early. :func:`convert` turns a caller's text into a typed term (or refuses it, naming
the parameter and the rule); :func:`to_python` turns result terms into Python values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

import pyoxigraph as ox

from tai_graph.errors import InvalidInput, InvalidPeriod
from tai_graph.model import format_utc
from tai_graph.periods import parse_instant
from tai_graph.store.base import Term

__all__ = [
    "SAMPLES",
    "XSD",
    "Edit",
    "ParamType",
    "Value",
    "ValuesBlock",
    "block_edit",
    "convert",
    "position",
    "splice",
    "substitute",
    "term_edits",
    "to_python",
    "tokens",
    "typed",
    "values_blocks",
    "variable_spans",
    "variables",
]

XSD = "http://www.w3.org/2001/XMLSchema#"
ParamType = Literal["dateTime", "date", "decimal", "integer", "string", "iri"]
#: A result cell as Python: numbers are Decimal, dateTime a UTC datetime, IRIs and strings str.
Value = Decimal | str | datetime | date | bool | None

_MAX_TEXT = 4096
_DECIMAL_RE = re.compile(r"[+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})", re.ASCII)
_INTEGER_RE = re.compile(r"[+-]?\d{1,40}", re.ASCII)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:", re.ASCII)

_VARCHARS = (
    "A-Za-z0-9_\u00b7\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u037d\u037f-\u1fff\u200c\u200d"
    "\u203f\u2040\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_STRINGS = (
    r'"""(?:[^"\\]|\\.|"(?!""))*"""',  # """long"""
    r"'''(?:[^'\\]|\\.|'(?!''))*'''",  # '''long'''
    r'"(?:[^"\\\r\n]|\\.)*"',  # "short"
    r"'(?:[^'\\\r\n]|\\.)*'",  # 'short'
)
#: SPARQL tokens that matter for binding; everything else is skipped one character at a time.
_TOKEN_RE = re.compile(
    r"(?P<comment>#[^\r\n]*)"
    rf"|(?P<string>{'|'.join(_STRINGS)})"
    r"|(?P<iri><[^<>\"{}|^`\\\x00-\x20]*>)"
    rf"|(?P<var>[?$][{_VARCHARS}]+)"
    r"|(?P<word>[A-Za-z_][\w.-]*(?::[\w.:%-]*)?|:[\w.:%-]*)"
    r"|(?P<other>.)",
    re.DOTALL,
)


def tokens(text: str) -> Iterator[re.Match[str]]:
    """The significant tokens of SPARQL text (variables, words), comments/strings/IRIs skipped."""
    for m in _TOKEN_RE.finditer(text):
        if m.lastgroup in ("var", "word"):
            yield m


def variables(text: str) -> set[str]:
    """Names of the variables (``?x`` or ``$x``) used in SPARQL ``text``."""
    return {m.group()[1:] for m in tokens(text) if m.lastgroup == "var"}


#: ``(start, end, replacement)``: ``text[start:end]`` becomes ``replacement``.
Edit = tuple[int, int, str]


def splice(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with each edit applied; the edits are in text order and do not overlap."""
    out: list[str] = []
    last = 0
    for start, end, replacement in edits:
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def variable_spans(text: str) -> tuple[tuple[int, int, str], ...]:
    """``(start, end, name)`` of every variable token of ``text``, in order (lex once, bind often)."""
    return tuple((m.start(), m.end(), m.group()[1:]) for m in tokens(text) if m.lastgroup == "var")


def term_edits(
    spans: Iterable[tuple[int, int, str]], terms: Mapping[str, Term], *, only: int | None = None
) -> list[Edit]:
    """The edits that replace each variable named in ``terms`` by the term's serialisation.

    ``only`` restricts them to the variable token starting at that offset (used to locate a bad
    use of a bound variable).
    """
    return [(s, e, str(terms[n])) for s, e, n in spans if n in terms and (only is None or s == only)]


def substitute(text: str, terms: Mapping[str, Term], *, only: int | None = None) -> str:
    """``text`` with every variable named in ``terms`` replaced by the term's serialisation."""
    return splice(text, term_edits(variable_spans(text), terms, only=only))


@dataclass(frozen=True, slots=True)
class ValuesBlock:
    """``VALUES ?var { "a" "b" }`` in query text: the variable, the listed names, and the span of
    the braces' inside (``start``/``end`` offsets), which :func:`block_edit` rewrites."""

    variable: str
    names: tuple[str, ...]
    start: int
    end: int


def values_blocks(text: str, variables: Iterable[str]) -> list[ValuesBlock]:
    """The one-variable ``VALUES`` blocks over any of ``variables`` whose values are plain strings.

    Raises ``ValueError`` (with the offset of the problem as ``args[1]``) for a block over one of
    ``variables`` that lists anything but plain short strings without escapes.
    """
    wanted = set(variables)
    significant = [
        m for m in _TOKEN_RE.finditer(text) if m.lastgroup != "comment" and not m.group().isspace()
    ]
    blocks: list[ValuesBlock] = []
    for i, m in enumerate(significant[:-2]):
        if m.lastgroup != "word" or m.group().upper() != "VALUES":
            continue
        var, brace = significant[i + 1], significant[i + 2]
        if var.lastgroup != "var" or var.group()[1:] not in wanted or brace.group() != "{":
            continue
        names: list[str] = []
        for item in significant[i + 3 :]:
            if item.group() == "}":
                blocks.append(ValuesBlock(var.group()[1:], tuple(names), brace.end(), item.start()))
                break
            lexeme = item.group()
            if item.lastgroup != "string" or lexeme[:3] in ('"""', "'''") or "\\" in lexeme:
                raise ValueError(
                    f'VALUES {var.group()} lists event types as plain strings, e.g. {{ "order" }}',
                    item.start(),
                )
            names.append(lexeme[1:-1])
        else:
            raise ValueError(f"VALUES {var.group()} is not closed", brace.start())
    return blocks


def block_edit(block: ValuesBlock, values: Sequence[str]) -> Edit:
    """The edit that replaces the inside of ``block`` by ``values`` as (escaped) strings."""
    return (block.start, block.end, " " + " ".join(str(ox.Literal(v)) for v in values) + " ")


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def typed(dt: str, text: str) -> ox.Literal:
    """A literal of the XSD datatype ``dt`` (local name, e.g. ``"date"``)."""
    return ox.Literal(text, datatype=ox.NamedNode(XSD + dt))


def _canonical_decimal(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def convert(ptype: ParamType, text: str, *, name: str) -> tuple[Term, str]:
    """Check ``text`` against a parameter type; return the term and the normalised text.

    Raises :class:`InvalidInput` with ``details`` naming the parameter, the rule and the value.
    """

    def fail(rule: str, why: str) -> InvalidInput:
        return InvalidInput(
            f"parameter {name!r}: {why}", details={"parameter": name, "rule": rule, "value": text}
        )

    if not isinstance(text, str):
        raise fail("type", "expected text")
    if len(text) > _MAX_TEXT:
        raise fail("max-length", f"at most {_MAX_TEXT} characters")
    if ptype == "dateTime":
        try:
            instant = parse_instant(text, parameter=name)
        except InvalidPeriod as exc:
            raise fail("dateTime", exc.message) from None
        return typed("dateTime", format_utc(instant)), format_utc(instant)
    if ptype == "date":
        try:
            if not _DATE_RE.fullmatch(text):
                raise ValueError
            day = date.fromisoformat(text)
        except ValueError:
            raise fail("date", "expected a date YYYY-MM-DD") from None
        return typed("date", day.isoformat()), day.isoformat()
    if ptype in ("decimal", "integer"):
        if not (_INTEGER_RE if ptype == "integer" else _DECIMAL_RE).fullmatch(text):
            raise fail(ptype, f"expected {'an integer' if ptype == 'integer' else 'a decimal number'}")
        canonical = str(int(text)) if ptype == "integer" else _canonical_decimal(Decimal(text))
        return typed(ptype, canonical), canonical
    if ptype == "iri":
        if not _SCHEME_RE.match(text):
            raise fail("iri", "expected an absolute IRI (with a scheme, e.g. urn: or https:)")
        try:
            return ox.NamedNode(text), text
        except ValueError as exc:
            raise fail("iri", f"not a valid IRI ({exc})") from None
    try:
        return ox.Literal(text), text
    except ValueError:
        raise fail("string", "not valid Unicode text") from None


#: A valid value of each type, used to check a query binds cleanly when it is loaded.
SAMPLES: dict[ParamType, str] = {
    "dateTime": "2026-01-01T12:00:00Z",
    "date": "2026-01-01",
    "decimal": "1.5",
    "integer": "1",
    "string": "x",
    "iri": "urn:tai:sample",
}


def to_python(term: Term | None) -> Value:
    """A result term as Python: numeric literals → Decimal, xsd:dateTime → datetime, xsd:date →
    date, xsd:boolean → bool, other literals and IRIs → str, unbound → None."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    dt = term.datatype.value
    text = term.value
    try:
        if dt.startswith(XSD):
            local = dt[len(XSD) :]
            if local in _NUMERIC:
                return Decimal(text.strip())
            if local == "dateTime":
                moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
                return moment.astimezone(UTC) if moment.utcoffset() is not None else moment
            if local == "date" and _DATE_RE.fullmatch(text):
                return date.fromisoformat(text)
            if local == "boolean" and text in ("true", "false", "1", "0"):
                return text in ("true", "1")
    except (ValueError, InvalidOperation):
        pass
    return text


_NUMERIC = frozenset(
    (
        "integer",
        "decimal",
        "double",
        "float",
        "long",
        "int",
        "short",
        "byte",
        "nonNegativeInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "positiveInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
)
