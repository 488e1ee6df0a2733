"""Oracle for src/cron's time zones: Python's zoneinfo (stdlib, PEP 615).

zoneinfo reads the same TZif files (/usr/share/zoneinfo, or a file given by
path) with its own reader and POSIX TZ string rules, so the conversions of
tests/unit/test_cron.c are checked against an independent implementation.

usage: /usr/bin/python3 tests/oracle/tz_oracle.py CASES
CASES has one case a line; ZONE is an IANA key, or a path (starting with
'/') to a TZif file read with ZoneInfo.from_file:
    L ZONE T                 instant T (Unix seconds) to local time
                             -> "Y M D h m s WDAY UTOFF ISDST ABBR" (WDAY 0 = Sunday)
    U ZONE Y M D h m s       local time to instants
                             -> "T0 T1 KIND": the instants with fold=0 and fold=1,
                                KIND N (normal), G (in a gap) or A (ambiguous)
"""
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

_zones = {}


def zone(key):
    if key not in _zones:
        if key.startswith("/"):
            with open(key, "rb") as f:
                _zones[key] = ZoneInfo.from_file(f, key=key)
        else:
            _zones[key] = ZoneInfo(key)
    return _zones[key]


def to_local(z, t):
    d = datetime.fromtimestamp(t, tz=timezone.utc).astimezone(z)
    off = int(d.utcoffset().total_seconds())
    dst = 1 if d.dst() else 0
    wday = (d.weekday() + 1) % 7
    return f"{d.year} {d.month} {d.day} {d.hour} {d.minute} {d.second} {wday} {off} {dst} {d.tzname()}"


def from_local(z, f):
    y, mo, d, h, mi, s = f
    t0 = int(datetime(y, mo, d, h, mi, s, tzinfo=z, fold=0).timestamp())
    t1 = int(datetime(y, mo, d, h, mi, s, tzinfo=z, fold=1).timestamp())
    if t0 == t1:
        kind = "N"
    else:
        back = datetime.fromtimestamp(t0, tz=timezone.utc).astimezone(z).replace(tzinfo=None)
        kind = "A" if back == datetime(y, mo, d, h, mi, s) else "G"
    return f"{t0} {t1} {kind}"


def main():
    out = []
    with open(sys.argv[1]) as f:
        for line in f:
            p = line.split()
            if p[0] == "L":
                out.append(to_local(zone(p[1]), int(p[2])))
            elif p[0] == "U":
                out.append(from_local(zone(p[1]), [int(x) for x in p[2:8]]))
            else:
                raise SystemExit(f"bad case: {line!r}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
