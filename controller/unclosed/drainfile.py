"""The drain file (docs/protocol.md, "Drain file", format 2): what one drain of an agent says,
checked and parsed into a Drain record as the store takes it in. A file that does not prove it
is whole (its last record, W, counts the lines before it), or that holds a record this reader
cannot read, is refused with its path and line: it is never taken for "nothing happened"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import StoreError

FORMAT = "2"
MAX_INT = (1 << 63) - 1  # SQLite's INTEGER

# The fields of each record this reader knows, after its letter: N a number from 0 to MAX_INT
# (ASCII digits), T text. V (the first line) and W (the last) are checked apart.
LAYOUT = {
    "J": "TT",  # key, value
    "T": "NT",  # thread_id, name
    "U": "NT",  # test_id, name
    "S": "NTTTTT",  # site_id, role, kind, family, culprit, detail
    "F": "NNT",  # site_id, index, frame
    "O": "NNNNNN",  # object_id, site_id, thread_id, created_ms, bytes, test_id
    "R": "NNNN",  # object_id, release site_id, thread_id, released_ms
    "G": "NNN",  # object_id, thread_id, released_ms
    "L": "NN",  # object_id, reclaimed_ms
    "C": "NNNNNNNNNNN",  # site_id, then the 10 counts
    "N": "TN",  # name, value
    "E": "NT",  # time_ms, message
    "I": "TT",  # family, what could not be counted at attach (and why)
    "Z": "N",  # time_ms
}
# J facts that are numbers, checked as the other records' numbers are.
NUMERIC_FACTS = ("pid", "tracking_since_ms", "sample", "drain_seq")
ROLES = ("c", "r", "p")

# Object records, the bulk of a file: each checked with one match, a number being 1 to 19 ASCII
# digits (what is beyond MAX_INT is caught after). On a mismatch, _fields says what is wrong.
_OBJECT = {tag: re.compile("\t".join([tag] + ["([0-9]{1,19})"] * len(LAYOUT[tag]))) for tag in "ORGL"}
_RECORD = re.compile(r"[A-Z](?:\t|$)")


@dataclass
class SiteDefinition:
    role: str
    kind: str | None
    family: str | None
    culprit: str | None
    detail: str | None
    frames: list[str] = field(default_factory=list)


@dataclass
class Drain:
    """The records of one drain file, numbers as ints."""
    facts: dict[str, str] = field(default_factory=dict)
    sites: dict[int, SiteDefinition] = field(default_factory=dict)
    threads: list[tuple[int, str]] = field(default_factory=list)
    tests: list[tuple[int, str]] = field(default_factory=list)
    # Objects listed held (O) and still so at the file's end: id, site, thread, created_ms, bytes, test.
    held: list[tuple] = field(default_factory=list)
    # Objects listed and reclaimed unreleased in this same file: the O fields, then reclaimed_ms.
    held_then_leaked: list[tuple] = field(default_factory=list)
    released: list[tuple] = field(default_factory=list)  # R: id, release site, thread, released_ms
    freed: list[tuple] = field(default_factory=list)  # G: id, thread, released_ms
    leaked: list[tuple] = field(default_factory=list)  # L of objects listed before: id, reclaimed_ms
    # Creation site -> opened, released, leaked, held, bytes_held, bytes_leaked, oldest_held_ms,
    # released_by_gc, in_flight, bytes_in_flight.
    counts: dict[int, tuple] = field(default_factory=dict)
    counters: list[tuple[str, int]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    # What the agent could not count of the objects alive at attach: (family, what and why).
    notes: list[tuple[str, str]] = field(default_factory=list)
    exit_ms: int | None = None  # a Z record: the JVM exited normally, this was its last drain

    @property
    def session(self) -> str | None:
        return self.facts.get("session")

    @property
    def seq(self) -> int | None:
        seq = self.facts.get("drain_seq")
        return None if seq is None else int(seq)  # checked as it was read

    @property
    def events(self) -> int:
        return (len(self.held) + 2 * len(self.held_then_leaked) + len(self.released) + len(self.freed)
                + len(self.leaked))


class _Refused(Exception):
    def __init__(self, line: int, problem: str):
        super().__init__(problem)
        self.line, self.problem = line, problem


def read_drain(path: Path) -> Drain:
    """Parses a drain file; StoreError, naming the file and line, when it cannot be read, is cut
    short, or holds what this reader cannot take for data."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StoreError(f"cannot read drain file {path}: {e.strerror}") from None
    try:
        return _parse(data.decode("utf-8", errors="replace").split("\n"))
    except _Refused as e:
        raise StoreError(f"{path}: line {e.line}: {e.problem}") from None


