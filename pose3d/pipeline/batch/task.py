"""One batch task, as a Dask worker runs it: a step on a session, under the session's lock.

:func:`run_job` never raises for what a session holds: a missing video, a broken calibration,
a session another process has open are outcomes ("failed", with the error's first line and the
log), so that one session's failure never stops the others. It skips a step whose key (see
pose3d.pipeline.batch.steps) is the one its last successful run recorded, and whose outputs are
there; a step after a failed one is "not run". Every file the step writes is written
atomically, so a worker killed mid-task (a SLURM walltime, an out-of-memory kill) leaves the
previous output as it was.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pose3d.errors import Pose3dError, os_error_message
from pose3d.pipeline.batch.state import Digests, SessionState, StepRecord
from pose3d.pipeline.batch.steps import Job, fingerprint, key_of, outputs, run
from pose3d.pipeline.folder import SessionFolder

DONE = "done"
UP_TO_DATE = "up to date"
FAILED = "failed"
NOT_RUN = "not run"


@dataclass(frozen=True)
class Outcome:
    """What came of one task."""

    name: str  # the session, as the report names it
    root: str
    step: str
    status: str  # DONE, UP_TO_DATE, FAILED or NOT_RUN
    seconds: float = 0.0
    detail: str = ""  # what it did, or the error's first line
    log: str = ""  # the step's log file ("" when the step did not start)
    ran_on: str = ""  # host, process and SLURM job of the worker that ran it

    @property
    def ok(self) -> bool:
        return self.status in (DONE, UP_TO_DATE)


def run_job(job: Job, *upstream: Outcome, threads: int | None = None) -> Outcome:
    """Run ``job`` unless one of the ``upstream`` tasks it follows failed (see the module);
    ``threads``: the CPU threads it may use (a worker's; None: leave the process as it is)."""
    start = time.monotonic()
    blocked = next((u for u in upstream if not u.ok), None)
    if blocked is not None:
        if blocked.status == NOT_RUN:  # the first failure's words, down the chain
            return Outcome(job.name, job.root, job.step, NOT_RUN, 0.0, blocked.detail)
        where = "" if blocked.root == job.root else f" (session {blocked.name})"
        why = f"{blocked.step} {blocked.status}{where}"
        return Outcome(job.name, job.root, job.step, NOT_RUN, 0.0, why)
    if threads is not None:
        _limit_threads(threads)
    state = SessionState(job.root)
    try:
        with SessionFolder(job.root) as folder:
            state.make()
            return _run_locked(folder, job, state, start)
    except Pose3dError as error:  # before the step ran (its inputs): no log of this run
        detail = str(error)
    except OSError as error:
        detail = os_error_message(error)
    seconds = time.monotonic() - start
    return Outcome(job.name, job.root, job.step, FAILED, seconds, detail, "", _where())


def _run_locked(folder: SessionFolder, job: Job, state: SessionState, start: float) -> Outcome:
    import pose3d

    digests = Digests(state)
    log_path = state.log_path(job.step)
    facts = fingerprint(folder, job, digests)
    key = key_of(facts, pose3d.__version__)
    last = state.records().get(job.step)
    if (
        not job.force
        and last is not None
        and last.status == DONE
        and last.key == key
        and all(p.exists() for p in outputs(folder, job))
    ):
        digests.save()
        seconds = time.monotonic() - start
        return Outcome(
            job.name, job.root, job.step, UP_TO_DATE, seconds, last.summary, str(log_path), _where()
        )
    with _open_log(log_path) as log:
        log.write(f"{_now()} {job.step} on {folder.root} ({_where()}), parameters "
                  f"{job.params}\n")  # fmt: skip
        log.flush()
        status, detail = DONE, ""
        try:
            detail = run(folder, job, _LogProgress(log))
        except Pose3dError as error:
            status, detail = FAILED, str(error)
        except OSError as error:
            status, detail = FAILED, os_error_message(error)
        except Exception as error:  # a bug: said in one line, its traceback in the log
            status, detail = FAILED, f"{type(error).__name__}: {error} (a bug: see the log)"
        if status == FAILED:
            log.write(traceback.format_exc())
        seconds = time.monotonic() - start
        log.write(f"{_now()} {status} in {seconds:.1f} s: {detail}\n")
    state.save_record(
        StepRecord(
            step=job.step,
            key=key,
            status=status,
            finished=_now(),
            seconds=round(seconds, 3),
            summary=detail,
            fingerprint=facts,
            version=pose3d.__version__,
            host=socket.gethostname(),
        )
    )
    digests.save()
    return Outcome(job.name, job.root, job.step, status, seconds, detail, str(log_path), _where())


class _LogProgress:
    """A progress callback that writes a line per tenth of each step to the log."""

    def __init__(self, log: IO[str]) -> None:
        self.log = log
        self.said: dict[str, int] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        tenth = 10 * done // total if total > 0 else 10
        if self.said.get(step, -1) < tenth:
            self.said[step] = tenth
            self.log.write(f"{_now()} {step}: {done}/{total}\n")
            self.log.flush()


def _open_log(path: Path) -> IO[str]:
    """The step's log, truncated (a symbolic link there is refused, not followed)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as error:
        raise Pose3dError(f"cannot write the log {path}: {os_error_message(error)}") from None
    return os.fdopen(fd, "w", encoding="utf-8")


def _where() -> str:
    """This worker: its host, process and, in a SLURM job, the job's id."""
    job = os.environ.get("SLURM_JOB_ID")
    return f"{socket.gethostname()} pid {os.getpid()}" + (f" slurm job {job}" if job else "")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _limit_threads(threads: int) -> None:
    """One worker, ``threads`` threads: OpenCV's and torch's pools follow (BLAS and OpenMP
    follow OMP_NUM_THREADS, which Dask's nanny sets)."""
    import sys

    import cv2

    cv2.setNumThreads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
