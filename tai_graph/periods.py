"""Periods: half-open UTC time ranges, their calendar-month count, and how they fall on rollup cells.

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
    "Period",
    "Slices",
    "calendar_months",
    "decimal_context",
    "hour_bucket",
    "month_count",
    "month_fraction",
    "parse_instant",
    "parse_period",
    "slices",
]

#: Significant digits carried by every Decimal division in the period and value math.
PRECISION = 28

_ONE_MICROSECOND = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)

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


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime | None:
    """The first whole hour at or after ``moment`` (``None`` past the last representable one)."""
    floor = _floor_hour(moment)
    if floor == moment:
        return moment
    try:
        return floor + _HOUR
    except OverflowError:
        return None


def _ceil_day(moment: datetime) -> date | None:
    day = moment.date()
    if moment == datetime(day.year, day.month, day.day, tzinfo=UTC):
        return day
    return None if day == date.max else day + _DAY


def _ceil_month(day: date) -> date | None:
    """The first day of a month at or after ``day`` (``None`` past December 9999)."""
    if day.day == 1:
        return day
    nxt = _next_month(datetime(day.year, day.month, 1, tzinfo=UTC))
    return None if nxt is None else nxt.date()


def _months_between(first: date, end: date) -> int:
    return (end.year - first.year) * 12 + end.month - first.month


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Slices:
    """How a period falls on the rollup cells: whole UTC months, days and hours, and cut hours.

    ``month_from``/``month_to``: first days of the whole UTC calendar months inside the period,
    half-open (none when ``month_from >= month_to``), read from monthly cells. ``days``: the (at
    most two) half-open runs of whole UTC days inside the period but outside those months, read
    from daily cells. ``hours``: the (at most two) runs of whole UTC hours outside those days, read
    from hourly cells. ``cut_hours``: the (at most two) UTC hours that ``start`` or ``end`` cut,
    read from the events themselves with ``from <= timestamp < to``. Every instant of the period
    lies in exactly one of them, and each part is as coarse as it can be: a calendar month in UTC
    is one monthly cell per dimension combination, and a period whose edges are whole hours (any
    calendar month in any whole-hour UTC offset) has no cut hours, so its KPIs never read an event.
    """

    month_from: date
    month_to: date
    days: tuple[tuple[date, date], ...]
    hours: tuple[tuple[datetime, datetime], ...]
    cut_hours: tuple[datetime, ...]

    @property
    def month_count(self) -> int:
        return max(0, _months_between(self.month_from, self.month_to))

    @property
    def day_count(self) -> int:
        return sum((end - first).days for first, end in self.days)

    @property
    def hour_count(self) -> int:
        return sum((end - first) // _HOUR for first, end in self.hours)

    @property
    def cell_bucket_count(self) -> int:
        """How many cells of one dimension combination cover the period: months, days and hours."""
        return self.month_count + self.day_count + self.hour_count

    def months(self) -> Iterator[date]:
        for n in range(self.month_count):
            months = self.month_from.month - 1 + n
            yield date(self.month_from.year + months // 12, months % 12 + 1, 1)

    def whole_days(self) -> Iterator[date]:
        for first, end in self.days:
            for n in range((end - first).days):
                yield first + n * _DAY

    def whole_hours(self) -> Iterator[datetime]:
        for first, end in self.hours:
            hour = first
            while hour < end:
                yield hour
                hour += _HOUR

    def cell_buckets(self) -> list[str]:
        """The keys of the cells to read: ``2026-03`` per whole month, ``2026-03-04`` per whole day
        outside them, ``2026-03-03T06`` per whole hour outside those."""
        return (
            [m.isoformat()[:7] for m in self.months()]
            + [d.isoformat() for d in self.whole_days()]
            + [hour_bucket(h) for h in self.whole_hours()]
        )

    def event_buckets(self) -> list[str]:
        """The hour keys of the events to read one by one (the cut hours)."""
        return [hour_bucket(h) for h in self.cut_hours]


def hour_bucket(moment: datetime) -> str:
    """The hour key of a UTC instant: ``2026-03-03T05`` (the bucket ``tai:hourSlice`` uses); its
    first 10 characters are the day key and its first 7 the month key."""
    return f"{moment.date().isoformat()}T{moment.hour:02d}"


def _runs(
    first: datetime, end: datetime, inner_first: datetime, inner_end: datetime
) -> tuple[tuple[datetime, datetime], ...]:
    """``[first, end)`` minus ``[inner_first, inner_end)`` (which lies inside it): up to two runs."""
    return tuple(r for r in ((first, inner_first), (inner_end, end)) if r[0] < r[1])


def slices(period: Period) -> Slices:
    """Split ``period`` into whole UTC months, days and hours and the (at most two) cut hours."""
    start, end = period.start, period.end
    first_hour = _ceil_hour(start)
    last_hour = _floor_hour(end)
    if first_hour is None or first_hour > last_hour:  # inside one hour
        return Slices(start.date(), start.date(), (), (), (_floor_hour(start),))
    cut = tuple([_floor_hour(start)] * (start != first_hour) + [last_hour] * (end != last_hour))
    day_from, day_to = _ceil_day(first_hour), last_hour.date()
    if day_from is None or day_from >= day_to:  # no whole day
        return Slices(day_to, day_to, (), ((first_hour, last_hour),) if first_hour < last_hour else (), cut)
    hours = _runs(first_hour, last_hour, _midnight(day_from), _midnight(day_to))
    month_from, month_to = _ceil_month(day_from), day_to.replace(day=1)
    if month_from is None or month_from >= month_to:  # no whole month
        return Slices(day_to, day_to, ((day_from, day_to),), hours, cut)
    days = tuple(r for r in ((day_from, month_from), (month_to, day_to)) if r[0] < r[1])
    return Slices(month_from, month_to, days, hours, cut)
