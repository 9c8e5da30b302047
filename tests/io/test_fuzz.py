"""Mutated session files are refused with one clear message or read back identical: never a
traceback, a hang, a crash, noise on stderr, or changed numbers from a checksummed file.

A seeded sample of the fuzzer in tests/support/fuzz.py (the long run is benchmarks/fuzz.py,
its counts are in docs/reliability.md). Each failure names its mutant and the command that
replays it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import fuzz

SEED = 0
MUTANTS = {  # per kind: netCDF loads take ~0.15 s, TOML ones ~5 ms
    "labels": 40,
    "journal": 30,
    "labels-parts": 20,  # the same files read a part at a time (pose3d info, review, ...)
    "journal-parts": 20,
    "poses": 40,
    "detections": 40,
    "calibration": 80,
    "session": 80,
}
FOREIGN_MUTANTS = 30


@pytest.fixture(scope="module")
def session_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, fuzz.Report]:
    """Every session file kind's mutants judged, the kinds sharing the cores."""
    originals = fuzz.build_originals(tmp_path_factory.mktemp("originals"), fuzz.SESSION_KINDS)
    plan = {kind: range(MUTANTS[kind]) for kind in fuzz.SESSION_KINDS}
    return fuzz.run(originals, plan, SEED)


@pytest.fixture(scope="module")
def foreign_reports(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, fuzz.Report]:
    """The DeepLabCut and SLEAP files of ../shared/data, mutated."""
    folder = tmp_path_factory.mktemp("foreign")
    originals = fuzz.build_originals(folder, fuzz.FOREIGN_KINDS, shared_data)
    plan = {kind: range(FOREIGN_MUTANTS) for kind in fuzz.FOREIGN_KINDS}
    return fuzz.run(originals, plan, SEED)


def _check(report: fuzz.Report, n: int) -> None:
    assert [o.index for o in report.outcomes] == list(range(n)), "a mutant has no verdict"
    assert sum(report.counts.values()) == n
    assert set(report.counts) <= set(fuzz.VERDICTS)
    assert not report.failures, (
        f"{len(report.failures)} of {n} {report.kind} mutants failed:\n"
        + report.describe_failures()
    )
    assert report.counts[fuzz.REFUSED] > 0, "no mutant was refused: is the fuzzer mutating?"


@pytest.mark.parametrize("kind", fuzz.SESSION_KINDS)
def test_session_file_is_refused_or_read_back(
    session_reports: dict[str, fuzz.Report], kind: str
) -> None:
    report = session_reports[kind]
    _check(report, MUTANTS[kind])
    if fuzz.KINDS[kind].checksummed:  # a netCDF file pose3d wrote: only attributes may change
        assert set(report.counts) <= {fuzz.REFUSED, fuzz.IDENTICAL, fuzz.ATTRS}


@pytest.mark.parametrize("kind", fuzz.FOREIGN_KINDS)
def test_foreign_file_is_refused_or_read(
    foreign_reports: dict[str, fuzz.Report], kind: str
) -> None:
    _check(foreign_reports[kind], FOREIGN_MUTANTS)


def test_harness_names_the_mutant_that_crashes_hangs_or_writes_to_stderr(
    tmp_path: Path,
) -> None:
    """The fuzzer's own check: a loader that segfaults, hangs, prints or lets an exception
    through fails its mutant (named), and the mutants after it are still judged."""
    originals = fuzz.build_originals(tmp_path, ["harness"])
    n = len(fuzz.HARNESS_ACTIONS)
    report = fuzz.run(originals, {"harness": range(n)}, SEED, workers=1, timeout_s=0.5)["harness"]
    verdicts = {fuzz.HARNESS_ACTIONS[o.index]: (o.verdict, o.detail) for o in report.outcomes}
    assert verdicts["ok"] == (fuzz.IDENTICAL, "")
    assert verdicts["refuse"][0] == fuzz.REFUSED
    expected = {"traceback": "ValueError", "noise": "stderr", "crash": "signal", "hang": "hang"}
    for action, words in expected.items():
        verdict, detail = verdicts[action]
        assert verdict == fuzz.FAILURE and words in detail, (action, detail)
    assert sum(report.counts.values()) == n


def test_a_mutant_is_rebuilt_from_kind_seed_and_index() -> None:
    original = (fuzz.SAMPLE / "session.toml").read_bytes()
    first = [fuzz.mutate("session", SEED, i, original) for i in range(300)]
    again = [fuzz.mutate("session", SEED, i, original) for i in range(300)]
    assert first == again
    assert all(m.data != original for m in first)
    assert len({m.data for m in first}) > 200
    described = " ".join(m.mutation for m in first)
    for words in ("flip bit", "truncate", "insert", "a huge number", "a boolean", "a string",
                  "an empty array", "remove", "duplicate", "line"):  # fmt: skip
        assert words in described, words
