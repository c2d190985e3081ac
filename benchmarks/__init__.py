"""Benchmarks: a deterministic workload generator and the raw PostgreSQL write ceiling."""
