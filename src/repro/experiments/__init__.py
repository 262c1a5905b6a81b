"""Experiments: pure functions of frozen configs, their results stored and reused (:mod:`repro.store`)."""
