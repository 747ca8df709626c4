"""Folded stacks (`report --format collapsed`): one line per creation stack, root first,
`frame;frame;frame value`, for flamegraph.pl, speedscope, inferno and the like. The HTML
report draws its flame graph from the same stacks."""

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


def write_collapsed(findings: list[dict], out, value: str = "bytes") -> None:
    for stack, amount in folded_stacks(findings, value):
        out.write(f"{stack} {amount}\n")
