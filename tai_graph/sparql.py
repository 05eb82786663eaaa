"""The read-only SPARQL 1.1 query service behind ``/v1/sparql`` and ``tai-graph query``.

Three steps, each usable alone:

* :func:`check_query` — a guard that runs before the store sees the text. pyoxigraph executes
  ``SERVICE <url>`` by fetching the URL, so federation is refused here, along with update keywords
  (``LOAD`` …) and empty or oversized queries.
* :func:`negotiate` — the result format, from ``Accept`` (q-values, wildcards) or ``format=``, as
  the `SPARQL 1.1 Protocol <https://www.w3.org/TR/sparql11-protocol/#query-success>`_ describes.
* :class:`SparqlService` — runs a query in the caller's :class:`~tai_graph.store.QueryScope` with a
  deadline, a row limit and a cap on concurrent queries, and writes the answer.

Honest limits: pyoxigraph can neither time out nor cancel a query. The service stops iterating at
the deadline and answers :class:`~tai_graph.errors.QueryTimeout`, but a Rust call already under
way (an aggregate, ``ORDER BY`` or ``ASK`` is computed inside one call; a filter that rejects many
rows makes one ``next()`` long) finishes in the background before its worker thread exits. Such a
thread keeps its slot, so at most ``max_concurrent`` queries ever use the CPU at once; when every
slot is busy the service answers :class:`~tai_graph.errors.Unavailable`.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, cast

import pyoxigraph as ox

from tai_graph.errors import (
    ForbiddenQuery,
    InvalidQuery,
    QueryTimeout,
    TooLarge,
    Unavailable,
)
from tai_graph.sparql_results import (
    GRAPH_FORMATS,
    RESULT_FORMATS,
    QueryForm,
    ResultFormat,
    ResultsSyntax,
    negotiate,
    write_boolean,
    write_graph,
    write_solutions,
)
from tai_graph.store.base import GraphStore, QueryScope

__all__ = [
    "GRAPH_FORMATS",
    "MAX_QUERY_BYTES",
    "RESULT_FORMATS",
    "QueryAnswer",
    "QueryForm",
    "ResultFormat",
    "SparqlService",
    "check_query",
    "negotiate",
]

MAX_QUERY_BYTES = 64 * 1024

# ---------------------------------------------------------------------------------------------
# Guard
#
# A lexer with the token rules of Oxigraph's parser (spargebra, rust-peg). Three of its habits
# matter: keywords need no word boundary (``SERVICEex:x {…}`` and ``trueSERVICE`` parse as
# SERVICE), a local name takes at most one run of dots (``ex:a.b.SERVICE`` is ``ex:a.b`` ``.``
# ``SERVICE``), and ``<`` is an IRI or the less-than operator depending on where it stands. So the
# guard hides only strings, comments, variables, local names and unambiguous IRIs, and refuses any
# other run of letters that merely *contains* "service".

_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_CHARS = _BASE + r"_\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_ECHAR = r"""\\[tbnrf"'\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"""
_TOKEN = re.compile(
    rf"""
    (?P<ws>[\ \t\r\n]+)
    |(?P<comment>\#[^\r\n]*)
    |(?P<string>'''(?:(?:''|')?(?:[^'\\]|{_ECHAR}))*'''
       |\"\"\"(?:(?:\"\"|\")?(?:[^\"\\]|{_ECHAR}))*\"\"\"
       |'(?:[^'\\\n\r]|{_ECHAR})*'
       |\"(?:[^\"\\\n\r]|{_ECHAR})*\")
    |(?P<iri><(?:[^<>\"{{}}|^`\\\x00-\x20]|\\[uU][+0-9A-Fa-f]{{4,8}})*>)
    |(?P<var>[?$][{_BASE}_0-9][{_BASE}_0-9\u00b7\u0300-\u036f\u203f-\u2040]*)
    |(?P<bnode>_:[{_BASE}_0-9][{_CHARS}]*(?:\.+[{_CHARS}]+)*)
    |(?P<pname>(?:[{_BASE}](?:[{_CHARS}.]*[{_CHARS}])?)?:
       (?:(?:[{_BASE}_:0-9]|{_PLX})(?:[{_CHARS}:]|{_PLX})*(?:\.+(?:[{_CHARS}:]|{_PLX})+)?)?)
    |(?P<word>\w+)
    |(?P<other>\\.|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
)
_FORMS: tuple[QueryForm, ...] = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
#: After these, a ``<`` can only start an IRI (or ``<<``); after anything else inside an
#: expression's parentheses it may be the less-than operator.
_OPERATORS = frozenset("(,=!&|+-*/<>^")


def _forbid(rule: str, message: str) -> ForbiddenQuery:
    return ForbiddenQuery(message, details={"rule": rule})


def _federation(found: str) -> ForbiddenQuery:
    return _forbid(
        "federation",
        f"SERVICE (federated query) is not allowed, found in {found!r}: "
        "the query endpoint never opens outbound connections",
    )


def check_query(query: str, *, max_bytes: int = MAX_QUERY_BYTES) -> QueryForm:
    """The form of a read query (SELECT, ASK, CONSTRUCT or DESCRIBE), or a refusal.

    Raises :class:`ForbiddenQuery` (``details["rule"]``: ``federation``, ``read-only``, ``empty``
    or ``ambiguous``), :class:`TooLarge` over ``max_bytes`` of UTF-8, :class:`InvalidQuery` when
    no query form follows the prologue. Syntax is left to the parser: passing here does not make a
    query valid, only safe to hand to it.
    """
    try:
        size = len(query.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidQuery(f"the query is not valid Unicode text: {exc.reason}") from None
    if size > max_bytes:
        raise TooLarge(
            f"the query is {size:,} bytes, over the {max_bytes:,}-byte limit",
            details={"limit": max_bytes, "size": size},
        )
    form: QueryForm | None = None
    empty = True
    stack: list[str] = []  # open brackets; "v"/"V": a VALUES data block and a row inside it
    values_next = False  # the next "{" opens a VALUES data block
    after_operand = False  # the last token may end an operand ("<" may then mean less-than)
    for match in _TOKEN.finditer(query):
        kind, text = match.lastgroup, match.group()
        if kind in ("ws", "comment"):
            continue
        empty = False
        if kind == "other":
            if text == "{":
                stack.append("v" if values_next else "{")
            elif text == "(":
                stack.append("V" if stack and stack[-1] in "vV" else "(")
            elif text == "[":
                stack.append("[")
            elif text in (")", "]", "}") and stack:
                stack.pop()
            values_next = values_next and text in ("(", ")")
            after_operand = text not in _OPERATORS
            continue
        upper = text.upper() if kind == "word" else ""
        code = text if kind == "word" else text.partition(":")[0] if kind == "pname" else ""
        if kind == "iri" and after_operand and stack and stack[-1] == "(":
            _check_ambiguous_iri(text)
        elif "service" in code.casefold():  # a word, or the prefix of a prefixed name
            raise _federation(text)
        elif upper in _UPDATE_KEYWORDS:
            raise _forbid("read-only", f"{upper} is an update: this is a read-only query endpoint")
        elif upper and form is None and not upper.startswith(("BASE", "PREFIX")):
            form = next((f for f in _FORMS if upper.startswith(f)), None)
            if form is None:
                raise InvalidQuery(f"expected SELECT, ASK, CONSTRUCT or DESCRIBE, found {text!r}")
        values_next = upper == "VALUES" or (kind == "var" and values_next)
        after_operand = True
    if empty:
        raise _forbid("empty", "the query is empty")
    if form is None:
        raise InvalidQuery("expected SELECT, ASK, CONSTRUCT or DESCRIBE after the prologue")
    return form


def _check_ambiguous_iri(token: str) -> None:
    """``(?a <x>`` may be an IRI (a collection) or ``?a < x >`` (an expression); make sure that
    reading it either way hides nothing: no brackets, comment or quote inside, and no SERVICE."""
    content = token[1:-1]
    if "service" in content.casefold():
        raise _federation(token)
    if any(c in content for c in "()[]#'"):
        raise _forbid(
            "ambiguous",
            f"{token!r} after a value inside parentheses reads both as an IRI and as the less-than "
            "operator: put spaces around '<' when you mean less-than, or use a prefixed name",
        )


# ---------------------------------------------------------------------------------------------
# Execution


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    """A written result. ``row_count`` counts solutions (SELECT), triples (CONSTRUCT, DESCRIBE)
    or 1 (ASK); ``truncated`` is true only when the caller allowed truncation and the result had
    more than the limit; ``elapsed_ms`` is the wall time of :meth:`SparqlService.run`."""

    media_type: str
    body: bytes
    form: QueryForm
    row_count: int
    truncated: bool
    elapsed_ms: float

    @property
    def content_type(self) -> str:
        """``media_type`` with ``charset=utf-8`` for ``text/*`` types, for a Content-Type header."""
        return self.media_type + ("; charset=utf-8" if self.media_type.startswith("text/") else "")


class SparqlService:
    """Runs guarded read queries on ``store`` within limits: ``timeout_s`` of wall time,
    ``result_limit`` rows (or triples), ``max_concurrent`` queries at once (callers wait up to
    ``slot_wait_s`` for a slot). Thread-safe; one instance serves every request."""

    def __init__(
        self,
        store: GraphStore,
        *,
        timeout_s: float,
        result_limit: int,
        max_concurrent: int,
        max_query_bytes: int = MAX_QUERY_BYTES,
        slot_wait_s: float = 0.5,
    ) -> None:
        if timeout_s <= 0 or result_limit < 0 or max_concurrent < 1:
            raise ValueError("timeout_s > 0, result_limit >= 0 and max_concurrent >= 1 are required")
        self._store = store
        self.timeout_s = timeout_s
        self.result_limit = result_limit
        self.max_concurrent = max_concurrent
        self.max_query_bytes = max_query_bytes
        self.slot_wait_s = slot_wait_s
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self._running = 0

    @property
    def running(self) -> int:
        """Worker threads still running, including those whose caller already timed out."""
        return self._running

    def run(
        self,
        query: str,
        *,
        scope: QueryScope,
        accept: str | None = None,
        format_param: str | None = None,
        allow_truncation: bool = False,
    ) -> QueryAnswer:
        """Guard, negotiate, execute within ``scope`` and write the answer.

        Raises what :func:`check_query` and :func:`negotiate` raise, :class:`InvalidQuery` for a
        syntax error (with the parser's line and column) or a failed evaluation,
        :class:`TooLarge` over ``result_limit`` (unless ``allow_truncation``: then the first
        ``result_limit`` rows, marked ``truncated``), :class:`QueryTimeout` past ``timeout_s``,
        :class:`Unavailable` when no slot frees within ``slot_wait_s``.
        """
        started = time.monotonic()
        form = check_query(query, max_bytes=self.max_query_bytes)
        fmt = negotiate(form, accept, format_param)
        if not self._slots.acquire(timeout=self.slot_wait_s):
            raise Unavailable(
                f"all {self.max_concurrent} query slots are busy; retry in a few seconds",
                details={"max_concurrent": self.max_concurrent},
            )
        deadline = time.monotonic() + self.timeout_s
        cancelled = threading.Event()
        future: Future[tuple[bytes, int, bool]] = Future()

        def work() -> None:
            try:
                future.set_result(
                    self._evaluate(query, scope, fmt, allow_truncation, deadline, cancelled.is_set)
                )
            except BaseException as exc:  # handed to the caller, never lost
                future.set_exception(_scrubbed(exc))
            finally:
                with self._lock:
                    self._running -= 1
                self._slots.release()

        with self._lock:
            self._running += 1
        try:
            threading.Thread(target=work, name="tai-sparql-query", daemon=True).start()
        except BaseException:
            with self._lock:
                self._running -= 1
            self._slots.release()
            raise
        try:
            body, count, truncated = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            cancelled.set()
            raise self._timeout() from None
        elapsed_ms = (time.monotonic() - started) * 1000
        return QueryAnswer(fmt.media_type, body, form, count, truncated, round(elapsed_ms, 3))

    def _timeout(self) -> QueryTimeout:
        return QueryTimeout(
            f"the query ran past the {self.timeout_s:g} s time limit; narrow it (a shorter period, "
            "fewer patterns, LIMIT) or use a named query",
            details={"limit_s": self.timeout_s},
        )

    def _evaluate(
        self,
        query: str,
        scope: QueryScope,
        fmt: ResultFormat,
        allow_truncation: bool,
        deadline: float,
        cancelled: Callable[[], bool],
    ) -> tuple[bytes, int, bool]:
        """In the worker thread: pyoxigraph results must be made, read and dropped on one thread."""
        limit = self.result_limit
        if cancelled() or time.monotonic() > deadline:  # the thread started late
            raise self._timeout()
        try:
            result = self._store.execute(query, scope)
        except SyntaxError as exc:
            raise InvalidQuery(f"SPARQL syntax error: {exc}") from None
        except RuntimeError as exc:
            raise InvalidQuery(f"the query failed: {exc}") from None
        if isinstance(result, ox.QueryBoolean) and not fmt.graph:
            return write_boolean(cast(ResultsSyntax, fmt.name), bool(result)), 1, False
        if isinstance(result, ox.QueryBoolean) or isinstance(result, ox.QueryTriples) != fmt.graph:
            raise InvalidQuery("the query's form could not be determined")  # the guard misread it
        variables = [] if fmt.graph else [v.value for v in result.variables]  # type: ignore[union-attr]
        items: list[Any] = []
        truncated = False
        try:
            for item in result:
                if cancelled() or time.monotonic() > deadline:
                    raise self._timeout()
                if len(items) == limit:
                    if not allow_truncation:
                        raise TooLarge(
                            f"the result has more than {limit:,} {'triples' if fmt.graph else 'rows'}, "
                            "the limit; add LIMIT (and OFFSET to page) or aggregate in the query",
                            details={"limit": limit},
                        )
                    truncated = True
                    break
                items.append(item if fmt.graph else tuple(item))
        except RuntimeError as exc:
            raise InvalidQuery(f"the query failed: {exc}") from None
        finally:
            del result
        if not fmt.graph:
            return write_solutions(cast(ResultsSyntax, fmt.name), variables, items), len(items), truncated
        return write_graph(fmt, items), len(items), truncated


def _scrubbed(exc: BaseException) -> BaseException:
    """``exc`` without the worker's frames: a frame's locals may hold a pyoxigraph result, which
    must not be freed on another thread (pyo3 aborts the process)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    return exc
