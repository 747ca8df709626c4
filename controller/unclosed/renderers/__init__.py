"""Renderers: each writes one kind of result (a report, a diff, a gate, an explain) in one
format, from records only, never from the store. writers.py puts them in a table per result."""
