"""``pose3d batch ROOT|MANIFEST --steps ...``: the session verbs over many sessions (Dask)."""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pose3d.commands.parsing import parse_list
from pose3d.errors import Pose3dError
from pose3d.tracking.registry import CHOICE_HELP, TRACKERS

if TYPE_CHECKING:
    from pose3d.pipeline.batch.engine import Snapshot
    from pose3d.pipeline.batch.plan import Task
    from pose3d.pipeline.batch.task import Outcome

EXIT_SOME_FAILED = 1  # some task failed (a user error is pose3d.cli's EXIT_USER_ERROR)


def parse_setting(text: str) -> tuple[str, str, Any]:
    """``STEP.NAME=VALUE`` (VALUE in TOML: 10, true, "a", ["a", "b"]; bare text is text)."""
    name, sep, value = text.partition("=")
    step, dot, param = name.strip().partition(".")
    if not sep or not dot or not param:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be STEP.NAME=VALUE, e.g. triangulate.method=optim"
        )
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return step, param, parsed


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = defaultdict(dict)
    for step, name, value in args.settings or ():
        overrides[step][name] = value
    if args.method:
        overrides["triangulate"]["method"] = args.method
    if args.tracker:
        overrides["track"]["tracker"] = args.tracker
    if args.formats:
        overrides["export"]["formats"] = args.formats
    return overrides  # checked with the rest by pose3d.pipeline.batch.plan.tasks


def cmd_batch(args: argparse.Namespace) -> int:
    from pose3d.pipeline.batch.engine import EngineSettings
    from pose3d.pipeline.batch.run import plan_batch, run_batch

    if sum(x is not None for x in (args.scheduler, args.slurm)) > 1:
        raise Pose3dError("give --scheduler or --slurm, not both")
    overrides = _overrides(args)
    if args.dry_run:
        planned = plan_batch(args.target, args.steps, overrides, args.force or ())
        for p in planned:
            verdict = "run " if p.runs else "skip"
            print(f"{verdict}  {p.task.job.step:<11} {p.task.job.name}: {p.why}")
        runs = sum(p.runs for p in planned)
        print(f"{runs} of {len(planned)} tasks would run (--dry-run: nothing was run)")
        return 0
    engine = EngineSettings(
        workers=args.workers,
        memory_limit=args.memory_limit,
        scheduler=args.scheduler,
        slurm=args.slurm,
        retries=args.retries,
    )
    display = _Display()
    result = run_batch(
        args.target,
        args.steps,
        overrides,
        args.force or (),
        engine,
        args.report,
        on_start=display.start,
        on_update=display.update,
    )
    display.close()
    _print_summary(result.outcomes)
    print(f"report: {result.report}")
    if any(o.status == "cancelled" for o in result.outcomes):
        from pose3d.cli import EXIT_CANCELLED

        print("cancelled: the tasks done are kept; run the same command to go on", file=sys.stderr)
        return EXIT_CANCELLED
    return EXIT_SOME_FAILED if result.failed else 0


class _Display:
    """Progress per step (done / running / failed / left): a live table on a terminal, one
    line per finished task otherwise (a log file, a SLURM job's output)."""

    def __init__(self) -> None:
        self.live: Any = None
        self.graph: list[Task] = []
        self.said: set[int] = set()

    def start(self, engine: str, graph: list[Task]) -> None:
        self.graph = graph
        sessions = len({t.job.root for t in graph})
        print(f"{len(graph)} tasks on {sessions} sessions; running on {engine}", flush=True)
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(stderr=True), refresh_per_second=4, transient=True)
            self.live.start()

    def update(self, snapshot: Snapshot) -> None:
        if self.live is not None:
            self.live.update(_progress_table(self.graph, snapshot))
            return
        for i, state in enumerate(snapshot):
            if not isinstance(state, str) and i not in self.said:
                self.said.add(i)
                print(f"[{len(self.said)}/{len(snapshot)}] {state.step} {state.name}: "
                      f"{state.status} ({state.seconds:.1f} s)", flush=True)  # fmt: skip

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()


def _progress_table(graph: list[Task], snapshot: Snapshot) -> Any:
    from rich.table import Table

    table = Table("step", "done", "up to date", "running", "failed", "left", box=None)
    for step in dict.fromkeys(t.job.step for t in graph):
        states = Counter(
            state if isinstance(state, str) else state.status
            for t, state in zip(graph, snapshot, strict=True)
            if t.job.step == step
        )
        failed = states["failed"] + states["not run"]
        left = states["waiting"]
        table.add_row(step, *(str(n) for n in (states["done"], states["up to date"],
                                               states["running"], failed, left)))  # fmt: skip
    return table


def _print_summary(outcomes: list[Outcome]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    steps = Table("step", "done", "up to date", "failed", "not run", box=None, title="batch")
    for step in dict.fromkeys(o.step for o in outcomes):
        c = Counter(o.status for o in outcomes if o.step == step)
        steps.add_row(step, *(str(c[k]) for k in ("done", "up to date", "failed", "not run")))
    console.print(steps)
    bad = [o for o in outcomes if not o.ok]
    if not bad:
        console.print(f"all {len(outcomes)} tasks done or up to date")
        return
    print("not done:")
    for o in bad:  # plain lines: they go to logs and job outputs whole
        print(f"  {o.name} {o.step}: {o.status}" + (f": {o.detail}" if o.detail else ""))
        if o.status == "failed" and o.log:
            print(f"    log: {o.log}")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pose3d.pipeline.batch.params import STEP_ORDER

    p = sub.add_parser(
        "batch",
        help="run calibrate / track / triangulate / export / view on many sessions (Dask: this "
        "machine, a scheduler or SLURM); reruns only what changed",
    )
    p.add_argument(
        "target", type=Path, help="a folder of session folders, a session, or a manifest (.toml)"
    )
    p.add_argument(
        "--steps",
        type=parse_list,
        help=f"some of {','.join(STEP_ORDER)} (default: the manifest's, else all but view)",
    )
    p.add_argument("--force", type=parse_list, metavar="STEP[,STEP]",
                   help="run these steps even where they are up to date")  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="say what would run and why; run nothing")
    p.add_argument("--set", dest="settings", type=parse_setting, action="append",
                   metavar="STEP.NAME=VALUE",
                   help="a step's parameter for every session, e.g. triangulate.method=optim "
                   "(over the manifest's)")  # fmt: skip
    p.add_argument("--method", choices=("dlt", "ransac", "optim"), help="triangulation method")
    p.add_argument("--tracker", choices=tuple(TRACKERS), help=f"track: the tracker ({CHOICE_HELP})")
    p.add_argument("--formats", type=parse_list, help="export: formats (default movement)")
    p.add_argument("--workers", type=int, help="this machine: worker processes (default: cores)")
    p.add_argument("--memory-limit", default="auto", help="this machine: memory per worker")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786)")
    p.add_argument(
        "--slurm",
        type=Path,
        metavar="SLURM.toml",
        help="start the workers as SLURM jobs with these settings (docs/batch.md)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=2,
        help="run a task again this many times when its worker dies (default 2)",
    )
    p.add_argument("--report", type=Path, help="default: batch_report.json in the batch folder")
    p.set_defaults(func=cmd_batch)
