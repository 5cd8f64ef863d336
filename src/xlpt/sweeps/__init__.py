"""Sweeps: expand a grid of run configs, bring every run to done (here or as cluster jobs), index the results.

    grid.py       sweep files -> resolved run configs with stable ids (the schema is documented there)
    rundir.py     what a run directory's own files say about its run (done, running, diverged, ...)
    runner.py     the work one run needs (run_one) and the in-process executor (--executor local)
    jobs.py       a run as a submitit job: preemption -> snapshot -> requeue
    executors.py  submit one job per run (submitit-local, Slurm job arrays), wait, report
    resources.py  per-run GPUs / CPUs / memory / time (the planner's numbers plug in here)
    status.py     `xlpt sweep --status`
    manifest.py   <out>/sweep-<name>.json: the sweep's planned runs
    store.py      <folder>/runs.sqlite: an index of the run directories, synced from their files
    reindex.py    rebuild the index; migrate run folders of xlpt <= 0.1
    estimate.py   token-cost estimates for --dry-run
"""
