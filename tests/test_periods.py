from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tai_graph.errors import InvalidPeriod
from tai_graph.periods import (
    Period,
    Slices,
    calendar_months,
    hour_bucket,
    month_count,
    month_fraction,
    parse_period,
    slices,
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# -- parsing ---------------------------------------------------------------------------------


def test_plain_dates_mean_utc_midnight() -> None:
    p = parse_period("2026-01-01", "2026-02-01")
    assert p == Period(utc(2026, 1, 1), utc(2026, 2, 1))
    assert p.to_dict() == {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}


def test_offsets_are_converted_to_utc() -> None:
    p = parse_period("2026-01-01T00:00:00-05:00", "2026-01-02T01:30:00+01:30")
    assert p.start == utc(2026, 1, 1, 5)
    assert p.end == utc(2026, 1, 2, 0)
    assert p.start.tzinfo is UTC


def test_z_lowercase_and_fractional_seconds() -> None:
    p = parse_period("2026-01-01t10:00:00.25z", "2026-01-01T10:00:01.123456000Z")
    assert p.start == utc(2026, 1, 1, 10, 0, 0, 250000)
    assert p.end == utc(2026, 1, 1, 10, 0, 1, 123456)


def test_fractional_seconds_beyond_microseconds_must_be_zero() -> None:
    with pytest.raises(InvalidPeriod) as exc:
        parse_period("2026-01-01T00:00:00.1234567Z", "2026-02-01")
    assert exc.value.details["parameter"] == "from"


@pytest.mark.parametrize(
    ("from_text", "to_text", "parameter", "rule"),
    [
        ("2026-01-01T00:00:00", "2026-02-01", "from", "zone-required"),
        ("2026-01-01", "2026-02-01T00:00:00", "to", "zone-required"),
        ("2026-01-01", "2026-01-01", "from", "from < to"),
        ("2026-02-01", "2026-01-01", "from", "from < to"),
        ("2026-01-01T05:00:00Z", "2026-01-01T00:00:00-05:00", "from", "from < to"),
        ("2026-13-01", "2027-01-01", "from", "rfc3339"),
        ("2026-02-30", "2027-01-01", "from", "rfc3339"),
        ("20260101", "2027-01-01", "from", "rfc3339"),
        ("2026-W01-1", "2027-01-01", "from", "rfc3339"),
        ("2026-01-01T00:00Z", "2027-01-01", "from", "rfc3339"),
        ("2026-01-01 00:00:00Z", "2027-01-01", "from", "rfc3339"),
        ("2026-01-01", "2027-01-01T00:00:00+24:00", "to", "rfc3339"),
        ("2026-01-01", " 2027-01-01", "to", "rfc3339"),
        ("", "2027-01-01", "from", "rfc3339"),
        ("٢٠٢٦-01-01", "2027-01-01", "from", "rfc3339"),
        ("2026-01-01", "9999-12-31T23:00:00-05:00", "to", "rfc3339"),
    ],
)
def test_invalid_periods_name_parameter_and_rule(
    from_text: str, to_text: str, parameter: str, rule: str
) -> None:
    with pytest.raises(InvalidPeriod) as exc:
        parse_period(from_text, to_text)
    assert exc.value.details["parameter"] == parameter
    assert exc.value.details["rule"] == rule
    assert parameter in exc.value.message or rule == "from < to"


def test_period_refuses_naive_datetimes() -> None:
    with pytest.raises(InvalidPeriod):
        Period(datetime(2026, 1, 1), utc(2026, 2, 1))


def test_period_is_half_open() -> None:
    p = parse_period("2026-01-01", "2026-02-01")
    assert utc(2026, 1, 1) in p
    assert utc(2026, 1, 31, 23, 59, 59, 999999) in p
    assert utc(2026, 2, 1) not in p
    assert datetime(2026, 1, 5) not in p  # naive: never inside
    start, end = p
    assert (start, end) == (p.start, p.end)


# -- month count -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_text", "to_text", "months"),
    [
        ("2026-01-01", "2026-02-01", Fraction(1)),  # exactly one calendar month
        ("2026-02-01", "2026-03-01", Fraction(1)),  # 28 days, still one month
        ("2028-02-01", "2028-03-01", Fraction(1)),  # leap February: 29 days, one month
        ("2028-02-01", "2028-02-15", Fraction(14, 29)),
        ("2026-02-01", "2026-02-15", Fraction(14, 28)),
        ("2026-01-15", "2026-02-15", Fraction(17, 31) + Fraction(14, 28)),
        ("2026-01-01", "2026-04-01", Fraction(3)),  # 90 days that are whole months
        ("2026-02-01", "2026-05-02", Fraction(3) + Fraction(1, 31)),  # 90 days from Feb 1
        ("2025-10-03", "2026-01-01", Fraction(29, 31) + 2),  # 90 days across a year end
        ("2026-01-01", "2027-01-01", Fraction(12)),
        ("2026-01-01T12:00:00Z", "2026-01-02", Fraction(1, 62)),  # half a day of January
        ("2026-03-01T00:00:00+01:00", "2026-03-01T00:00:00Z", Fraction(1, 24 * 28)),  # Feb hour
    ],
)
def test_month_count(from_text: str, to_text: str, months: Fraction) -> None:
    p = parse_period(from_text, to_text)
    assert month_fraction(p) == months
    expected = Decimal(months.numerator) / Decimal(months.denominator)
    assert month_count(p) == expected


