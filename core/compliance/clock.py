"""When a world may stamp the events that are not contacts, so that records agree with the contact rules.

Contacts happen on the borrower's local day, inside the profile's hours; money moves on UTC
dates (a payment belongs to the cycle whose window holds its UTC date). For every time zone
this module derives, in minutes relative to 00:00 UTC of a simulated day t, two windows:

* **restriction window** `[restrict_lo, restrict_hi)`: after every contact of the previous local
  day and before every contact of local day t, so a restriction that starts or ends "on day t"
  binds exactly the contacts of local day t, to the minute;
* **payment window** `[pay_lo, pay_hi)`: inside UTC date t, after every contact of the previous
  local day (a payment caused by a contact is stamped after it), and before the restriction
  window of day t+1 (the day's payments come before the next day's restriction changes).

The bounds hold all year: the zone's UTC offset is taken at its most western and most eastern
(standard and daylight time). A zone whose windows would be empty is refused (`ClockError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY = 1440


class ClockError(ValueError):
    """A time zone where the contact clock's ordering guarantees cannot hold (or that does not exist)."""


@lru_cache(maxsize=256)
def utc_minus_local(zone: str) -> tuple[int, int]:
    """(min, max) minutes to add to a local clock time to get UTC over a year (DST included)."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClockError(f"'{zone}' is not an IANA time zone") from None
    start = datetime(2024, 1, 1, 12)
    offsets = {
        -int((start + timedelta(days=d)).replace(tzinfo=tz).utcoffset().total_seconds() // 60) for d in range(0, 366, 7)
    }
    return min(offsets), max(offsets)


@dataclass(frozen=True)
class ZoneClock:
    """A zone's windows, in minutes relative to 00:00 UTC of the simulated day (may be negative)."""

    zone: str
    standard: int  # minutes to add to a local time to get UTC in winter (northern hemisphere sense: the max)
    restrict_lo: int
    restrict_hi: int
    pay_lo: int
    pay_hi: int


def zone_clock(zone: str, first_hour: int, end_hour: int) -> ZoneClock:
    """The windows of `zone` when contacts start within [first_hour, end_hour) local time.

    `first_hour` / `end_hour` are the earliest start and latest end of contact hours over every
    profile that may apply in the zone (the conservative bound).
    """
    dmin, dmax = utc_minus_local(zone)
    first, end = first_hour * 60, end_hour * 60
    latest_previous = end + dmax - DAY  # the previous local day's last contact ends before this
    earliest_today = first + dmin  # local day t's first contact starts at or after this
    clock = ZoneClock(
        zone=zone,
        standard=dmax,
        restrict_lo=latest_previous,
        restrict_hi=earliest_today,
        pay_lo=max(0, latest_previous),
        pay_hi=min(DAY, end + dmax),
    )
    if clock.restrict_hi - clock.restrict_lo < 60 or clock.pay_hi - clock.pay_lo < 60:
        raise ClockError(
            f"'{zone}' (UTC offsets {-dmax / 60:+g}..{-dmin / 60:+g} h) with contact hours {first_hour}-{end_hour}: "
            "no hour is left between one local day's contacts and the next, or for payments on the UTC date; "
            "restrictions and payments could not be stamped in an order that agrees with the contacts"
        )
    return clock


def check_zones(zones: tuple[str, ...] | list[str], first_hour: int, end_hour: int) -> None:
    """Raise ClockError naming the first zone whose windows are empty or that does not exist."""
    for zone in zones:
        zone_clock(zone, first_hour, end_hour)
