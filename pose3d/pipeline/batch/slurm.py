"""``pose3d batch --slurm SLURM.toml``: Dask workers as SLURM jobs (dask-jobqueue's
SLURMCluster), started as the graph needs them, between ``minimum_jobs`` and ``maximum_jobs``.

The settings file (every key optional but ``cores`` and ``memory``)::

    # pose3d batch --slurm: each SLURM job runs Dask workers
    [slurm]
    queue = "normal"          # partition (sbatch --partition)
    account = "lab"           # sbatch --account
    cores = 4                 # CPUs per job
    memory = "16GB"           # memory per job
    processes = 1             # Dask workers per job (they share its cores)
    walltime = "02:00:00"
    minimum_jobs = 0
    maximum_jobs = 20
    gpus = 0                  # per job: --gres=gpu:N, and CoTracker3 tracking goes to them
    job_extra_directives = ["--qos=short"]          # more #SBATCH lines
    job_script_prologue = ["module load cuda/12"]   # shell lines before the workers start
    interface = ""            # network interface of the scheduler and workers (e.g. "ib0")
    local_directory = ""      # the workers' scratch folder on the node
    log_directory = ""        # the jobs' output (default: the batch folder's .pose3d-slurm)
    python = ""               # the interpreter of the jobs (default: this one)

The scheduler runs in the ``pose3d batch`` process, so the nodes must reach this machine on
the network and see the session folders at the same paths (a shared file system).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pose3d.errors import Pose3dError

if TYPE_CHECKING:
    from dask_jobqueue import SLURMCluster

_TEXT = ("queue", "account", "walltime", "interface", "local_directory", "log_directory",
         "python")  # fmt: skip
_LISTS = ("job_extra_directives", "job_script_prologue")


@dataclass(frozen=True)
class SlurmSettings:
    cores: int
    memory: str
    processes: int = 1
    minimum_jobs: int = 0
    maximum_jobs: int = 4
    gpus: int = 0
    text: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)


def load_slurm(path: str | os.PathLike[str]) -> SlurmSettings:
    """The ``[slurm]`` table of ``path``, checked (one message per wrong key)."""
    from pose3d.io.toml_file import read_toml

    where = f"SLURM settings {path}"
    table = read_toml(path, "SLURM settings").get("slurm")
    if not isinstance(table, dict):
        raise Pose3dError(f"{where}: no [slurm] table (see docs/batch.md)")
    known = {"cores", "memory", "processes", "minimum_jobs", "maximum_jobs", "gpus",
             *_TEXT, *_LISTS}  # fmt: skip
    unknown = sorted(set(table) - known)
    if unknown:
        raise Pose3dError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}")

    def whole(key: str, default: int | None, low: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise Pose3dError(f"{where}: {key} must be a whole number >= {low}, got {value!r}")
        return value

    memory = table.get("memory")
    if not isinstance(memory, str) or not memory.strip():
        raise Pose3dError(f'{where}: memory must be given per job, e.g. memory = "16GB"')
    text = {k: table[k] for k in _TEXT if table.get(k)}
    if any(not isinstance(v, str) for v in text.values()):
        raise Pose3dError(f"{where}: {', '.join(_TEXT)} must be text")
    lists = {k: table[k] for k in _LISTS if k in table}
    if any(
        not isinstance(v, list) or not all(isinstance(x, str) for x in v) for v in lists.values()
    ):
        raise Pose3dError(f"{where}: {' and '.join(_LISTS)} must be lists of text")
    settings = SlurmSettings(
        cores=whole("cores", None, 1),
        memory=memory,
        processes=whole("processes", 1, 1),
        minimum_jobs=whole("minimum_jobs", 0, 0),
        maximum_jobs=whole("maximum_jobs", 4, 1),
        gpus=whole("gpus", 0, 0),
        text=text,
        lists=lists,
    )
    if settings.minimum_jobs > settings.maximum_jobs:
        raise Pose3dError(f"{where}: minimum_jobs is above maximum_jobs")
    return settings


def cluster_options(settings: SlurmSettings, log_directory: Path) -> dict[str, Any]:
    """SLURMCluster's keyword arguments for ``settings``."""
    from pose3d.pipeline.batch.engine import WORKER_ENVIRONMENT as environment

    options: dict[str, Any] = {
        "cores": settings.cores,
        "memory": settings.memory,
        "processes": settings.processes,
        "python": settings.text.get("python", sys.executable),
        "log_directory": settings.text.get("log_directory", str(log_directory)),
        "job_extra_directives": list(settings.lists.get("job_extra_directives", [])),
        "job_script_prologue": [
            # the workers' environment as on this machine (pose3d.pipeline.batch.engine)
            f"export DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON={shlex.quote(repr(environment))}",
            *settings.lists.get("job_script_prologue", []),
        ],
        "job_name": "pose3d-batch",
        "scheduler_options": {"dashboard_address": ":0"},  # a free port, not 8787
    }
    for key in ("queue", "account", "walltime", "interface", "local_directory"):
        if key in settings.text:
            options[key] = settings.text[key]
    if settings.gpus:
        options["job_extra_directives"].append(f"--gres=gpu:{settings.gpus}")
        options["worker_extra_args"] = ["--resources", f"GPU={settings.gpus}"]
    return options


@contextlib.contextmanager
def slurm_cluster(path: Path, log_directory: Path) -> Iterator[tuple[SLURMCluster, str, bool]]:
    """A SLURMCluster from the settings file ``path``, adapting between its minimum and
    maximum jobs; yields it, a line saying so, and whether its workers have GPUs."""
    settings = load_slurm(path)
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise Pose3dError("pose3d batch --slurm needs dask-jobqueue: pip install "
                          "'pose3d-suite[batch]'") from None  # fmt: skip
    import shutil

    if shutil.which("sbatch") is None:
        raise Pose3dError("pose3d batch --slurm: sbatch is not on this machine's PATH; run it "
                          "on a SLURM login node (or leave --slurm out to run here)")  # fmt: skip
    log_directory.mkdir(parents=True, exist_ok=True)
    with SLURMCluster(**cluster_options(settings, log_directory)) as cluster:
        cluster.adapt(minimum_jobs=settings.minimum_jobs, maximum_jobs=settings.maximum_jobs)
        said = (
            f"SLURM jobs of {settings.cores} cores and {settings.memory}, "
            f"{settings.minimum_jobs} to {settings.maximum_jobs} at a time"
        )
        yield cluster, said, settings.gpus > 0
