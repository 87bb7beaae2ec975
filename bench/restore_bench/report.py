"""What the benchmark prints: one block per run, the seed comparison, and the closing summary table."""
from __future__ import annotations

from typing import Any

from .collection import IN_PLACE, PhaseResult
from .seed_cli import SeedResult


def _eff(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "  - "


def _ratio(ideal: float, wall: float) -> float | None:
    return ideal / wall if ideal > 0 and wall > 0 else None


def seed_estimate(seed: SeedResult, tables: int) -> dict[str, Any]:
    """The seed procedure for ``tables`` tables: measured when exactly that many ran, else linear in N."""
    measured = seed.measured == tables
    total = seed.wall if measured else seed.per_table * tables
    return {
        "tables": tables, "measured": measured, "total": round(total, 1),
        "downtime": round(total, 1),  # the seed scales the workloads in before the restore starts
        "downtime_if_step1_ahead": round(seed.restore_part * tables, 1),  # the seed allows step 1 during backup operations
    }


def run_block(mode: str, seconds: float, tables: int, phases: list[PhaseResult], problems: list[str],
              seed: SeedResult | None) -> tuple[str, dict[str, Any]]:
    """Human lines for one run, and its summary row."""
    prepare, cutover = phases
    wall, ideal = prepare.wall + cutover.wall, prepare.ideal + cutover.ideal
    lines = [f"{mode} T={seconds:g}s N={tables}"]
    for phase in phases:
        gap = ", ".join(f"{key} {value:.1f}" for key, value in phase.gap.items())
        api = phase.api
        lines.append(
            f"  {phase.phase:8} C={phase.concurrency:<3} {phase.rounds:3} rounds, wall {phase.wall:7.1f}s ideal {phase.ideal:6.1f}s"
            f" eff {_eff(phase.efficiency)} | gap {phase.wall - phase.ideal:5.1f}s: {gap}"
        )
        lines.append(
            f"  {'':8} {api['calls']} calls ({api['poll_calls']} polls), mean {api['mean_call_ms']:.1f} ms, {api['retries']} retries,"
            f" cpu {100 * phase.cpu / phase.wall if phase.wall else 0:.0f}% of one core, mean chain {phase.chain['total']:.2f}s"
            f" (T-waits {phase.chain['t_waits']:.2f}, other steps {phase.chain['other_steps']:.2f}, unlogged {phase.chain['unlogged']:.2f})"
        )
        if phase.failed or phase.errors:
            lines.append(f"  {'':8} FAILED tables: {phase.failed}; {'; '.join(phase.errors)}")
    lines.append(f"  total    {'':20} wall {wall:7.1f}s ideal {ideal:6.1f}s eff {_eff(_ratio(ideal, wall))}; downtime (cutover) {cutover.wall:.1f}s")
    lines.append(f"  verify   {len(problems)} problems" + (f": {'; '.join(problems[:5])}" if problems else " (every table restored, settings as before)"))
    row: dict[str, Any] = {
        "mode": mode, "seconds": seconds, "tables": tables, "prepare": prepare.wall, "prepare_eff": prepare.efficiency,
        "downtime": cutover.wall, "cutover_eff": cutover.efficiency, "total": round(wall, 3), "total_eff": _ratio(ideal, wall),
        "failed": prepare.failed + cutover.failed, "verify_problems": len(problems),
    }
    if seed is not None and mode == IN_PLACE:
        estimate = seed_estimate(seed, tables)
        how = "measured" if estimate["measured"] else f"EXTRAPOLATED from {seed.measured} tables"
        lines.append(
            f"  seed procedure (sequential aws CLI, {how}): total {estimate['total']:.0f}s, downtime {estimate['downtime']:.0f}s"
            f" ({estimate['downtime_if_step1_ahead']:.0f}s if its step 1 ran ahead); collection {estimate['total'] / wall:.1f}x faster,"
            f" downtime {estimate['downtime'] / cutover.wall:.0f}x shorter"
        )
        row["seed"] = estimate
    return "\n".join(lines), row


def seed_block(seconds: float, seed: SeedResult) -> str:
    return (
        f"seed procedure T={seconds:g}s: {seed.measured} tables one after another in {seed.wall:.1f}s = {seed.per_table:.2f}s per table"
        f" (ideal 3T = {seed.ideal_per_table:g}s; step 1 {seed.backup_part:.2f}s, steps 2-3 {seed.restore_part:.2f}s;"
        f" {seed.cli_calls_per_table:g} API calls per table; waiters poll every {seed.waiter_delay:g}s)"
    )


def summary_table(rows: list[dict[str, Any]]) -> str:
    """The closing table, in the Markdown the README uses."""
    head = ("| mode | T (s) | N | prepare (s) | eff | downtime = cutover (s) | eff | total (s) | eff |"
            " seed total (s) | seed downtime (s) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in rows:
        seed = row.get("seed")
        mark = "" if not seed or seed["measured"] else "~"
        seed_cells = f"{mark}{seed['total']:.0f} | {mark}{seed['downtime']:.0f}" if seed else "- | -"
        lines.append(
            f"| {row['mode']} | {row['seconds']:g} | {row['tables']} | {row['prepare']:.1f} | {_eff(row['prepare_eff'])} |"
            f" {row['downtime']:.1f} | {_eff(row['cutover_eff'])} | {row['total']:.1f} | {_eff(row['total_eff'])} | {seed_cells} |"
        )
    return "\n".join(lines)