def test_month_count_is_decimal_to_28_digits() -> None:
    count = month_count(parse_period("2026-01-15", "2026-02-15"))
    assert count == Decimal("1.048387096774193548387096774")
    assert month_count(parse_period("2026-01-01", "2026-04-01")) == Decimal(3)


def test_calendar_months_pieces() -> None:
    p = parse_period("2026-01-15T06:00:00Z", "2026-03-10")
    pieces = [(s, e) for s, e in calendar_months(p)]
    assert pieces == [
        (utc(2026, 1, 15, 6), utc(2026, 2, 1)),
        (utc(2026, 2, 1), utc(2026, 3, 1)),
        (utc(2026, 3, 1), utc(2026, 3, 10)),
    ]


def test_calendar_months_at_the_end_of_time() -> None:
    p = Period(utc(9999, 12, 1), datetime.max.replace(tzinfo=UTC))
    assert [piece.start for piece in calendar_months(p)] == [utc(9999, 12, 1)]
    assert month_fraction(p) == Fraction(31 * 86_400_000_000 - 1, 31 * 86_400_000_000)


instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(st.lists(instants, min_size=3, max_size=3, unique=True))
def test_month_count_is_additive(points: list[datetime]) -> None:
    a, b, c = sorted(points)
    whole, left, right = Period(a, c), Period(a, b), Period(b, c)
    assert month_fraction(left) + month_fraction(right) == month_fraction(whole)
    gap = abs(month_count(left) + month_count(right) - month_count(whole))
    assert gap <= Decimal("1e-24")


@given(instants, st.integers(min_value=1, max_value=120))
def test_whole_calendar_months_count_one_each(start: datetime, n: int) -> None:
    first = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year, month = divmod(first.month - 1 + n, 12)
    end = first.replace(year=first.year + year, month=month + 1)
    assert month_count(Period(first, end)) == n


@given(instants, st.integers(min_value=1, max_value=10_000))
def test_month_count_is_positive_and_bounded_by_days(start: datetime, minutes: int) -> None:
    p = Period(start, start + timedelta(minutes=minutes))
    days = Fraction(minutes, 24 * 60)
    assert days / 31 <= month_fraction(p) <= days / 28


# -- slices ----------------------------------------------------------------------------------


def h(day: int, hour: int, month: int = 1) -> datetime:
    return utc(2026, month, day, hour)


