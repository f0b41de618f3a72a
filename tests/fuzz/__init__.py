"""Fuzzing helpers shared by the test suite and benchmarks/fuzz_readers.py."""
