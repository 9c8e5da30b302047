"""Dask runs the batch's graph: a LocalCluster by default, an existing scheduler, or workers
started as SLURM jobs (pose3d.pipeline.batch.slurm).

Each task is a Dask future of :func:`pose3d.pipeline.batch.task.run_job`; a task's future
takes the futures of the tasks it follows as arguments, so Dask starts it when they are done
and a failed session's later steps come back "not run". A worker that dies while it runs a
task (killed by the system for memory, by SLURM at the walltime, or crashed) makes the scheduler
run the task again on another worker, up to ``retries`` times (Dask's
``distributed.scheduler.allowed-failures``); after that the task is "failed: worker lost".
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pose3d.errors import Pose3dError
from pose3d.pipeline.batch.plan import Task
from pose3d.pipeline.batch.task import FAILED, NOT_RUN, Outcome, run_job

if TYPE_CHECKING:
    from distributed import Client, Future

WAITING = "waiting"
RUNNING = "running"
CANCELLED = "cancelled"
INSTALL = (
    "pose3d batch needs Dask: pip install 'pose3d-suite[batch]' (dask[distributed], and "
    "dask-jobqueue for --slurm)"
)


# The environment of each worker process: one thread for BLAS and OpenMP (a worker runs one
# task per thread), and not Dask's MALLOC_TRIM_THRESHOLD_=65536, which makes glibc hand every
# freed array back to the system and fault it in again: the tracking step took 1.5x as long
# (benchmarks/batch.py; docs/batch.md)
WORKER_ENVIRONMENT = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}


@dataclass(frozen=True)
class EngineSettings:
    """Where the tasks run."""

    workers: int | None = None  # local: worker processes (default: one per core)
    memory_limit: str = "auto"  # local: each worker's memory ("auto": the machine's / workers)
    scheduler: str | None = None  # the address of a running Dask scheduler
    slurm: Path | None = None  # a SLURM settings file: workers are SLURM jobs
    retries: int = 2  # runs again a task whose worker died, this many times
    connect_timeout: float = 20.0  # s to reach the scheduler given


@contextlib.contextmanager
def connect(settings: EngineSettings, folder: Path) -> Iterator[tuple[Client, str, bool]]:
    """A Dask client for ``settings``, a line that says what it runs on (with the dashboard's
    address when one runs) and whether its workers offer the resource GPU (SLURM jobs with
    GPUs); the cluster it started is closed on exit. ``folder``: the batch's (SLURM logs)."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise Pose3dError(INSTALL) from None
    if settings.retries < 0:
        raise Pose3dError(f"--retries must be 0 or more, got {settings.retries}")
    config = {
        "distributed.scheduler.allowed-failures": settings.retries,
        # a task per worker thread at a time: tasks take seconds to hours, none waits on a
        # busy worker while another is idle, and "running" means running
        "distributed.scheduler.worker-saturation": 1.0,
        "distributed.nanny.pre-spawn-environ": WORKER_ENVIRONMENT,
    }
    with dask.config.set(config):
        if settings.scheduler is not None:
            try:
                client = Client(settings.scheduler, timeout=settings.connect_timeout)
            except OSError as error:
                raise Pose3dError(
                    f"no Dask scheduler answers at {settings.scheduler} ({error}); start one "
                    "(dask scheduler) or leave --scheduler out to run on this machine"
                ) from None
            with client:
                _prepare(client)
                yield client, f"Dask scheduler {settings.scheduler}{_dashboard(client)}", False
            return
        if settings.slurm is not None:
            from pose3d.pipeline.batch.slurm import slurm_cluster

            logs = folder / ".pose3d-slurm"
            with (
                slurm_cluster(settings.slurm, logs) as (cluster, said, gpus),
                Client(cluster) as client,
            ):
                _prepare(client)
                yield client, said + _dashboard(client), gpus
            return
        _check_local(settings)
        workers = settings.workers or os.cpu_count() or 1
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=settings.memory_limit,
                # a free port: the scheduler's web server starts even without a dashboard,
                # and two batches on one machine must not both want 8787
                dashboard_address=":0",
                silence_logs=50,
            ) as cluster,
            Client(cluster) as client,
        ):
            # Ctrl+C reaches the whole terminal's process group: the workers leave it to this
            # process, which cancels the tasks and closes them (no traceback from each)
            try:
                client.run(_ignore_interrupts)
                _prepare(client)
            except (OSError, RuntimeError) as error:  # a worker died as it started
                raise Pose3dError(
                    f"the Dask workers died while starting ({error}); with --memory-limit "
                    f"{settings.memory_limit} each: give them more memory or fewer --workers"
                ) from None
            yield client, f"this machine, {workers} worker processes{_dashboard(client)}", False


MIN_WORKER_MEMORY = 512 * 2**20  # pose3d's libraries take ~150 MB, a step hundreds more


def _check_local(settings: EngineSettings) -> None:
    """Refuse, in one line, a worker count or memory limit no worker could run with."""
    from dask.utils import parse_bytes

    if settings.workers is not None and settings.workers < 1:
        raise Pose3dError(f"--workers must be at least 1, got {settings.workers}")
    if settings.memory_limit == "auto":
        return
    try:
        limit = parse_bytes(settings.memory_limit)
    except (ValueError, TypeError):
        raise Pose3dError(
            f"--memory-limit {settings.memory_limit!r} is not an amount of memory; give e.g. "
            "4GB, 512MiB or auto (the machine's memory shared by the workers)"
        ) from None
    if 0 < limit < MIN_WORKER_MEMORY:
        raise Pose3dError(
            f"--memory-limit {settings.memory_limit} is below what a worker needs (pose3d's "
            "libraries alone take about 150 MB, a step hundreds more): give at least 512MB"
        )


