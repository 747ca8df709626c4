"""Sizes, durations and terminal-safe text, as the controller reads and prints them."""

import re
import time

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

# The JVM's size units are binary: its K is 1024.
_SIZE_UNITS = {"": 1, "b": 1, "bytes": 1, "k": KIB, "kb": KIB, "m": MIB, "mb": MIB, "g": GIB, "gb": GIB,
               "t": 1024 * GIB, "tb": 1024 * GIB}
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text safe to print on one line of a terminal: C0/C1 control characters and DEL, tab and newline
    included, become `\\xNN` (class metadata from the JVM may hold ESC or NUL)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def plural(n: int, noun: str) -> str:
    """`1 site`, `3 sites`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def counted_names(counted: list[tuple[str, int]], shown: int = 3) -> str:
    """`a (5), b (2), c (1) and 4 more`: the first `shown` names with their counts."""
    text = ", ".join(f"{name} ({count})" for name, count in counted[:shown])
    return text + (f" and {len(counted) - shown} more" if len(counted) > shown else "")


def human_bytes(n: int) -> str:
    """`1023 B`, `1.5 KiB`, `262 KiB`, `5 MiB`."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}".replace(".0 ", " ")


def mib(n: int | float | None) -> str:
    """MiB with one decimal, `?` when unknown (the columns of `explain`)."""
    return "?" if n is None else f"{n / MIB:.1f}"


def mib_change(n: int | float) -> str:
    """A change in MiB, signed, with one decimal: `+1.2`, `-0.3`."""
    return f"{n / MIB:+.1f}"


def parse_size(number: str, unit: str = "") -> int:
    """`parse_size("4.26", "MB")` -> bytes."""
    return int(round(float(number) * _SIZE_UNITS[unit.strip().lower()]))


def seconds(s: float) -> str:
    """A duration in its largest unit: `3.2s`, `45s`, `5m`, `1.5h`."""
    if s < 120:
        return f"{s:.0f}s" if s >= 10 else f"{s:.1f}s".replace(".0s", "s")
    if s < 7200:
        return f"{s / 60:.0f}m"
    return f"{s / 3600:.1f}h"


def duration(s: float | None) -> str:
    """A duration to the second, in two units at most: `7s`, `2m05s`, `1h01m`; `?` when unknown."""
    if s is None:
        return "?"
    hours, rest = divmod(int(s), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def stopwatch(s: float) -> str:
    """Elapsed time as a stopwatch shows it: `0:05`, `12:40`."""
    minutes, secs = divmod(int(s), 60)
    return f"{minutes}:{secs:02d}"


def clock(ms: int, with_seconds: bool = True) -> str:
    """Local time of an epoch-milliseconds instant: `2026-11-23 14:37:00` (or without seconds)."""
    return time.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def parse_duration(text: str) -> float:
    """`90s`, `10m`, `1h`, `1.5h` or plain seconds (`30`) -> seconds; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match or float(match[1]) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 90s, 10m, 1h or 30 (seconds)")
    return float(match[1]) * _DURATION_UNITS[match[2]]
