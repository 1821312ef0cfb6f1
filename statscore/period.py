"""Periods (``2019--P1Y``, ``2019-12--P3M``) and the temporal frequencies of odc-stats.

A :class:`Period` is the time half of a task id. Its string form, parsing and inclusive
end follow odc-stats 1.9.14's ``DateTimeRange`` exactly, because period strings name
output folders, cache groups and dataset ids that users already have.

:func:`assign_periods` bins dataset times into the periods of a frequency
(``annual``, ``seasonal``, ``rolling-3months``...) the way odc-stats' ``save-tasks``
does, but vectorised: work is per row in numpy and per distinct month/window in Python.

All datetimes here are naive and in UTC (or, for binning, already shifted to the tile's
solar day by the caller); ``datetime64`` values are compared at microsecond precision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from dateutil.relativedelta import relativedelta

from .errors import ConfigError, suggest

__all__ = [
    "FREQUENCIES",
    "FREQUENCY_ALIASES",
    "NEEDS_TEMPORAL_RANGE",
    "Period",
    "assign_period_codes",
    "assign_periods",
    "check_frequency",
    "full_history",
]

_US = timedelta(microseconds=1)

PERIOD_FORMS = "YYYY--PnY, YYYY-MM--PnM, YYYY-MM-DD--PnD (n >= 1; units Y, M, W, D)"

# `<date>--P<n><unit>`; the date part is checked again by datetime().
_PERIOD_RE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?--[Pp](?P<n>\d+)(?P<unit>[YMWDymwd])"
)


def _add_months(dt: datetime, months: int) -> datetime:
    """First-of-month ``dt`` moved by whole months (no day clipping needed)."""
    k = dt.year * 12 + (dt.month - 1) + months
    return dt.replace(year=k // 12, month=k % 12 + 1)


def _inclusive_end(start: datetime, n: int, unit: str) -> datetime:
    """Last microsecond of ``n`` ``unit`` from ``start``, computed as odc-stats does.

    odc-stats builds a pandas ``Period`` (which snaps ``start`` to the beginning of its
    year or month), takes that period's end and adds back the snapped-off offset as a
    time difference. For starts aligned to the unit (``2019--P1Y``, ``2019-03--P3M``,
    any ``PnD``/``PnW``) this is ``start + duration - 1us``; for unaligned ones it is
    not (``2019-07--P1Y`` ends 2020-06-29T23:59:59.999999 because 2020 is leap, and
    ``2019-01-31--P1M`` ends 2019-03-02T23:59:59.999999). We reproduce it so that
    membership matches odc-stats exactly.
    """
    if unit == "D":
        return start + timedelta(days=n) - _US
    if unit == "W":
        return start + timedelta(weeks=n) - _US
    if unit == "Y":
        base = start.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        return base.replace(year=base.year + n) + (start - base) - _US
    base = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return _add_months(base, n) + (start - base) - _US


def _short(start: datetime, freq: str) -> str:
    """odc-stats' rendering: drop the day (and month) when the start is aligned."""
    if freq.endswith("Y") and start.month == 1 and start.day == 1:
        return f"{start.year:04d}--P{freq}"
    if freq.endswith("M") and start.day == 1:
        return f"{start.year:04d}-{start.month:02d}--P{freq}"
    return f"{start.year:04d}-{start.month:02d}-{start.day:02d}--P{freq}"


def _to_naive_utc(t: datetime) -> datetime:
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc).replace(tzinfo=None)
    return t


def _as_us(times: Any, name: str) -> np.ndarray:
    """``times`` as a datetime64[us] array (no copy when it already is one)."""
    arr = np.asarray(times)
    if not np.issubdtype(arr.dtype, np.datetime64):
        raise TypeError(f"{name} must be a numpy datetime64 array, got dtype {arr.dtype}")
    return arr.astype("datetime64[us]", copy=False)


