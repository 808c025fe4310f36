"""Benchmarks, fault injection and fuzzing of the running corridor stack."""
