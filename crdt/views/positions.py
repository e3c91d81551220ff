"""Fractional indexes: sibling order as strings that sort lexicographically.

Dense integer positions collide when two people move items at once; a key strictly between two
neighbours never needs its siblings renumbered. Keys are base-62 fractions (digits `0-9A-Za-z`,
in ASCII order) that never end in `0`, so there is always room between any two of them. Two
peers inserting at the same spot concurrently may pick the same key: readers break such ties by
item id, so every peer still shows the same order.
"""

from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE = len(DIGITS)
_VALUE = {digit: i for i, digit in enumerate(DIGITS)}


def is_position(key: object) -> bool:
    """Whether `key` is a well-formed position: non-empty base-62, no trailing `0`."""
    return (
        isinstance(key, str)
        and key != ""
        and not key.endswith(DIGITS[0])
        and all(ch in _VALUE for ch in key)
    )


def _midpoint(low: str, high: str | None) -> str:
    """A key strictly between fraction `low` ("" is zero) and `high` (None is one)."""
    if high is not None:
        # Skip the common prefix, reading `low` as padded with zeros.
        n = 0
        while n < len(high) and (low[n] if n < len(low) else DIGITS[0]) == high[n]:
            n += 1
        if n:
            return high[:n] + _midpoint(low[n:], high[n:])
    digit_low = _VALUE[low[0]] if low else 0
    digit_high = _VALUE[high[0]] if high is not None else _BASE
    if digit_high - digit_low > 1:
        return DIGITS[(digit_low + digit_high) // 2]
    if high is not None and len(high) > 1:
        # high = d+1 followed by something non-zero: the single digit d+1 sits in between.
        return high[0]
    return DIGITS[digit_low] + _midpoint(low[1:], None)


def position_between(before: str | None, after: str | None) -> str:
    """A position sorting after `before` and before `after` (None: no bound on that side)."""
    for key in (before, after):
        if key is not None and not is_position(key):
            raise ValueError(f"{key!r} is not a position")
    if before is not None and after is not None and before >= after:
        raise ValueError(f"{before!r} does not sort before {after!r}")
    return _midpoint(before or "", after)


def positions_after(before: str | None, count: int) -> list[str]:
    """`count` increasing positions after `before`, for appending several items at once."""
    out: list[str] = []
    for _ in range(count):
        before = position_between(before, None)
        out.append(before)
    return out
