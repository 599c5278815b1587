"""Benchmarks with a shared synthetic municipality (`make bench`)."""
