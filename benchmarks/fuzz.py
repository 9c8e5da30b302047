"""The long fuzz run: thousands of mutants of every file a session holds and of the foreign
files pose3d imports, each loaded by pose3d's loader in a child process and judged
(tests/support/fuzz.py says how; tests/io/test_fuzz.py runs a small seeded sample).

    .venv/bin/python benchmarks/fuzz.py                         # 1000 mutants of each kind
    .venv/bin/python benchmarks/fuzz.py --mutants 5000 --seed 7 --kinds labels,poses
    .venv/bin/python benchmarks/fuzz.py --kinds journal --seed 0 --only 15 --keep fuzz-mutants

Prints one row per kind: mutants, refused (one clear message naming the file; "by checksum":
those where a checksum caught the damage: a variable's Fletcher-32 or SHA-256, HDF5's on its
metadata),
identical (read back equal), accepted (a text file changed into another valid one), attrs
changed (netCDF attributes, which no checksum covers), unchecked (a foreign binary format
without checksums read with other numbers) and FAILURES (a traceback, a hang, a crash, stderr
noise, a message that does not name the file, changed data from a checksummed file, an
implausible value read from a foreign file) and the longest message a refusal gave
(characters); then each failure with the command that replays it. ``--keep DIR`` writes each
failing mutant, with the files that lie beside it, to ``DIR/<kind>-<seed>-<index>/``. The
foreign files come from ../shared/data (or $POSE3D_SHARED_DATA); without it they are left out,
and said so. Results are in docs/reliability.md. Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # tests.support, when pose3d is not installed editable

from tests.support import fuzz  # noqa: E402

COLUMNS = (
    ("refused", fuzz.REFUSED),
    ("identical", fuzz.IDENTICAL),
    ("accepted", fuzz.ACCEPTED),
    ("attrs changed", fuzz.ATTRS),
    ("unchecked", fuzz.UNCHECKED),
    ("FAILURES", fuzz.FAILURE),
)


def _shared_data() -> Path | None:
    path = Path(os.environ.get("POSE3D_SHARED_DATA", REPO.parent / "shared" / "data"))
    return path if path.is_dir() else None


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mutants", type=int, default=1000, help="per kind (default 1000)")
    parser.add_argument(
        "--kinds",
        default="all",
        help="all (the default), session-files (the files a session folder holds; labels.nc "
        "and its journal also read a part at a time) or "
        f"kinds separated by commas: {', '.join(fuzz.SESSION_KINDS + fuzz.FOREIGN_KINDS)}",
    )
    parser.add_argument("--only", type=int, nargs="+", help="judge these mutant indices only")
    parser.add_argument("--keep", type=Path, help="write the failing mutants into this folder")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=30.0, help="s per mutant (a hang)")
    return parser.parse_args()


def _kinds(spec: str, shared: Path | None) -> list[str]:
    if spec == "all":
        kinds = list(fuzz.SESSION_KINDS + fuzz.FOREIGN_KINDS)
    elif spec == "session-files":
        kinds = list(fuzz.SESSION_KINDS)
    else:
        kinds = [k.strip() for k in spec.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in fuzz.KINDS]
        if unknown:
            sys.exit(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(fuzz.KINDS)}")
    if shared is None and any(fuzz.KINDS[k].foreign for k in kinds):
        print("../shared/data is absent: the DeepLabCut and SLEAP files are left out\n")
        kinds = [k for k in kinds if not fuzz.KINDS[k].foreign]
    return kinds


def _table(reports: dict[str, fuzz.Report], seconds: float) -> str:
    head = [
        "kind",
        "mutants",
        "refused",
        "by checksum",
        *[name for name, _ in COLUMNS[1:]],
        "longest message",
    ]
    rows = [head, ["---"] * len(head)]
    total = {name: 0 for name in head[1:]}
    for kind, report in reports.items():
        counts = report.counts
        checksum = sum(
            1 for o in report.outcomes if o.verdict == fuzz.REFUSED and "checksum" in o.detail
        )
        longest = max((o.chars for o in report.outcomes if o.verdict == fuzz.REFUSED), default=0)
        values = {
            "mutants": len(report.outcomes),
            "by checksum": checksum,
            **{name: counts[verdict] for name, verdict in COLUMNS},
            "longest message": longest,
        }
        rows.append([kind, *(str(values[name]) for name in head[1:])])
        for name in head[1:]:
            if name == "longest message":
                total[name] = max(total[name], values[name])
            else:
                total[name] += values[name]
    rows.append(["all", *(str(total[name]) for name in head[1:])])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    mutants = total["mutants"]
    return "\n".join(lines) + f"\n\n{mutants} mutants in {seconds:.0f} s"


def _keep(originals: Path, outcome: fuzz.Outcome, folder: Path) -> Path:
    target = folder / f"{outcome.kind}-{outcome.seed}-{outcome.index}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(originals / outcome.kind, target)
    mutant = fuzz.mutant_file(originals, outcome.kind, outcome.seed, outcome.index)
    (target / fuzz.KINDS[outcome.kind].file).write_bytes(mutant.data)
    return target


def main() -> int:
    args = _arguments()
    shared = _shared_data()
    kinds = _kinds(args.kinds, shared)
    indices = args.only if args.only is not None else range(args.mutants)
    with tempfile.TemporaryDirectory(prefix="pose3d-fuzz-originals-") as tmp:
        originals = fuzz.build_originals(Path(tmp), kinds, shared)
        start = time.perf_counter()
        reports = fuzz.run(
            originals,
            {kind: indices for kind in kinds},
            args.seed,
            workers=args.workers,
            timeout_s=args.timeout,
        )
        seconds = time.perf_counter() - start
        command = " ".join(["benchmarks/fuzz.py", *sys.argv[1:]])
        print(f"seed {args.seed}, {len(indices)} mutants per kind ({command})\n")
        print(_table(reports, seconds))
        failures = [o for report in reports.values() for o in report.failures]
        if args.only is not None:
            for report in reports.values():
                for o in report.outcomes:
                    print(f"\n{o.name}\n    {o.verdict}: {o.detail}")
        if failures:
            print(f"\n{len(failures)} FAILURES:")
            for o in failures:
                print(f"\n{o.name}\n    {o.detail}\n    replay: {fuzz.replay_command(o)}")
                if args.keep is not None:
                    print(f"    kept in {_keep(originals, o, args.keep)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
