"""Periods: half-open UTC time ranges, their calendar-month count, and their day split.

A period is ``[start, end)``: it contains ``start`` and every instant up to, but not including,
``end``. Both edges are timezone-aware UTC datetimes; offsets given by a caller are converted to
UTC on the way in, so nothing here depends on a local zone or daylight-saving rules.

"Per month" in the methodology (SPEC §3) means per calendar month. A period's month count is the
sum, over the calendar months it touches, of the share of each month it covers, measured in
time (to the microsecond): a whole calendar month counts 1, a partial one counts
``covered / length of that month``, which is days / days-in-month for whole days. The count is
exact as a ``Fraction`` (:func:`month_fraction`) and carried to :data:`PRECISION` significant
digits as a ``Decimal`` (:func:`month_count`). No floats anywhere.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

from tai_graph.errors import InvalidPeriod
from tai_graph.model import format_utc

__all__ = [
    "PRECISION",
    "SENTINEL_DAY",
    "DaySplit",
    "Period",
    "calendar_months",
    "day_split",
    "decimal_context",
    "month_count",
    "month_fraction",
    "parse_instant",
    "parse_period",
]

#: Significant digits carried by every Decimal division in the period and value math.
PRECISION = 28

#: The date bound to ``?headDay`` / ``?tailDay`` when that edge falls on UTC midnight.
SENTINEL_DAY = date(1, 1, 1)

_ONE_MICROSECOND = timedelta(microseconds=1)
_DAY = timedelta(days=1)

_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,
)


def decimal_context() -> Context:
    """The Decimal context of the period and value math: :data:`PRECISION` digits, half-even.

    Half-even is used only for the last carried digit of inexact divisions (e.g. 1/31); it never
    reaches a displayed figure, which is rounded separately (see ``tai_graph.value``).
    """
    return Context(prec=PRECISION, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open UTC time range ``[start, end)``.

    Both edges must be timezone-aware; they are stored converted to UTC. ``start < end`` always
    holds (an empty or reversed range raises :class:`InvalidPeriod`). A period unpacks as
    ``start, end = period``.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.utcoffset() is None:
                raise InvalidPeriod(
                    f"period {name} must be a timezone-aware datetime",
                    details={"parameter": name, "rule": "timezone-aware", "value": str(value)},
                )
            object.__setattr__(self, name, value.astimezone(UTC))
        if self.start >= self.end:
            raise InvalidPeriod(
                f"period start ({self.from_text}) must be before its end ({self.to_text})",
                details={
                    "parameter": "from",
                    "rule": "from < to",
                    "value": {"from": self.from_text, "to": self.to_text},
                },
            )

    def __iter__(self) -> Iterator[datetime]:
        yield self.start
        yield self.end

    def __contains__(self, instant: object) -> bool:
        """Whether a timezone-aware ``instant`` lies in ``[start, end)``."""
        if not isinstance(instant, datetime) or instant.utcoffset() is None:
            return False
        return self.start <= instant < self.end

    @property
    def from_text(self) -> str:
        """``start`` as RFC 3339 UTC text (``2026-01-01T00:00:00Z``)."""
        return format_utc(self.start)

    @property
    def to_text(self) -> str:
        """``end`` as RFC 3339 UTC text."""
        return format_utc(self.end)

    @property
    def duration(self) -> timedelta:
        """``end - start``."""
        return self.end - self.start

    def to_dict(self) -> dict[str, str]:
        """``{"from": …, "to": …}`` as RFC 3339 UTC text."""
        return {"from": self.from_text, "to": self.to_text}


def parse_instant(text: str, *, parameter: str) -> datetime:
    """Parse one period edge into a UTC datetime.

    Accepts an RFC 3339 date-time with a zone (``Z`` or ``±hh:mm``; converted to UTC; up to
    microsecond precision) or a plain date ``YYYY-MM-DD`` meaning 00:00 UTC of that day. Anything
    else — notably a date-time without a zone — raises :class:`InvalidPeriod` naming ``parameter``
    and the rule it breaks.
    """

    def fail(rule: str, why: str) -> InvalidPeriod:
        return InvalidPeriod(
            f"{parameter!r}: {why}", details={"parameter": parameter, "rule": rule, "value": text}
        )

    if not isinstance(text, str):
        raise fail("rfc3339", "expected text")
    if m := _DATE_RE.fullmatch(text):
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
        except ValueError as exc:
            raise fail("rfc3339", f"not a valid date ({exc})") from None
    m = _DATETIME_RE.fullmatch(text)
    if m is None:
        raise fail("rfc3339", "expected an RFC 3339 date-time with a zone or a date YYYY-MM-DD")
    if m[8] is None:
        raise fail("zone-required", "a date-time needs a zone ('Z' or an offset such as '+01:00')")
    fraction = m[7] or ""
    if len(fraction) > 6 and fraction[6:].strip("0"):
        raise fail("rfc3339", "at most microsecond precision is supported")
    zone = m[8].upper()
    if zone == "Z":
        tz = UTC
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise fail("rfc3339", "offset out of range")
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if zone[0] == "-" else offset)
    try:
        local = datetime(
            int(m[1]),
            int(m[2]),
            int(m[3]),
            int(m[4]),
            int(m[5]),
            int(m[6]),
            int(fraction[:6].ljust(6, "0")),
            tzinfo=tz,
        )
        return local.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise fail("rfc3339", f"not a valid date-time ({exc})") from None


def parse_period(from_text: str, to_text: str) -> Period:
    """Parse the ``from`` and ``to`` parameters into a :class:`Period`.

    Each edge is parsed by :func:`parse_instant`. Raises :class:`InvalidPeriod` with
    ``details["parameter"]`` set to ``"from"`` or ``"to"`` and ``details["rule"]`` naming the rule
    (``rfc3339``, ``zone-required``, ``from < to``).
    """
    start = parse_instant(from_text, parameter="from")
    end = parse_instant(to_text, parameter="to")
    if start >= end:
        raise InvalidPeriod(
            f"'from' ({format_utc(start)}) must be before 'to' ({format_utc(end)}); periods are "
            "half-open [from, to)",
            details={"parameter": "from", "rule": "from < to", "value": {"from": from_text, "to": to_text}},
        )
    return Period(start, end)


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def _next_month(moment: datetime) -> datetime | None:
    """Start of the month after ``moment``'s, or None past year 9999 (not representable)."""
    if moment.month == 12:
        return None if moment.year == MAXYEAR else _month_start(moment.year + 1, 1)
    return _month_start(moment.year, moment.month + 1)