def _prepare(client: Client) -> None:
    """Every worker, now and when it starts later (SLURM jobs come and go), imports the steps'
    modules before its first task: once per worker, not in the first task's time."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class Preload(WorkerPlugin):
        def setup(self, worker: Any) -> None:
            _preload()

    client.register_plugin(Preload(), name="pose3d-preload")


def _preload() -> None:
    import importlib

    for module in _STEP_MODULES:
        importlib.import_module(module)


_STEP_MODULES = (
    "pose3d.pipeline.batch.task",
    "pose3d.pipeline.calibrate",
    "pose3d.pipeline.track",
    "pose3d.pipeline.triangulate",
    "pose3d.pipeline.labels_io",
    "pose3d.tracking.classical",
    "pose3d.io.netcdf",
    "pose3d.io.video_reading",
)


def _ignore_interrupts() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _has_dashboard() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


def _dashboard(client: Client) -> str:
    link = client.dashboard_link if _has_dashboard() else None
    return f"; dashboard {link}" if link else ""


Snapshot = list[str | Outcome]  # per task: WAITING, RUNNING or its outcome


def run_graph(
    client: Client,
    graph: Sequence[Task],
    on_update: Callable[[Snapshot], None] | None = None,
    gpu_steps: Sequence[str] = (),
    poll: float = 0.5,
    threads: int = 1,
) -> list[Outcome]:
    """Run ``graph`` on ``client``; ``on_update`` gets every task's state as it changes. The
    tasks of ``gpu_steps`` ask the workers for the Dask resource ``GPU``; each task uses
    ``threads`` CPU threads (a worker runs one task at a time). Ctrl+C cancels the
    tasks (those done stay done) and returns with the rest "cancelled"."""
    token = uuid.uuid4().hex[:8]
    futures: list[Future] = []
    for i, task in enumerate(graph):
        job = task.job
        futures.append(
            client.submit(
                run_job,
                job,
                *(futures[j] for j in task.after),
                threads=threads,
                key=f"{job.step}-{i}-{token}",
                pure=False,
                resources={"GPU": 1} if job.step in gpu_steps else None,
            )
        )
    index = {str(f.key): i for i, f in enumerate(futures)}
    resolved: dict[int, Outcome] = {}
    last: Snapshot | None = None
    try:
        while True:
            snapshot = _snapshot(client, graph, futures, index, resolved)
            if on_update is not None and snapshot != last:
                on_update(snapshot)
            last = snapshot
            if all(not isinstance(state, str) for state in snapshot):
                return [state for state in snapshot if isinstance(state, Outcome)]
            time.sleep(poll)
    except KeyboardInterrupt:
        client.cancel(futures, force=True)
        snapshot = last or [WAITING] * len(graph)
        return [
            state
            if isinstance(state, Outcome)
            else Outcome(t.job.name, t.job.root, t.job.step, CANCELLED)
            for state, t in zip(snapshot, graph, strict=True)
        ]


def _snapshot(
    client: Client,
    graph: Sequence[Task],
    futures: Sequence[Future],
    index: dict[str, int],
    resolved: dict[int, Outcome],
) -> Snapshot:
    """Every task's state now; ``resolved`` keeps the outcomes fetched (fetched once)."""
    running = {index[k] for k in _running(client) if k in index}
    states: Snapshot = []
    for i, (task, future) in enumerate(zip(graph, futures, strict=True)):
        if i in resolved:
            states.append(resolved[i])
        elif future.status == "finished":
            states.append(resolved.setdefault(i, future.result()))
        elif future.status in ("error", "cancelled", "lost"):
            outcome = _lost(task, future, [(graph[j], futures[j]) for j in task.after])
            states.append(resolved.setdefault(i, outcome))
        else:
            states.append(RUNNING if i in running else WAITING)
    return states


def _running(client: Client) -> list[str]:
    """The keys being run now (by the workers' heartbeats; those sent to a worker when the
    scheduler cannot tell, e.g. one without pose3d installed)."""
    try:
        keys: list[str] = client.run_on_scheduler(_executing)
        return keys
    except (OSError, TimeoutError):  # the scheduler went away: the futures will say
        return []
    except Exception:
        return [str(k) for keys in client.processing().values() for k in keys]


def _executing(dask_scheduler: Any) -> list[str]:
    return [str(ts.key) for ws in dask_scheduler.workers.values() for ts in ws.executing]


def _lost(task: Task, future: Future, upstream: Sequence[tuple[Task, Future]]) -> Outcome:
    """The outcome of a task Dask could not run: its worker died (too often), or a task it
    follows (``upstream``: those tasks and their futures) did."""
    job = task.job
    failed_before = next((t for t, f in upstream if f.status != "finished"), None)
    if failed_before is not None:
        why = f"{failed_before.job.step} failed"
        return Outcome(job.name, job.root, job.step, NOT_RUN, 0.0, why)
    if future.status == "cancelled":
        return Outcome(job.name, job.root, job.step, CANCELLED)
    error = future.exception()
    if type(error).__name__ == "KilledWorker":
        detail = (
            "worker lost while running it, on every try: killed by the system (out of memory, "
            "a SLURM time limit) or crashed; the previous output is kept; give each worker "
            "more memory (--memory-limit, fewer --workers, the SLURM memory) or time (walltime)"
        )
    else:
        detail = f"{type(error).__name__}: {error}"
    return Outcome(job.name, job.root, job.step, FAILED, 0.0, detail)
