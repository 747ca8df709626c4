"""Errors the controller reports to a person: each message is one line that says what to do."""


class UnclosedError(Exception):
    """Any failure the user can act on; the CLI prints it as `unclosed: error: <message>`."""


class AttachError(UnclosedError):
    """The agent could not be loaded into, or found in, a target JVM."""


class StoreError(UnclosedError):
    """The database cannot be used (not ours, corrupt) or a drain file is unreadable."""


def first_line(error: Exception) -> str:
    """An exception's message, its first line: what a one-line error quotes of a library's."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
