"""Shared by the test suites (tests/unit, tests/jvm): the CLI, JDKs and Java programs, recordings,
Maven libraries and a headless Chromium."""
