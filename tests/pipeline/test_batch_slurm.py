"""pose3d batch --slurm on a real SLURM cluster (not a mock): 4 synthetic sessions tracked and
triangulated by Dask workers that dask-jobqueue starts as SLURM jobs, checked against their
truth, and the jobs found in SLURM's own records (``sacct --completion``).

Skipped where there is no running SLURM: ``apt-get install -y slurm-wlm munge`` and
``sudo scripts/slurm_local.sh`` start a single-node one on this machine."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("dask_jobqueue", reason="pose3d batch --slurm needs the [batch] extra")

from pose3d.pipeline.batch.engine import EngineSettings
from pose3d.pipeline.batch.run import run_batch
from pose3d.pipeline.batch.task import DONE
from pose3d.pipeline.compare_truth import compare_truth
from pose3d.pipeline.folder import SessionFolder
from tests.support.batch_sessions import lab, tiny_session


def _slurm_up() -> str | None:
    """Why SLURM cannot run jobs here (None: it can)."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "no SLURM here (sbatch): apt-get install -y slurm-wlm munge; scripts/slurm_local.sh"
    states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    if states.returncode != 0 or not re.search(r"idle|mixed|alloc", states.stdout):
        return f"SLURM has no node up (sinfo: {states.stderr.strip() or states.stdout.strip()}); " \
               "start one: sudo scripts/slurm_local.sh"  # fmt: skip
    return None


WHY = _slurm_up()


@pytest.mark.skipif(WHY is not None, reason=WHY or "")
def test_batch_runs_inside_slurm_jobs(tmp_path: Path) -> None:
    folder = lab(tiny_session(tmp_path / "template"), tmp_path / "lab", ["a", "b", "c", "d"])
    settings = tmp_path / "slurm.toml"
    settings.write_text(
        '[slurm]\ncores = 1\nmemory = "2GB"\nwalltime = "00:15:00"\nmaximum_jobs = 2\n'
    )
    result = run_batch(
        folder, ("calibrate", "track", "triangulate"), engine=EngineSettings(slurm=settings)
    )
    assert [o.status for o in result.outcomes] == [DONE] * 12, [o.detail for o in result.outcomes]
    jobs = set()
    for outcome in result.outcomes:
        found = re.search(r"slurm job (\d+)", outcome.ran_on)
        assert found, f"{outcome.step} {outcome.name} ran outside SLURM: {outcome.ran_on}"
        jobs.add(found.group(1))
    for name in "abcd":
        with SessionFolder(folder / name, write=False) as session:
            truth = compare_truth(session)
        assert truth.poses is not None and all(v.median < 1.0 for v in truth.tracking)
    records = subprocess.run(
        ["sacct", "--completion", "-n", "-P", "-o", "jobid,jobname"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    recorded = {line.split("|")[0] for line in records.splitlines() if "pose3d-batch" in line}
    assert jobs <= recorded, f"jobs {jobs} not in SLURM's records: {records}"
    assert list((folder / ".pose3d-slurm").glob("*.err")), "no SLURM job output"
