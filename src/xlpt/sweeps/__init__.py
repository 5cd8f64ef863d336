"""Sweeps: expand a grid of run configs, run them resumably, and index every run in a SQLite store.

    grid.py      sweep files -> resolved run configs with stable ids (the schema is documented there)
    runner.py    run them in order: skip done, resume interrupted, record failures and go on
    rundir.py    per-run status.json, lock, and the "is it done?" check on the results file
    store.py     <out>/runs.sqlite: runs, per-language metrics, provenance
    reindex.py   rebuild the store from the run directories
    estimate.py  token-cost estimates for --dry-run
"""
