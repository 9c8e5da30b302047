"""``pose3d batch``: the session verbs over many sessions, on Dask, idempotent and resumable.

- params: each step's parameters (names, types, defaults, checks)
- plan: the sessions (a folder of session folders, or a manifest) and the graph of tasks
- steps: per step, its fingerprint (what its key hashes), its outputs and how it runs
- state: ``SESSION/.pose3d/`` (steps.json, digests.json, logs/)
- task: one task as a worker runs it (under the session's lock, never raising for a session's
  fault)
- engine: the Dask cluster (local, an existing scheduler, SLURM) and the graph's run
- slurm: the SLURM settings file and dask-jobqueue's SLURMCluster
- run: the whole batch (:func:`run_batch`, :func:`plan_batch`) and its report

Dask is imported only when a batch runs (the ``batch`` extra).
"""