@pytest.mark.parametrize(
    ("from_text", "to_text", "split"),
    [
        (  # a calendar month in UTC: one monthly cell per dimension combination
            "2026-01-01",
            "2026-02-01",
            Slices(date(2026, 1, 1), date(2026, 2, 1), (), (), ()),
        ),
        (  # a quarter: three months
            "2026-01-01",
            "2026-04-01",
            Slices(date(2026, 1, 1), date(2026, 4, 1), (), (), ()),
        ),
        (  # a calendar month at UTC-05:00: whole days and whole edge hours, no event is read
            "2026-01-01T00:00:00-05:00",
            "2026-02-01T00:00:00-05:00",
            Slices(
                date(2026, 2, 1),
                date(2026, 2, 1),
                ((date(2026, 1, 2), date(2026, 2, 1)),),
                ((h(1, 5), h(2, 0)), (h(1, 0, 2), h(1, 5, 2))),
                (),
            ),
        ),
        (  # whole months inside, whole days and hours around them, cut hours at both ends
            "2026-01-30T10:30:00Z",
            "2026-04-02T06:15:00Z",
            Slices(
                date(2026, 2, 1),
                date(2026, 4, 1),
                ((date(2026, 1, 31), date(2026, 2, 1)), (date(2026, 4, 1), date(2026, 4, 2))),
                ((h(30, 11), h(31, 0)), (h(2, 0, 4), h(2, 6, 4))),
                (h(30, 10), h(2, 6, 4)),
            ),
        ),
        (  # cut hours at both edges, whole days only
            "2026-01-01T10:30:00Z",
            "2026-01-05T06:15:00Z",
            Slices(
                date(2026, 1, 5),
                date(2026, 1, 5),
                ((date(2026, 1, 2), date(2026, 1, 5)),),
                ((h(1, 11), h(2, 0)), (h(5, 0), h(5, 6))),
                (h(1, 10), h(5, 6)),
            ),
        ),
        (  # inside one day: hours only
            "2026-01-01T10:00:00Z",
            "2026-01-01T14:00:00Z",
            Slices(date(2026, 1, 1), date(2026, 1, 1), (), ((h(1, 10), h(1, 14)),), ()),
        ),
        (  # inside one hour: one cut hour
            "2026-01-01T10:10:00Z",
            "2026-01-01T10:20:00Z",
            Slices(date(2026, 1, 1), date(2026, 1, 1), (), (), (h(1, 10),)),
        ),
        (  # across one hour boundary, nothing whole
            "2026-01-01T10:30:00Z",
            "2026-01-01T11:15:00Z",
            Slices(date(2026, 1, 1), date(2026, 1, 1), (), (), (h(1, 10), h(1, 11))),
        ),
        (  # a cut head hour, then whole days
            "2026-01-01T23:30:00Z",
            "2026-01-03",
            Slices(
                date(2026, 1, 3), date(2026, 1, 3), ((date(2026, 1, 2), date(2026, 1, 3)),), (), (h(1, 23),)
            ),
        ),
    ],
)
def test_slices(from_text: str, to_text: str, split: Slices) -> None:
    assert slices(parse_period(from_text, to_text)) == split


def test_slice_buckets_are_the_rollup_keys() -> None:
    split = slices(parse_period("2026-01-31T22:30:00Z", "2026-03-02T01:00:00Z"))
    assert split.cell_buckets() == ["2026-02", "2026-03-01", "2026-01-31T23", "2026-03-02T00"]
    assert split.event_buckets() == ["2026-01-31T22"]
    assert (split.month_count, split.day_count, split.hour_count, split.cell_bucket_count) == (1, 1, 2, 4)
    assert hour_bucket(utc(2026, 1, 1, 7, 59, 59)) == "2026-01-01T07"
    decade = slices(parse_period("2020-01-01", "2030-01-01"))
    assert decade.cell_bucket_count == 120 and decade.cell_buckets()[-1] == "2029-12"


@given(st.lists(instants, min_size=2, max_size=2, unique=True), st.lists(instants, max_size=30))
def test_slices_cover_every_instant_exactly_once(edges: list[datetime], probes: list[datetime]) -> None:
    p = Period(*sorted(edges))
    split = slices(p)
    for t in [*probes, p.start, p.end - timedelta(microseconds=1), p.end]:
        in_months = split.month_from <= t.date().replace(day=1) < split.month_to
        in_days = any(first <= t.date() < end for first, end in split.days)
        in_hours = any(first <= t < end for first, end in split.hours)
        in_cut = t.replace(minute=0, second=0, microsecond=0) in split.cut_hours and t in p
        assert int(in_months) + int(in_days) + int(in_hours) + int(in_cut) == int(t in p), t
    assert len(split.cut_hours) <= 2 and len(split.hours) <= 2 and len(split.days) <= 2
    assert split.month_count == 0 or (split.month_from.day == 1 and split.month_to.day == 1)
    assert split.day_count <= 60 and split.hour_count <= 46  # the edges stay short: coarsest cells first


def test_offsets_of_every_zone_give_the_same_instant() -> None:
    for minutes in range(-23 * 60, 24 * 60, 30):
        tz = timezone(timedelta(minutes=minutes))
        local = utc(2026, 1, 1).astimezone(tz)
        p = parse_period(local.isoformat(), "2026-02-01")
        assert p.start == utc(2026, 1, 1)
