"""Benchmarks: measure quality and speed; the tests check behaviour, these put numbers on it."""