def _month_microseconds(year: int, month: int) -> int:
    return monthrange(year, month)[1] * (_DAY // _ONE_MICROSECOND)


def calendar_months(period: Period) -> Iterator[Period]:
    """The period cut at UTC calendar-month boundaries, in order.

    Each piece is a :class:`Period` inside one calendar month (unpack it as ``start, end``); the
    pieces are contiguous and their union is ``period``.
    """
    cursor = period.start
    while cursor < period.end:
        boundary = _next_month(cursor)
        piece_end = period.end if boundary is None else min(boundary, period.end)
        yield Period(cursor, piece_end)
        cursor = piece_end


def month_fraction(period: Period) -> Fraction:
    """The exact month count of ``period`` (see :func:`month_count`)."""
    total = Fraction(0)
    for piece in calendar_months(period):
        month_length = _month_microseconds(piece.start.year, piece.start.month)
        total += Fraction(piece.duration // _ONE_MICROSECOND, month_length)
    return total


def month_count(period: Period) -> Decimal:
    """How many calendar months ``period`` spans, in months (Decimal, no unit prefix).

    Whole UTC calendar months count 1 each; a partial month counts the share of that month's
    length it covers (days / days-in-month for whole days). ``[2026-01-01, 2026-02-01)`` is 1,
    ``[2026-01-15, 2026-02-15)`` is 17/31 + 14/28. Exact up to :data:`PRECISION` significant
    digits (the last one rounded half-even); :func:`month_fraction` gives the exact rational.
    """
    exact = month_fraction(period)
    ctx = decimal_context()
    return ctx.divide(Decimal(exact.numerator), Decimal(exact.denominator))


@dataclass(frozen=True, slots=True)
class DaySplit:
    """How a period falls on UTC days, as bound into named queries (see docs/design.md).

    ``day_from``/``day_to``: the whole UTC days inside the period, half-open (``day_from >=
    day_to`` when there are none). ``head_day``: the UTC day cut by ``start`` (``None`` when
    ``start`` is midnight). ``tail_day``: the UTC day cut by ``end`` (``None`` when ``end`` is
    midnight, or when it is the same day as ``head_day`` — a period inside one day has one cut day,
    reported as ``head_day``). A query sums daily rollups for ``[day_from, day_to)`` and raw events
    with ``from <= timestamp < to`` on ``head_day`` and ``tail_day``; every instant of the period
    is then counted exactly once.
    """

    day_from: date
    day_to: date
    head_day: date | None
    tail_day: date | None

    def bindings(self) -> dict[str, date]:
        """``dayFrom``, ``dayTo``, ``headDay``, ``tailDay``, with :data:`SENTINEL_DAY` for None."""
        return {
            "dayFrom": self.day_from,
            "dayTo": self.day_to,
            "headDay": self.head_day or SENTINEL_DAY,
            "tailDay": self.tail_day or SENTINEL_DAY,
        }


def _is_midnight(moment: datetime) -> bool:
    return moment.hour == moment.minute == moment.second == moment.microsecond == 0


def day_split(period: Period) -> DaySplit:
    """Split ``period`` into whole UTC days and the (at most two) partial days at its edges."""
    start_day, end_day = period.start.date(), period.end.date()
    head = None if _is_midnight(period.start) else start_day
    tail = None if _is_midnight(period.end) or end_day == head else end_day
    # Whole days start the day after a cut head day (at date.max none can follow: keep it).
    day_from = start_day if head is None or start_day == date.max else start_day + _DAY
    return DaySplit(day_from=day_from, day_to=end_day, head_day=head, tail_day=tail)
