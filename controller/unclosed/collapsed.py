"""Folded stacks: one per creation stack, root first, `frame;frame;frame`, with a value (native
bytes or objects) summed over the sites that share it. `report --format collapsed` prints them
for flamegraph.pl, speedscope, inferno and the like; the HTML report draws its flame graph from
the same stacks."""

VALUES = {
    "bytes": lambda s: s["bytes_leaked"] + s["bytes_held"],  # native bytes leaked and held
    "bytes_leaked": lambda s: s["bytes_leaked"],
    "bytes_held": lambda s: s["bytes_held"],
    "unreleased": lambda s: s["leaked"] + s["held"],  # objects
    "leaked": lambda s: s["leaked"],
    "held": lambda s: s["held"],
    "opened": lambda s: s["opened"],
}


def folded_stacks(findings: list[dict], value: str = "bytes") -> list[tuple[str, int]]:
    """(stack, value) per distinct stack with a value above 0, root first, in stack order.
    A site the controller knows no frames of is `[KIND]` alone."""
    measure = VALUES[value]
    stacks: dict[str, int] = {}
    for site in findings:
        amount = measure(site)
        if amount <= 0:
            continue
        frames = [f.replace(";", ":") for f in reversed(site["frames"] or [])] or [f"[{site['kind'] or 'unknown'}]"]
        key = ";".join(frames)
        stacks[key] = stacks.get(key, 0) + amount
    return sorted(stacks.items())