@dataclass(frozen=True)
class Period:
    """A time range of a task: ``start`` to inclusive ``end``, named by ``short``."""

    start: datetime
    """First instant (naive UTC)."""
    end: datetime
    """Last instant, inclusive: one microsecond before the next period would start."""
    short: str
    """Canonical string as odc-stats renders it, e.g. ``2019--P1Y``, ``2019-03--P3M``."""

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read ``2019--P1Y``, ``2019-03--P3M``, ``2013-03-21--P10D`` (or ``PnW``).

        Accepted durations are those odc-stats accepts: one unit among years,
        months, weeks and days with a positive count (``P18M`` yes, ``P1Y6M`` no:
        odc-stats rejects it). The start may be given more precisely than needed
        (``2019-01-01--P1Y``); ``short`` is then the canonical form (``2019--P1Y``).
        """
        m = _PERIOD_RE.fullmatch(text.strip()) if isinstance(text, str) else None
        if m is None:
            raise ConfigError(f"malformed period {text!r}: expected {PERIOD_FORMS}")
        n_text, unit = m["n"], m["unit"].upper()
        if int(n_text) < 1:
            raise ConfigError(f"malformed period {text!r}: the duration must be at least 1")
        try:
            start = datetime(int(m["year"]), int(m["month"] or 1), int(m["day"] or 1))
        except ValueError as err:
            raise ConfigError(f"malformed period {text!r}: {err}") from None
        return cls._make(start, n_text, unit, text)

    @classmethod
    def _make(cls, start: datetime, n_text: str, unit: str, text: str = "") -> Period:
        freq = f"{n_text}{unit}"  # odc-stats keeps the count as written: P01Y stays P01Y
        try:
            end = _inclusive_end(start, int(n_text), unit)
        except (ValueError, OverflowError):
            name = text or f"{start:%Y-%m-%d}--P{freq}"
            raise ConfigError(f"period {name!r} ends after year 9999") from None
        return cls(start, end, _short(start, freq))

    @classmethod
    def from_year(cls, year: int) -> Period:
        """The calendar year, as ``--year N`` means (``2019--P1Y``)."""
        if not 1 <= year <= 9998:
            raise ConfigError(f"year {year} is out of range 1..9998")
        return cls._make(datetime(year, 1, 1), "1", "Y")

    def __str__(self) -> str:
        return self.short

    def __contains__(self, t: datetime) -> bool:
        """Whether instant ``t`` (naive UTC, or aware) falls in the period, ends included."""
        if isinstance(t, np.datetime64):
            return bool(self.contains(np.asarray([t]))[0])
        return self.start <= _to_naive_utc(t) <= self.end

    def contains(self, times: np.ndarray) -> np.ndarray:
        """Vectorised membership of a datetime64 array (compared at microsecond precision)."""
        t = _as_us(times, "times")
        return (t >= np.datetime64(self.start, "us")) & (t <= np.datetime64(self.end, "us"))

    def dc_query(self, pad_days: float = 0.0) -> dict[str, tuple[datetime, datetime]]:
        """``{"time": (start - pad, end + pad)}`` for a datacube search.

        save-tasks pads by 0.6 day so that datasets whose solar day falls inside the
        period but whose UTC time does not are still found.
        """
        pad = timedelta(days=pad_days)
        return {"time": (self.start - pad, self.end + pad)}


# ---------------------------------------------------------------------------------
# Frequencies

FREQUENCIES: tuple[str, ...] = (
    "annual",
    "annual-fy",
    "semiannual",
    "seasonal",
    "quartely",
    "3month-seasons",
    "rolling-3months",
    "rolling-3years",
    "nov-mar",
    "apr-oct",
    "monthly",
    "all",
)
"""Frequency names exactly as odc-stats spells them (``quartely`` sic)."""

FREQUENCY_ALIASES: dict[str, str] = {"quarterly": "quartely"}
"""Extra spellings we accept, mapped to the odc-stats name."""

NEEDS_TEMPORAL_RANGE: frozenset[str] = frozenset({"3month-seasons", "rolling-3months", "rolling-3years"})
"""Frequencies that odc-stats refuses without ``--temporal-range`` or ``--year``."""


def check_frequency(name: str) -> str:
    """The odc-stats name for ``name`` (aliases resolved); ConfigError if unknown."""
    if name in FREQUENCIES:
        return name
    if name in FREQUENCY_ALIASES:
        return FREQUENCY_ALIASES[name]
    valid = FREQUENCIES + tuple(FREQUENCY_ALIASES)
    raise ConfigError(
        f"unknown frequency {name!r}{suggest(str(name), valid)}; valid: {', '.join(FREQUENCIES)}"
    )


# Calendar-season frequencies: (season length in months, anchor month, single season?).
# Regular ones tile the year into seasons starting at the anchor; single ones keep only
# the season starting at the anchor. A season is labelled by its first month's year.
_SEASONS: dict[str, tuple[int, int, bool]] = {
    "monthly": (1, 1, False),
    "quartely": (3, 1, False),
    "seasonal": (3, 12, False),
    "semiannual": (6, 1, False),
    "annual-fy": (12, 7, False),
    "nov-mar": (5, 11, True),
    "apr-oct": (7, 4, True),
}


def _season_label(month_index: int, months: int) -> str:
    """Label of the season starting at ``month_index`` (months since 1970-01)."""
    year, month = 1970 + month_index // 12, month_index % 12 + 1
    if months == 12:
        return f"{year:04d}-{month:02d}--P1Y"
    return f"{year:04d}-{month:02d}--P{months}M"


def _rolling_windows(frequency: str, temporal_range: Period) -> list[tuple[str, Period]]:
    """The (label, window) pairs odc-stats makes for a rolling frequency.

    Windows start at the range start and step by 1 month (3-month windows) or 1 year
    (3-year windows), each step added to the previous start (so a start on the 31st
    drifts to the 28th after February, as with odc-stats); a window is kept while its
    end does not pass the range end. Labels keep only the year-month (months) or the
    year (years) of the window start, also as odc-stats does: for a range that does not
    start on the 1st (or in January), a label names a different span than its window.
    """
    if frequency == "rolling-3months":
        n, unit, step, fmt = "3", "M", relativedelta(months=1), "{y:04d}-{m:02d}--P3M"
    else:
        n, unit, step, fmt = "3", "Y", relativedelta(years=1), "{y:04d}--P3Y"
    out: list[tuple[str, Period]] = []
    start = temporal_range.start.replace(hour=0, minute=0, second=0, microsecond=0)
    while True:
        try:
            window = Period._make(start, n, unit)
        except ConfigError:
            break
        if window.end > temporal_range.end:
            break
        out.append((fmt.format(y=start.year, m=start.month), window))
        start = start + step
    return out


def full_history(times: np.ndarray) -> Period:
    """``{first year}--P{N}Y``: the whole years spanned by ``times`` (NaT ignored).

    This is the period of frequency ``all`` without a temporal range. odc-stats takes it
    from the UTC times of every dataset its query returned, including those it then
    drops (no footprint, outside ``--tiles``); call this on those times to match it.
    """
    t = _as_us(times, "times")
    t = t[~np.isnat(t)]
    if t.size == 0:
        raise ValueError("full_history needs at least one time")
    years = np.array([t.min(), t.max()]).astype("datetime64[Y]").astype(np.int64) + 1970
    first, last = int(years[0]), int(years[1])
    return Period._make(datetime(first, 1, 1), str(last - first + 1), "Y")


def _dense_codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(used, codes)`` with ``used[codes] == keys``, ``used`` ascending: ``np.unique``
    with ``return_inverse`` in O(n) for the small integer ranges of months or windows."""
    if keys.size == 0:
        return keys[:0], np.empty(0, np.intp)
    lo, hi = int(keys.min()), int(keys.max())
    if hi - lo > 4 * keys.size + 100_000:
        used, codes = np.unique(keys, return_inverse=True)
        return used, codes.astype(np.intp, copy=False)
    k = (keys - lo).astype(np.intp, copy=False)
    present = np.bincount(k, minlength=hi - lo + 1) > 0
    lut = np.cumsum(present) - 1
    return np.flatnonzero(present) + lo, lut[k]


