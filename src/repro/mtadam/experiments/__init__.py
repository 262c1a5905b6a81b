"""MTAdam's experiments, one module per table of the paper: pure functions of frozen configs whose
results are stored and reused (:mod:`repro.store`); see :mod:`repro.mtadam` for the list."""