def _parse(lines: list[str]) -> Drain:
    if lines[0] != f"V\t{FORMAT}":
        if lines[0] == "V\t1":
            raise _Refused(1, "written by an older agent (drain format 1): record it again with this unclosed")
        raise _Refused(1, f"not a drain file of format {FORMAT} (it begins {lines[0][:40]!r})")
    _check_whole(lines)
    d = Drain()
    listed: dict[int, tuple] = {}
    ends: list[tuple[str, tuple]] = []
    for number, line in enumerate(lines[1:-2], start=2):
        tag = line[:1]
        matcher = _OBJECT.get(tag)
        if matcher is not None:
            m = matcher.fullmatch(line)
            values = tuple(map(int, m.groups())) if m else ()
            if not values or max(values) > MAX_INT:
                _fields(number, line)  # raises, saying what is wrong
            if tag == "O":
                listed[values[0]] = values
            else:
                ends.append((tag, values))
        else:
            _other(number, line, d)
    # Within a file all O come before their ends; an end of an object not listed here was listed
    # in an earlier drain.
    for tag, values in ends:
        opened = listed.pop(values[0], None) if tag == "L" else None
        if opened is not None:
            d.held_then_leaked.append(opened + values[1:])
        elif tag == "L":
            d.leaked.append(values)
        elif tag == "R":
            d.released.append(values)
        else:
            d.freed.append(values)
    d.held = list(listed.values())
    return d


def _check_whole(lines: list[str]) -> None:
    """The last record is W with the number of lines before it; then the file ends."""
    if len(lines) < 2 or lines[-1] != "" or not lines[-2].startswith("W\t"):
        last = next((line for line in reversed(lines) if line), "")
        raise _Refused(len(lines) - (lines[-1] == ""),
                       f"cut short: it does not end with its W record (last line {last[:40]!r})")
    count = lines[-2][2:]
    if not _is_number(count) or int(count) != len(lines) - 2:
        raise _Refused(len(lines) - 1, f"its W record counts {count[:20]!r} lines, the file has {len(lines) - 2} before it")


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_INT


def _fields(number: int, line: str) -> list:
    """The fields of a known record after its letter, numbers as ints; refused, saying which
    field is wrong, when it has too few or too many, or a number that is not one of 0 to MAX_INT."""
    tag, *fields = line.split("\t")
    layout = LAYOUT[tag]
    if len(fields) != len(layout):
        raise _Refused(number, f"{tag} record with {len(fields)} field(s), not {len(layout)}: {line[:60]!r}")
    values = []
    for index, (kind, text) in enumerate(zip(layout, fields), start=1):
        if kind == "N":
            if not _is_number(text):
                raise _Refused(number, f"{tag} record, field {index}: {text[:30]!r} is not a number from 0 to {MAX_INT}")
            values.append(int(text))
        else:
            values.append(text)
    return values


def _other(number: int, line: str, d: Drain) -> None:
    if not _RECORD.match(line):
        raise _Refused(number, f"not a record: {line[:60]!r}")
    tag = line[0]
    if tag == "V":
        raise _Refused(number, "a second V record: only the first line says the format")
    if tag == "W":
        raise _Refused(number, "a W record before the last line")
    if tag not in LAYOUT:
        return  # a record newer than this reader, counted by W and otherwise passed over
    r = _fields(number, line)
    if tag == "C":
        d.counts[r[0]] = tuple(r[1:])
    elif tag == "S":
        if r[1] not in ROLES:
            raise _Refused(number, f"S record, field 2: role {r[1][:10]!r} is not c, r or p")
        d.sites[r[0]] = SiteDefinition(r[1], r[2] or None, r[3] or None, r[4] or None, r[5] or None)
    elif tag == "F":
        site = d.sites.get(r[0])
        if site is None:
            raise _Refused(number, f"F record of site {r[0]}, which no S record before it defines")
        if r[1] != len(site.frames):
            raise _Refused(number, f"F record of site {r[0]}: frame {r[1]}, where frame {len(site.frames)} comes next")
        site.frames.append(r[2])
    elif tag == "T":
        d.threads.append((r[0], r[1]))
    elif tag == "U":
        d.tests.append((r[0], r[1]))
    elif tag == "J":
        if r[0] in NUMERIC_FACTS and not _is_number(r[1]):
            raise _Refused(number, f"J record: {r[0]} {r[1][:30]!r} is not a number from 0 to {MAX_INT}")
        d.facts[r[0]] = r[1]
    elif tag == "N":
        d.counters.append((r[0], r[1]))
    elif tag == "E":
        d.errors.append((r[0], r[1]))
    elif tag == "I":
        d.notes.append((r[0], r[1]))
    elif tag == "Z":
        d.exit_ms = r[0]