def assign_period_codes(
    frequency: str,
    solar_times: np.ndarray,
    *,
    temporal_range: Period | None = None,
    utc_times: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Like :func:`assign_periods`, with labels as codes: ``(rows, codes, labels)``.

    ``labels[codes[i]]`` is the period of row ``rows[i]``; ``labels`` is in
    chronological order and holds only periods that received a row. Cheaper than
    string arrays when the caller groups by period.
    """
    frequency = check_frequency(frequency)
    t = _as_us(solar_times, "solar_times")
    if t.ndim != 1:
        raise ValueError(f"solar_times must be one-dimensional, got shape {t.shape}")
    u = None
    if utc_times is not None:
        u = _as_us(utc_times, "utc_times")
        if u.shape != t.shape:
            raise ValueError(f"utc_times has shape {u.shape}, solar_times has {t.shape}")
    if temporal_range is None and frequency in NEEDS_TEMPORAL_RANGE:
        raise ConfigError(f"frequency {frequency!r} needs a temporal range (--temporal-range or --year)")

    empty = (np.empty(0, np.intp), np.empty(0, np.intp), [])
    if frequency == "all" and temporal_range is None:
        # odc-stats spans the years of all datasets found, by their UTC time.
        rows = np.flatnonzero(~np.isnat(t))
        if rows.size == 0:
            return empty
        span = full_history((u if u is not None else t)[rows])
        return rows, np.zeros(rows.size, np.intp), [span.short]

    # odc-stats first drops datasets whose solar time is outside the temporal range.
    keep = ~np.isnat(t)
    if temporal_range is not None:
        keep &= temporal_range.contains(t)
        if frequency == "all" and u is not None:
            # ...and for `all` then keeps those whose UTC time is in the range too.
            keep &= temporal_range.contains(u)
    rows = np.flatnonzero(keep)
    tk = t[rows]

    if frequency == "all":
        assert temporal_range is not None
        if rows.size == 0:
            return empty
        return rows, np.zeros(rows.size, np.intp), [temporal_range.short]

    if frequency == "annual":
        uniq, codes = _dense_codes(tk.astype("datetime64[Y]").astype(np.int64))
        return rows, codes, [f"{1970 + int(y):04d}--P1Y" for y in uniq]

    if frequency in _SEASONS or frequency == "3month-seasons":
        if frequency == "3month-seasons":
            assert temporal_range is not None
            months, anchor, single = 3, temporal_range.start.month, False
        else:
            months, anchor, single = _SEASONS[frequency]
        mi = tk.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
        into = (mi % 12 + 1 - anchor) % 12  # months since the anchor month
        if single:
            inside = into < months
            rows, mi, into = rows[inside], mi[inside], into[inside]
        else:
            into %= months
        uniq, codes = _dense_codes(mi - into)
        return rows, codes, [_season_label(int(s), months) for s in uniq]

    # rolling-3months / rolling-3years
    assert temporal_range is not None
    windows = _rolling_windows(frequency, temporal_range)
    if not windows:
        raise ConfigError(
            f"temporal range {temporal_range.short} is shorter than one {frequency} window"
        )
    starts = np.array([w.start for _, w in windows], dtype="datetime64[us]")
    ends = np.array([w.end for _, w in windows], dtype="datetime64[us]")
    # Window starts and ends both increase, so the windows holding time x are the
    # contiguous run from the first ending at or after x to the last starting at or before x.
    first = np.searchsorted(ends, tk, side="left")
    last = np.searchsorted(starts, tk, side="right") - 1
    count = np.clip(last - first + 1, 0, None)
    total = int(count.sum())
    out_rows = np.repeat(rows, count)
    offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    used, codes = _dense_codes(np.repeat(first, count) + offsets)
    return out_rows, codes, [windows[int(i)][0] for i in used]


def assign_periods(
    frequency: str,
    solar_times: np.ndarray,
    *,
    temporal_range: Period | None = None,
    utc_times: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bin rows into the periods of ``frequency`` as odc-stats save-tasks does.

    Returns parallel arrays ``(rows, labels)``: ``rows[i]`` indexes ``solar_times`` and
    ``labels[i]`` (a numpy ``str_`` array) is the period string that row belongs to.
    Rows are ascending; a row in several rolling windows appears once per window, in
    chronological order; rows in no period (outside ``temporal_range``, outside a single
    season like ``nov-mar``, or NaT) are absent.

    ``solar_times`` are dataset times already shifted to the tile's solar day. With a
    ``temporal_range``, rows whose solar time is outside it are dropped first, as
    odc-stats does. ``utc_times`` (the same datasets' unshifted times) reproduce two
    places where odc-stats looks at UTC rather than solar time, both for ``all``: the
    ``{first year}--P{N}Y`` span without a range, and an extra UTC-in-range test with
    one. Without ``utc_times`` solar times are used there. For ``all`` without a range
    the span covers every row passed, so pass all rows of a run in one call.
    """
    rows, codes, labels = assign_period_codes(
        frequency, solar_times, temporal_range=temporal_range, utc_times=utc_times
    )
    table = np.array(labels, dtype=np.str_) if labels else np.array([], dtype="<U1")
    return rows, table[codes]
