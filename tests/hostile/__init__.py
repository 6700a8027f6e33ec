"""The hostile-input corpus: generated and seeded inputs for `rayctl render` and `rayctl validate` that must end in
exit 0, 2 or 3 with no traceback, within bounded time and memory (issue 9). `corpus.py` builds the cases,
`runner.py` runs them (in-process or as subprocesses) and measures them; tests/unit/test_hostile*.py assert."""
