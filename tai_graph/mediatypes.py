"""HTTP ``Accept`` header parsing (RFC 9110 §12.5.1), shared by every content negotiation."""

from __future__ import annotations

from collections.abc import Iterable

MediaRange = tuple[str, str, float]  # (type, subtype, q)


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header, lower-cased; malformed items and bad q are dropped."""
    ranges: list[MediaRange] = []
    for item in header.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        kind, slash, sub = media_range.lower().partition("/")
        if not slash or not kind or not sub:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append((kind, sub, q))
    return ranges


def quality(media_type: str, ranges: Iterable[MediaRange]) -> tuple[float, int]:
    """The q-value the most specific range matching ``media_type`` gives, and that range's
    specificity (2 exact, 1 ``type/*``, 0 ``*/*``, -1 none)."""
    kind, _, sub = media_type.partition("/")
    found: tuple[float, int] = (0.0, -1)
    for r_kind, r_sub, q in ranges:
        matches = ((kind, sub), (kind, "*"), ("*", "*"))
        if (r_kind, r_sub) in matches:
            specificity = 2 - matches.index((r_kind, r_sub))
            if specificity > found[1]:
                found = (q, specificity)
    return found
