"""Helpers the tests (and benchmarks) share that are not fixtures."""
