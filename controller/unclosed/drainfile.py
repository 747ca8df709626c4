"""The drain file (docs/protocol.md, "Drain file"): what one drain of an agent says, parsed into a
Drain record as the store takes it in."""

from pathlib import Path

from .errors import StoreError


class Drain:
    """The records of one drain file. Object events stay lists of text fields, as SQLite takes them."""

    def __init__(self):
        self.facts: dict[str, str] = {}
        self.sites: dict[int, list] = {}  # agent site id -> [role, kind, family, culprit, frames, detail]
        self.threads: list[tuple] = []
        self.events = 0
        # Objects opened in this drain, by how they stand at its end. O fields: object, site,
        # thread, created_ms, bytes; then R's site, thread, released_ms, G's thread, released_ms
        # or L's reclaimed_ms.
        self.held: list[list[str]] = []
        self.opened_released: list[list[str]] = []
        self.opened_freed: list[list[str]] = []
        self.opened_leaked: list[list[str]] = []
        # Ends of objects opened in an earlier drain (or whose O was dropped): the R, G or L fields.
        self.released: list[list[str]] = []
        self.freed: list[list[str]] = []
        self.leaked: list[list[str]] = []
        self.counts: dict[int, tuple] = {}  # creation site -> the 8 C totals (released_by_gc 0 if absent)
        self.counters: list[tuple] = []
        self.errors: list[tuple] = []
        self.exit_ms: int | None = None  # a Z record: the JVM exited normally, this was its last drain


def read_drain(path: Path) -> Drain:
    """Parses a drain file; StoreError when it cannot be read or is not one."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise StoreError(f"cannot read drain file {path}: {e.strerror}") from None
    lines = text.split("\n")
    if lines[0] != "V\t1":
        raise StoreError(f"{path} is not a drain file of format 1 (its first line is {lines[0][:40]!r})")
    # Most lines are O, R and L: sort them out with as little work per line as possible.
    x_lines, o_lines, r_lines, l_lines, g_lines, rest = [], [], [], [], [], []
    x_add, o_add, r_add, l_add, g_add = x_lines.append, o_lines.append, r_lines.append, l_lines.append, g_lines.append
    rest_add = rest.append
    for line in lines:
        tag = line[:2]
        if tag == "X\t":
            x_add(line)
        elif tag == "O\t":
            o_add(line)
        elif tag == "R\t":
            r_add(line)
        elif tag == "L\t":
            l_add(line)
        elif tag == "G\t":
            g_add(line)
        else:
            rest_add(line)
    d = Drain()
    d.events = 2 * len(x_lines) + len(o_lines) + len(r_lines) + len(l_lines) + len(g_lines)
    # X: an O and its R in one line, fields in the order of an O's followed by the R's.
    d.opened_released = [line[2:].split("\t") for line in x_lines]
    opened = {fields[0]: fields for fields in (line[2:].split("\t") for line in o_lines)}
    take = opened.pop
    for fields in (line[2:].split("\t") for line in r_lines):
        o = take(fields[0], None)
        if o is None:
            d.released.append(fields)
        else:
            d.opened_released.append(o + fields[1:])
    for fields in (line[2:].split("\t") for line in g_lines):
        o = take(fields[0], None)
        if o is None:
            d.freed.append(fields)
        else:
            d.opened_freed.append(o + fields[1:])
    for fields in (line[2:].split("\t") for line in l_lines):
        o = take(fields[0], None)
        if o is None:
            d.leaked.append(fields)
        else:
            d.opened_leaked.append(o + fields[1:])
    d.held = list(opened.values())
    _parse_other(rest, d, path)
    return d


def _parse_other(lines: list[str], d: Drain, path: Path) -> None:
    line = ""
    try:
        for line in lines:
            r = line.split("\t")
            tag = r[0]
            if tag == "C":
                counts = tuple(int(x) for x in r[2:10])  # released_by_gc, the 8th, is newer
                if len(counts) == 7:
                    counts += (0,)
                if len(counts) != 8:
                    raise IndexError
                d.counts[int(r[1])] = counts
            elif tag == "S":
                detail = r[6] if len(r) > 6 else ""  # newer than the other fields
                d.sites[int(r[1])] = [r[2], r[3] or None, r[4] or None, r[5] or None, [], detail or None]
            elif tag == "F":
                frames = d.sites[int(r[1])][4]
                index = int(r[2])
                frames.extend([None] * (index + 1 - len(frames)))
                frames[index] = r[3]
            elif tag == "T":
                d.threads.append((int(r[1]), r[2]))
            elif tag == "J":
                d.facts[r[1]] = r[2]
            elif tag == "N":
                d.counters.append((r[1], int(r[2])))
            elif tag == "E":
                d.errors.append((int(r[1]), r[2]))
            elif tag == "Z":
                d.exit_ms = int(r[1])
            # V (the first line), empty lines and records newer than this controller: nothing to keep
    except (IndexError, ValueError, KeyError):
        raise StoreError(f"{path}: malformed record {line[:60]!r}") from None
