"""An independent cron reference for the DST comparison: written from SPEC's "Schedules" rules and
cron(5), using Python's zoneinfo, sharing no code with tend.

Brute force on purpose: expressions whose hour field begins with `*` are evaluated at every real
UTC minute of the range (its local wall time from zoneinfo); the others at every local wall-clock
minute, each matching one resolved to its instant (a repeated time: its first occurrence; a time
skipped by spring-forward: the first instant after the jump; several skipped times of a day fire
once, at the jump).
"""

import datetime as dt
from array import array
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
MINUTE = dt.timedelta(minutes=1)
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}


class Spec:
    def __init__(self, minutes, hours, doms, months, dows, hour_star, dom_star, dow_star):
        self.minutes, self.hours, self.doms, self.months, self.dows = minutes, hours, doms, months, dows
        self.hour_star, self.dom_star, self.dow_star = hour_star, dom_star, dow_star

    def day_ok(self, year, month, day, weekday):
        """cron(5): with both day fields restricted, either may match."""
        if month not in self.months:
            return False
        dom, dow = day in self.doms, weekday in self.dows
        return (dom and dow) if (self.dom_star or self.dow_star) else (dom or dow)


def _value(text, low, high, names, base):
    if text.isdigit():
        v = int(text)
    elif names and text.lower() in names:
        v = names.index(text.lower()) + base
    else:
        raise ValueError(f"bad value {text!r}")
    if not low <= v <= high:
        raise ValueError(f"{v} out of range {low}-{high}")
    return v


def _field(text, low, high, names=None, base=0):
    out = set()
    for part in text.split(","):
        rng, _, step = part.partition("/")
        step = int(step) if step else 1
        if step < 1:
            raise ValueError("step 0")
        if rng == "*":
            a, b = low, high
        elif "-" in rng:
            x, y = rng.split("-", 1)
            a, b = _value(x, low, high, names, base), _value(y, low, high, names, base)
            if names is DAYS and b == 0 and y.isalpha():
                b = 7  # FRI-SUN
        else:
            a = _value(rng, low, high, names, base)
            b = high if _ else a
        out.update(range(a, b + 1, step))
    return out


def parse(expr):
    """A 5-field cron expression or macro; None for @reboot (not time based)."""
    expr = expr.strip()
    if expr.lower() == "@reboot":
        return None
    expr = MACROS.get(expr.lower(), expr)
    f = expr.split()
    if len(f) != 5:
        raise ValueError(f"expected 5 fields: {expr!r}")
    dows = {d % 7 for d in _field(f[4], 0, 7, DAYS, 0)}
    return Spec(_field(f[0], 0, 59), _field(f[1], 0, 23), _field(f[2], 1, 31), _field(f[3], 1, 12, MONTHS, 1), dows,
                f[1].startswith("*"), f[2].startswith("*"), f[4].startswith("*"))


class Zone:
    """A zone's local wall time at every UTC minute of [start, end), computed once."""

    def __init__(self, name, start, end):
        self.name, self.tz, self.start, self.end = name, ZoneInfo(name), start, end
        n = int((end - start) / MINUTE)
        self.count = n
        self.minute_of_day = array("H")
        self.day_index = array("H")
        self.days = []  # (year, month, day, cron weekday) per index
        index = {}
        t = start
        for _ in range(n):
            local = t.astimezone(self.tz)
            key = (local.year, local.month, local.day)
            if key not in index:
                index[key] = len(self.days)
                self.days.append((*key, local.isoweekday() % 7))
            self.day_index.append(index[key])
            self.minute_of_day.append(local.hour * 60 + local.minute)
            t += MINUTE

    def offset(self, instant):
        return instant.astimezone(self.tz).utcoffset()

    def jump_after(self, instant):
        """The first instant with the offset in force at `instant`, walking back minute by minute."""
        off = self.offset(instant)
        t = instant
        while self.offset(t - MINUTE) == off:
            t -= MINUTE
        return t


def fires(spec, zone):
    """Fire instants (UTC) of `spec` in `zone`, strictly after zone.start and before zone.end."""
    if spec.hour_star:
        ok_minute = bytearray(1440)
        for h in spec.hours:
            for m in spec.minutes:
                ok_minute[h * 60 + m] = 1
        ok_day = bytearray(1 if spec.day_ok(*d) else 0 for d in zone.days)
        mod, day = zone.minute_of_day, zone.day_index
        return [zone.start + i * MINUTE for i in range(1, zone.count) if ok_minute[mod[i]] and ok_day[day[i]]]
    # Fixed hours: every local date and time that matches, once.
    out = set()
    first = zone.start.astimezone(zone.tz).date() - dt.timedelta(days=1)
    last = zone.end.astimezone(zone.tz).date() + dt.timedelta(days=1)
    d = first
    while d <= last:
        if spec.day_ok(d.year, d.month, d.day, d.isoweekday() % 7):
            for h in sorted(spec.hours):
                for m in sorted(spec.minutes):
                    wall = dt.datetime(d.year, d.month, d.day, h, m)
                    instant = wall.replace(tzinfo=zone.tz, fold=0).astimezone(UTC)
                    if instant.astimezone(zone.tz).replace(tzinfo=None) != wall:
                        instant = zone.jump_after(instant)  # skipped by spring-forward
                    if zone.start < instant < zone.end:
                        out.add(instant)
        d += dt.timedelta(days=1)
    return sorted(out)
