"""Benchmark: restore N DynamoDB tables the collection's way and the seed's way (see bench/README.md).

    PYTHONPATH=tests:.build/collections .venv/bin/python bench/dynamodb_restore.py \\
        [--tables 10,50,100] [--seconds 3] [--concurrency 10] [--mode in_place|new_prefix|both] [--json out.json]

For each T and N: a fresh in-process AWS stand-in where every restore and backup takes T seconds,
N ScalarDB-like tables, then ``run_phase`` prepare and cutover with the given concurrency (wall
time, the ideal ceil(N/C) x the chain's T-waits, efficiency = ideal/wall, downtime = cutover),
and once per T the seed's procedure as a sequential ``aws`` CLI loop (``seed_procedure.sh``) over
a few tables, extrapolated linearly to N where fewer ran.  Measures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

# Runnable without PYTHONPATH too: the stand-ins live in tests/, the collection under .build/collections.
_ROOT = Path(__file__).resolve().parent.parent
for _path in (_ROOT / "tests", _ROOT / ".build" / "collections"):
    if str(_path) not in sys.path:
        sys.path.append(str(_path))

# pylint: disable=wrong-import-position  # after the path set-up above
from restore_bench import collection, deployment, report, seed_cli  # noqa: E402


def _numbers(text: str, kind: type) -> list[Any]:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from exc
    if not values or any(value <= 0 for value in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tables", type=lambda text: _numbers(text, int), default=[10, 50, 100],
                        help="deployment sizes N, comma-separated (every table counts, the 3 system tables too; N >= 4)")
    parser.add_argument("--seconds", type=lambda text: _numbers(text, float), default=[3.0],
                        help="T: how long each restore and each backup takes, comma-separated for several runs (default 3)")
    parser.add_argument("--concurrency", type=int, default=10, help="the module's concurrency option (default 10)")
    parser.add_argument("--cutover-concurrency", type=int,
                        help="concurrency of the cutover phase only (default: --concurrency); restores from backup count against AWS's 50")
    parser.add_argument("--mode", choices=("in_place", "new_prefix", "both"), default="both")
    parser.add_argument("--poll-fraction", type=float, default=0.1,
                        help="the poller's longest delay as a fraction of T (default 0.1: T/10; first delay min(0.2 s, that))")
    parser.add_argument("--seed-tables", type=int, default=10,
                        help="how many tables the sequential seed procedure restores per T (0: skip it); larger N are extrapolated")
    parser.add_argument("--stock-waits", action="store_true",
                        help="let the aws CLI waiters poll every 20 s as shipped (default: as often as the collection polls at most)")
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    args = parser.parse_args(argv)
    if min(args.tables) <= deployment.SYSTEM_TABLES:
        parser.error(f"--tables: every N must be at least {deployment.SYSTEM_TABLES + 1}")
    if args.concurrency < 1 or (args.cutover_concurrency is not None and args.cutover_concurrency < 1) or args.poll_fraction <= 0 or args.seed_tables < 0:
        parser.error("--concurrency and --poll-fraction must be positive, --seed-tables at least 0")
    return args


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "loadavg": list(os.getloadavg())}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modes = [collection.IN_PLACE, collection.NEW_PREFIX] if args.mode == "both" else [args.mode]
    out: dict[str, Any] = {"machine": _machine(), "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                           "runs": [], "seed": []}
    rows = []
    print(f"{out['machine']['cpus']} CPUs, load average {' '.join(f'{v:.2f}' for v in out['machine']['loadavg'])}", flush=True)
    for seconds in args.seconds:
        tuning = collection.Tuning.for_seconds(args.concurrency, seconds, args.poll_fraction, args.cutover_concurrency)
        seed = None
        if args.seed_tables and collection.IN_PLACE in modes:
            with deployment.standing(max(args.seed_tables, deployment.SYSTEM_TABLES + 1), seconds) as stand:
                seed = seed_cli.run(stand, args.seed_tables, seconds, tuning.max_delay, args.stock_waits)
            print(report.seed_block(seconds, seed), flush=True)
            out["seed"].append({"seconds": seconds, **seed.to_dict(), "loadavg": list(os.getloadavg())})
        for mode in modes:
            for tables in args.tables:
                with deployment.standing(tables, seconds) as stand:
                    started = time.monotonic()
                    phases, problems = collection.run(stand, mode, seconds, tuning)
                    text, row = report.run_block(mode, seconds, tables, phases, problems, seed)
                print(text, flush=True)
                rows.append(row)
                out["runs"].append({**row, "tuning": vars(tuning), "build_seconds": round(stand.build_seconds, 2),
                                    "elapsed": round(time.monotonic() - started, 2), "loadavg": list(os.getloadavg()),
                                    "phases": [phase.to_dict() for phase in phases], "verify_problems": problems})
    print()
    print(report.summary_table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 1 if any(row["failed"] or row["verify_problems"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
