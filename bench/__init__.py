"""Benchmarks, run on demand (`python -m bench.receiver`); they print figures, they are not tests."""
