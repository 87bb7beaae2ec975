# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The restore report (the dict the scalarops.pitr.restore_flow role writes as JSON) as one HTML page.

The page is self-contained - inline CSS, an inline SVG timeline, no script, font, image or link to
anything outside - so it can be mailed or attached to a ticket and still render. It shows only what
the report holds (the report carries no credentials) and escapes every value, since resource,
release and step names come from the cluster and the cloud.

The timeline has one row per phase (the report's ``timeline``) and, below each phase, one row per
resource whose steps the phase recorded: DynamoDB ``tables`` (steps with their start times), the
``steps`` of the single-resource backends (RDS, Azure; durations only, so they are drawn one after
another from the phase start) and schema ``repairs``. A phase of any other shape gives a phase row
only. A shaded band over every row marks the downtime window (workloads stopped .. started).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

# The order phases are listed in when the report has no timeline to give the order it ran in
# (check mode, or a phase that never started): the restore_flow phases, then CloudNativePG's.
PHASE_ORDER = ("preflight", "prepare", "stop", "remove", "move", "cutover", "recover", "repair", "start", "verify", "retire")
PHASE_COLOURS = {
    "preflight": "#64748b",
    "prepare": "#2563eb",
    "cutover": "#7c3aed",
    "repair": "#0891b2",
    "verify": "#059669",
    "retire": "#a16207",
    "remove": "#be185d",
    "move": "#4f46e5",
    "recover": "#0d9488",
    "stop": "#b45309",
    "start": "#15803d",
}
# Phases of a shape this page does not know take these, in turn.
SPARE_COLOURS = ("#9333ea", "#0369a1", "#15803d", "#c2410c", "#4338ca", "#0f766e")
FAILED_COLOUR = "#dc2626"
SKIPPED_COLOUR = "#cbd5e1"  # a step a previous run had already done
DOWNTIME_FILL = "#fdebc8"
DOWNTIME_EDGE = "#d97706"
BACKEND_NAMES = {
    "dynamodb": "Amazon DynamoDB",
    "rds": "Amazon RDS / Aurora",
    "azure_database": "Azure Database (Flexible Server)",
    "cosmosdb": "Azure Cosmos DB",
    "cnpg": "CloudNativePG",
    "sql_dump": "SQL dump",
}
POINT_SOURCES = {
    "explicit": "given explicitly (restore_point)",
    "latest": "the latest restorable time",
    "pause_window": "midpoint of the pause window (restore_pause_window)",
    "pause_record": "midpoint of the recorded pause window (restore_pause_record)",
}
# Beyond this many resources a phase's picture lists the failed ones first and counts the rest;
# the step table below the picture still lists every one.
MAX_RESOURCE_ROWS = 40

# SVG geometry (user units; the picture scales to the page width).
WIDTH = 1080
LABEL_X = 14
PLOT_X0 = 272
PLOT_X1 = 984
DURATION_X = WIDTH - 14
AXIS_Y = 46
PHASE_ROW = 30
RESOURCE_ROW = 20
CHAR_WIDTH = 5.7  # about the width of a character of the 11px notes, to keep them inside the plot
TICK_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


# --- values ---------------------------------------------------------------------------------------------------
def moment(value: Any) -> float | None:
    """Epoch seconds of a timezone-aware ISO 8601 string; None for anything else (never guess a zone)."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo else None


def number(value: Any) -> float | None:
    """A finite, non-negative number of seconds, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def duration(seconds: float | None) -> str:
    """Human duration: milliseconds below a second, then seconds, minutes, hours."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def clock(epoch: float | None, date: bool = True, fraction: bool = True) -> str:
    """UTC wall clock of an epoch, e.g. ``2026-11-21 12:47:07.084 UTC``."""
    if epoch is None:
        return "-"
    when = _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc)
    text = when.strftime("%H:%M:%S") + (f".{when.microsecond // 1000:03d}" if fraction else "")
    return f"{when.strftime('%Y-%m-%d')} {text} UTC" if date else text


def esc(value: Any) -> str:
    """Escape for HTML text and double-quoted attributes (also inside the SVG)."""
    return escape("" if value is None else str(value), quote=True)


def tint(colour: str, amount: float) -> str:
    """``colour`` mixed with white (``amount`` 0 = colour, 1 = white)."""
    red, green, blue = (int(colour[index:index + 2], 16) for index in (1, 3, 5))
    return "#" + "".join(f"{round(channel + (255 - channel) * amount):02x}" for channel in (red, green, blue))


def state_of(status: Any) -> str:
    """The few states the picture colours: ok, skipped, failed, planned, running."""
    text = str(status or "").lower()
    if text in ("failed", "error", "timeout", "timed out"):
        return "failed"
    if text in ("already done", "skipped", "exists", "unchanged"):
        return "skipped"
    if text in ("planned", "would"):
        return "planned"
    if text in ("running", "in progress", "started"):
        return "running"
    return "ok"


# --- the model ------------------------------------------------------------------------------------------------
@dataclass
class Segment:
    """One step of a resource: where it lies in time (None when it has no times) and how it ended."""

    step: str
    start: float | None
    end: float | None
    status: str
    state: str
    sequential: bool = False  # no start time in the report: placed after the step before it


@dataclass
class Row:
    """A row of the picture: a phase, or one resource inside a phase."""

    kind: str  # "phase" or "resource"
    phase: str
    label: str
    start: float | None = None
    end: float | None = None
    status: str = ""
    state: str = "ok"
    seconds: float | None = None
    segments: list[Segment] = field(default_factory=list)
    error: str = ""
    planned: list[str] = field(default_factory=list)
    hidden: int = 0  # a summary row standing for this many resources the picture leaves out
    anchor: float | None = None  # where a row without times writes its note: its phase's start

    @property
    def timed(self) -> bool:
        return self.start is not None or any(segment.start is not None for segment in self.segments)


def phase_names(report: dict[str, Any]) -> list[str]:
    """Phases in the order they ran (the timeline), then the rest in the flow's order."""
    names: list[str] = []
    for entry in timeline_of(report):
        if entry["phase"] not in names:
            names.append(entry["phase"])
    phases = phases_of(report)
    failed = report.get("failed_phase")
    known = [*names, *(name for name in PHASE_ORDER if name in phases and name not in names)]
    rest = sorted(name for name in phases if name not in known)
    found = [*known, *rest]
    if isinstance(failed, str) and failed and failed not in found:
        found.append(failed)  # failed between phases (scale in, scale out): a row of its own
    return found


def phases_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    phases = report.get("phases")
    if not isinstance(phases, dict):
        return {}
    return {str(name): value for name, value in phases.items() if isinstance(value, dict)}


def timeline_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    entries = report.get("timeline")
    if not isinstance(entries, list):
        return []
    return [{"phase": str(entry.get("phase")), "started": moment(entry.get("started")), "ended": moment(entry.get("ended"))}
            for entry in entries if isinstance(entry, dict) and entry.get("phase")]


def _step_segments(steps: Any, cursor: float | None) -> tuple[list[Segment], float | None]:
    """Segments of a list of step dicts; a step without a start begins where the one before ended."""
    segments = []
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        seconds = number(step.get("seconds"))
        status = "planned" if step.get("planned") else str(step.get("status") or "ok")
        start = moment(step.get("started"))
        sequential = start is None and cursor is not None and seconds is not None
        if sequential:
            start = cursor
        end = start + seconds if start is not None and seconds is not None else None
        if end is not None:
            cursor = end
        segments.append(Segment(str(step.get("step") or step.get("name") or "step"), start, end, status, state_of(status), sequential))
    return segments, cursor


def _table_rows(phase: str, tables: list[Any], start: float | None) -> list[Row]:
    """DynamoDB: one row per table, its steps carry their own start times."""
    rows = []
    for table in tables:
        if not isinstance(table, dict):
            continue
        source, target = table.get("source"), table.get("target")
        label = f"{source} \u2192 {target}" if target and source and target != source else str(source or target or "?")
        segments, last = _step_segments(table.get("steps"), start)
        status = str(table.get("status") or table.get("state") or "")
        rows.append(Row("resource", phase, label, status=status, state=state_of(status) if table.get("status") else "ok",
                        seconds=number(table.get("seconds")), segments=segments, error=str(table.get("error") or ""),
                        planned=[str(step) for step in table.get("planned_steps") or [] if step],
                        start=next((segment.start for segment in segments if segment.start is not None), None),
                        end=last if segments and last != start else None))
    return rows


def _repair_rows(phase: str, repairs: list[Any], start: float | None) -> list[Row]:
    """Schema repairs run one release after another: each starts where the previous one ended."""
    rows, cursor = [], start
    for repair in repairs:
        if not isinstance(repair, dict):
            continue
        status = str(repair.get("status") or ("failed" if repair.get("error") else ""))
        step = f"repair (job {repair['job']})" if repair.get("job") else "repair"
        segments, after = _step_segments([{"step": step, "status": status or "ok", "seconds": repair.get("seconds")}], cursor)
        rows.append(Row("resource", phase, str(repair.get("release") or "?"), status=status, state=state_of(status),
                        seconds=number(repair.get("seconds")), segments=segments, error=str(repair.get("error") or ""),
                        start=segments[0].start if segments else None, end=after if after != cursor else None))
        cursor = after
    return rows


def _resource_step_rows(phase: str, steps: list[Any], start: float | None) -> list[Row]:
    """Single-resource backends: the phase's steps ran one after another; one row per resource they name."""
    segments = _step_segments(steps, start)[0]  # each row works out its own extent below
    rows: dict[str, Row] = {}
    for step, segment in zip([step for step in steps if isinstance(step, dict)], segments):
        name = str(step.get("resource") or "-")
        row = rows.setdefault(name, Row("resource", phase, name))
        row.segments.append(segment)
        if segment.state == "planned":
            row.planned.append(segment.step)
    for row in rows.values():
        timed = [segment for segment in row.segments if segment.start is not None]
        row.start = min((segment.start for segment in timed if segment.start is not None), default=None)
        row.end = max((segment.end for segment in timed if segment.end is not None), default=None)
        seconds = [number(segment.end - segment.start) for segment in timed if segment.end is not None and segment.start is not None]
        row.seconds = round(sum(value for value in seconds if value is not None), 3) if seconds else None
        row.state = "failed" if any(segment.state == "failed" for segment in row.segments) else "ok"
        row.status = "failed" if row.state == "failed" else ("planned" if row.planned and not timed else "")
    return list(rows.values())


def resource_rows(phase: str, data: dict[str, Any], start: float | None) -> list[Row]:
    """The per-resource rows of one phase, whatever backend recorded it (an unknown shape gives none)."""
    if isinstance(data.get("tables"), list):
        return _table_rows(phase, data["tables"], start)
    if isinstance(data.get("repairs"), list):
        return _repair_rows(phase, data["repairs"], start)
    if isinstance(data.get("steps"), list):
        return _resource_step_rows(phase, data["steps"], start)
    return []


def build_rows(report: dict[str, Any]) -> list[Row]:
    """Every row of the picture, phase by phase (each phase row followed by its resources)."""
    timeline = {entry["phase"]: entry for entry in timeline_of(report)}
    phases = phases_of(report)
    planned_report = report.get("status") == "planned"
    failed = report.get("failed_phase")
    rows: list[Row] = []
    for name in phase_names(report):
        data, entry = phases.get(name, {}), timeline.get(name, {})
        start, end = entry.get("started"), entry.get("ended")
        status = "failed" if name == failed else ("planned" if planned_report else str(data.get("status") or ("done" if entry else "")))
        state = "failed" if name == failed else ("planned" if planned_report or not entry else "ok")
        rows.append(Row("phase", name, name, start=start, end=end, status=status, state=state,
                        seconds=end - start if start is not None and end is not None else None,
                        error=str(data.get("msg") or "") if name == failed or data.get("tables_failed") else ""))
        resources = resource_rows(name, data, start)
        for row in resources:
            row.anchor = start
        # Resources with nothing to draw (the preflight's per-table plans) would only repeat what the later
        # phases show, except in check mode, where the plan is all there is.
        shown = [row for row in resources if row.timed or row.state == "failed" or row.error or (planned_report and (row.planned or row.segments))]
        if len(shown) > MAX_RESOURCE_ROWS:
            shown.sort(key=lambda row: row.state != "failed")  # failed first; sort is stable
            rest = len(shown) - MAX_RESOURCE_ROWS + 1
            shown = shown[:MAX_RESOURCE_ROWS - 1] + [Row("resource", name, f"\u2026 and {rest} more (see the step table)", hidden=rest)]
        rows.extend(shown)
    return rows


def axis_range(report: dict[str, Any], rows: list[Row]) -> tuple[float, float] | None:
    """The time span the picture covers: the run (started .. ended) and every time inside it."""
    downtime = report.get("downtime") if isinstance(report.get("downtime"), dict) else {}
    times = [moment(report.get("started")), moment(report.get("ended")),
             moment(downtime.get("stopped_at")), moment(downtime.get("started_at"))]
    for row in rows:
        times += [row.start, row.end, *(value for segment in row.segments for value in (segment.start, segment.end))]
    known = [value for value in times if value is not None]
    if not known:
        return None
    first, last = min(known), max(known)
    if last - first < 1:  # one instant (or nearly): give the picture a second to show it in
        last = first + 1
    return first, last


# --- the SVG --------------------------------------------------------------------------------------------------
class Scale:
    """Time to x: the axis range onto the plot area."""

    def __init__(self, first: float, last: float) -> None:
        self.first, self.last = first, last

    def x(self, when: float) -> float:
        return PLOT_X0 + (when - self.first) / (self.last - self.first) * (PLOT_X1 - PLOT_X0)

    def ticks(self) -> tuple[float, list[float]]:
        span = self.last - self.first
        step = next((step for step in TICK_STEPS if span / step <= 8), span / 8)
        first = math.ceil(self.first / step) * step
        return step, [first + index * step for index in range(int((self.last - first) / step) + 1)]


def _n(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def phase_colour(name: str, spare: dict[str, str]) -> str:
    if name in PHASE_COLOURS:
        return PHASE_COLOURS[name]
    return spare.setdefault(name, SPARE_COLOURS[len(spare) % len(SPARE_COLOURS)])


def _label(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut in the middle: resource names differ at their ends
    (``namespace/release``, ``prefix_namespace.table-suffix``)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "\u2026" + text[len(text) - (limit - 1 - head):]


def _bar(x0: float, x1: float, y: float, height: float, fill: str, kind: str, status: str, tip: str, dashed: bool = False) -> str:
    width = max(x1 - x0, 2.0)  # a step of a few milliseconds still shows
    outline = ' stroke="#94a3b8" stroke-width="1" stroke-dasharray="3 2"' if dashed else ""
    return (f'<rect class="bar" data-kind="{kind}" data-status="{esc(status)}" x="{_n(x0)}" y="{_n(y)}" width="{_n(width)}" '
            f'height="{_n(height)}" rx="2" fill="{fill}"{outline}><title>{esc(tip)}</title></rect>')


def _row_svg(row: Row, y: float, scale: Scale | None, colour: str) -> list[str]:
    """One row: label, bar(s) and duration."""
    height = PHASE_ROW if row.kind == "phase" else RESOURCE_ROW
    middle = y + height / 2
    parts = [f'<g class="row" data-row="{row.kind}" data-phase="{esc(row.phase)}" data-label="{esc(row.label)}">']
    if row.kind == "phase":
        parts.append(f'<text class="phase-label" x="{LABEL_X}" y="{_n(middle + 4)}">'
                     f'<tspan class="swatch" fill="{FAILED_COLOUR if row.state == "failed" else colour}">\u25a0</tspan> {esc(row.label)}'
                     + (' <tspan class="failed-tag">failed</tspan>' if row.state == "failed" else "") + "</text>")
    else:
        css = "resource-label failed" if row.state == "failed" else "resource-label"
        parts.append(f'<text class="{css}" x="{LABEL_X + 18}" y="{_n(middle + 4)}">{esc(_label(row.label, 38))}'
                     f'<title>{esc(row.label)}</title></text>')
    if scale is not None and row.kind == "phase" and row.start is not None:
        end = row.end if row.end is not None else scale.last
        fill = FAILED_COLOUR if row.state == "failed" else colour
        tip = f"{row.phase}: {clock(row.start, date=False)} .. {clock(row.end, date=False) if row.end else 'no end recorded'}"
        tip += f" ({duration(row.seconds)})" if row.seconds is not None else ""
        parts.append(_bar(scale.x(row.start), scale.x(end), middle - 8, 16, fill, "phase", row.status, tip))
        if row.end is None:  # inside the bar when it has room, else before it
            inside = scale.x(end) - scale.x(row.start) > 110
            parts.append(f'<text class="{"note inverse" if inside else "note"}" x="{_n(scale.x(end) - 4 if inside else scale.x(row.start) - 4)}" '
                         f'y="{_n(middle + 4)}" text-anchor="end">no end recorded</text>')
    elif scale is not None and row.kind == "phase" and row.state == "failed":
        # failed between the recorded phases (scale in, scale out): mark where the run ended
        parts.append(f'<path class="bar" data-kind="failure" data-status="failed" d="M{_n(scale.x(scale.last))} {_n(middle - 7)} l7 7 l-7 7 l-7 -7 z" '
                     f'fill="{FAILED_COLOUR}"><title>{esc(row.phase)}: failed here (no times recorded)</title></path>')
    for index, segment in enumerate(row.segments):
        if scale is None or segment.start is None:
            continue
        end = segment.end if segment.end is not None else segment.start
        fill = {"failed": FAILED_COLOUR, "skipped": SKIPPED_COLOUR}.get(segment.state, tint(colour, 0.35 if index % 2 == 0 else 0.6))
        tip = f"{row.label}: {segment.step} - {segment.status}, {duration(segment.end - segment.start if segment.end is not None else None)}"
        tip += " (start not recorded: drawn after the step before)" if segment.sequential else f", from {clock(segment.start, date=False)}"
        parts.append(_bar(scale.x(segment.start), scale.x(end), middle - 5, 10, fill, "step", segment.status, tip,
                          dashed=segment.state == "planned"))
    if not row.timed and row.kind == "resource" and not row.hidden:
        full = "would: " + "; ".join(row.planned) if row.planned else (row.error or row.status or "no times recorded")
        # from the phase start where there is room, else moved left so the note stays inside the plot
        text = _label(full, int((PLOT_X1 - PLOT_X0 - 12) / CHAR_WIDTH))
        x = PLOT_X0 + 6.0
        if scale is not None and row.anchor is not None:
            x = max(PLOT_X0 + 6.0, min(scale.x(row.anchor), PLOT_X1 - len(text) * CHAR_WIDTH))
        css = "note failed" if row.state == "failed" else "note"
        parts.append(f'<text class="{css}" x="{_n(x)}" y="{_n(middle + 4)}">{esc(text)}<title>{esc(full)}</title></text>')
    elif not row.timed and row.kind == "phase" and row.state != "failed":
        text = "planned (check mode: nothing ran)" if row.state == "planned" and row.status == "planned" else "no times recorded"
        parts.append(f'<text class="note" x="{PLOT_X0 + 6}" y="{_n(middle + 4)}">{esc(text)}</text>')
    value = duration(row.seconds) if row.seconds is not None else ""
    if value:
        parts.append(f'<text class="{"duration" if row.kind == "phase" else "duration small"}" x="{DURATION_X}" y="{_n(middle + 4)}" '
                     f'text-anchor="end">{esc(value)}</text>')
    parts.append("</g>")
    return parts


def _legend(y: float, rows: list[Row], downtime: str) -> list[str]:
    """What each colour means, for the marks the picture has (``downtime``: "", "closed" or "open")."""
    states = {segment.state for row in rows for segment in row.segments if segment.start is not None}
    items = []
    if any(row.kind == "phase" and row.start is not None for row in rows):
        items.append(("phase", "#7c3aed", "phase (colour per phase)", 16))
    if states:
        items.append(("step", tint("#7c3aed", 0.35), "step of a resource", 10))
    if "skipped" in states:
        items.append(("skipped", SKIPPED_COLOUR, "already done by an earlier run", 10))
    if "failed" in states or any(row.state == "failed" for row in rows):
        items.append(("failed", FAILED_COLOUR, "failed", 16))
    if downtime:
        items.append(("downtime", "url(#hatch)" if downtime == "open" else DOWNTIME_FILL,
                      "downtime window (workloads stopped)" + (", not started again" if downtime == "open" else ""), 16))
    parts, x = [f'<g class="legend" transform="translate(0 {_n(y)})">'], float(LABEL_X)
    for key, fill, text, height in items:
        stroke = f' stroke="{DOWNTIME_EDGE}" stroke-width="1"' if key == "downtime" else ""
        parts.append(f'<rect data-legend="{key}" x="{_n(x)}" y="{_n(8 - height / 2)}" width="22" height="{height}" rx="2" fill="{fill}"{stroke}/>'
                     f'<text class="legend-text" x="{_n(x + 28)}" y="12">{esc(text)}</text>')
        x += 28 + len(text) * 6.3 + 22
    parts.append("</g>")
    return parts


def render_svg(report: dict[str, Any], rows: list[Row]) -> str:
    """The timeline picture: rows, downtime band, axis, legend; a title and description for screen readers."""
    span = axis_range(report, rows)
    scale = Scale(*span) if span else None
    downtime = report.get("downtime") if isinstance(report.get("downtime"), dict) else {}
    stopped, restarted = moment(downtime.get("stopped_at")), moment(downtime.get("started_at"))
    heights = [PHASE_ROW if row.kind == "phase" else RESOURCE_ROW for row in rows]
    top = AXIS_Y + 6
    bottom = top + sum(heights)
    height = bottom + 72
    spare: dict[str, str] = {}
    colours = {row.phase: phase_colour(row.phase, spare) for row in rows}
    parts = [f'<svg class="timeline" role="img" aria-labelledby="timeline-title timeline-desc" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {WIDTH} {_n(height)}" width="{WIDTH}" height="{_n(height)}" preserveAspectRatio="xMinYMin meet"'
             + (f' data-t0="{scale.first!r}" data-t1="{scale.last!r}" data-x0="{PLOT_X0}" data-x1="{PLOT_X1}"' if scale else "") + ">",
             '<title id="timeline-title">Restore timeline</title>',
             f'<desc id="timeline-desc">{esc(describe(report, rows))}</desc>',
             '<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
             f'<rect width="8" height="8" fill="{DOWNTIME_FILL}"/><rect width="3" height="8" fill="#f8c98a"/></pattern></defs>']
    # row backgrounds: phase rows tinted so each phase reads as a group
    y = float(top)
    for row, row_height in zip(rows, heights):
        if row.kind == "phase":
            parts.append(f'<rect class="row-bg" x="0" y="{_n(y)}" width="{WIDTH}" height="{row_height}" fill="#f1f5f9"/>')
        y += row_height
    # downtime band behind the bars, over every row
    if scale is not None and stopped is not None:
        x0, x1 = scale.x(stopped), scale.x(restarted if restarted is not None else scale.last)
        fill = DOWNTIME_FILL if restarted is not None else "url(#hatch)"
        tip = (f"Downtime {duration(restarted - stopped)}: workloads stopped {clock(stopped, date=False)}, started {clock(restarted, date=False)}"
               if restarted is not None else f"Workloads stopped {clock(stopped, date=False)} and NOT started again")
        parts.append(f'<rect class="downtime" data-kind="downtime" data-open="{str(restarted is None).lower()}" x="{_n(x0)}" y="{AXIS_Y}" '
                     f'width="{_n(max(x1 - x0, 2.0))}" height="{_n(bottom - AXIS_Y)}" fill="{fill}"><title>{esc(tip)}</title></rect>')
        for edge in (x0, x1) if restarted is not None else (x0,):
            parts.append(f'<line x1="{_n(edge)}" y1="{AXIS_Y - 4}" x2="{_n(edge)}" y2="{_n(bottom)}" stroke="{DOWNTIME_EDGE}" '
                         'stroke-width="1.5" stroke-dasharray="4 3"/>')
        label = f"downtime {duration(restarted - stopped)}" if restarted is not None else "workloads stopped \u2014 NOT started again"
        centre = (x0 + x1) / 2
        anchor, x = ("middle", centre)
        if centre - len(label) * 3.4 < PLOT_X0:
            anchor, x = "start", max(x0, PLOT_X0)
        elif centre + len(label) * 3.4 > PLOT_X1 + 40:
            anchor, x = "end", x1
        parts.append(f'<text class="downtime-label{" open" if restarted is None else ""}" x="{_n(x)}" y="14" text-anchor="{anchor}">{esc(label)}</text>')
    # axis: ticks at the top and the bottom, grid lines between
    if scale is not None:
        step, ticks = scale.ticks()
        parts.append(f'<line class="axis" x1="{PLOT_X0}" y1="{AXIS_Y}" x2="{PLOT_X1}" y2="{AXIS_Y}" stroke="#94a3b8"/>')
        parts.append(f'<line class="axis" x1="{PLOT_X0}" y1="{_n(bottom)}" x2="{PLOT_X1}" y2="{_n(bottom)}" stroke="#94a3b8"/>')
        for tick in ticks:
            x = scale.x(tick)
            text = clock(tick, date=False, fraction=step < 1)
            if step >= 60:
                text = text[:5]
            parts.append(f'<line class="grid" x1="{_n(x)}" y1="{AXIS_Y}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="#cbd5e1" '
                         'stroke-width="0.75" stroke-dasharray="2 3"/>')
            parts.append(f'<line x1="{_n(x)}" y1="{AXIS_Y - 5}" x2="{_n(x)}" y2="{AXIS_Y}" stroke="#64748b"/>'
                         f'<text class="tick" x="{_n(x)}" y="{AXIS_Y - 9}" text-anchor="middle">{esc(text)}</text>')
            parts.append(f'<text class="tick" x="{_n(x)}" y="{_n(bottom + 15)}" text-anchor="middle">{esc(text)}</text>')
        parts.append(f'<text class="axis-caption" x="{LABEL_X}" y="{AXIS_Y - 9}">UTC, {esc(clock(scale.first)[:10])}</text>')
    else:
        parts.append(f'<text class="axis-caption" x="{PLOT_X0}" y="{AXIS_Y - 9}">No times recorded: the picture shows what would run.</text>')
    if any(row.seconds is not None for row in rows):
        parts.append(f'<text class="axis-caption" x="{DURATION_X}" y="{AXIS_Y - 9}" text-anchor="end">duration</text>')
    y = float(top)
    for row, row_height in zip(rows, heights):
        parts += _row_svg(row, y, scale, colours[row.phase])
        y += row_height
    band = "" if stopped is None or scale is None else ("open" if restarted is None else "closed")
    parts += _legend(bottom + 30, rows, band)
    parts.append("</svg>")
    return "".join(parts)


def describe(report: dict[str, Any], rows: list[Row]) -> str:
    """The picture in one paragraph (the SVG's description)."""
    phases = [row for row in rows if row.kind == "phase"]
    words = [f"{len(phases)} phases"]
    if phases:
        words.append(", ".join(f"{row.phase} {duration(row.seconds) if row.seconds is not None else row.status or 'no times'}" for row in phases))
    resources = [row for row in rows if row.kind == "resource"]
    if resources:
        words.append(f"{len(resources)} resource rows")
    downtime = report.get("downtime") if isinstance(report.get("downtime"), dict) else {}
    stopped, restarted = moment(downtime.get("stopped_at")), moment(downtime.get("started_at"))
    if stopped is not None:
        words.append(f"downtime {duration(restarted - stopped)} from {clock(stopped)} to {clock(restarted)}" if restarted is not None
                     else f"workloads stopped at {clock(stopped)} and not started again")
    return "Restore timeline: " + "; ".join(words) + "."


# --- the page -------------------------------------------------------------------------------------------------
def point_text(report: dict[str, Any]) -> tuple[str, str]:
    """The restore point and how it was chosen."""
    point = report.get("restore_point") if isinstance(report.get("restore_point"), dict) else {}
    resolved = next((phase.get("restore_point") for phase in (phases_of(report).get(name, {}) for name in ("prepare", "preflight"))
                     if isinstance(phase.get("restore_point"), str)), None)
    if point.get("end_of_archive"):  # CloudNativePG without a target time: replay every archived WAL
        return "the end of the archive", "no target time: the recovery replays the last archived WAL"
    value = point.get("time") or resolved or "latest restorable time"
    source = str(point.get("source") or ("latest" if point.get("use_latest") else ""))
    how = POINT_SOURCES.get(source, source or ("given (restore_point)" if point.get("time") else "-"))
    if source == "latest" or point.get("use_latest"):
        how = "the latest restorable time" + (" common to every table" if report.get("backend") == "dynamodb" else "")
        how += f", resolved to {resolved}" if resolved and resolved != value else ""
    window = point.get("pause_window")
    if isinstance(window, dict):
        how += f": {window.get('start')} .. {window.get('end')}"
    if point.get("pause_record"):
        how += f" (record {point['pause_record']})"
    return str(value), how


def badge_class(status: Any) -> str:
    """The status badge's colour class."""
    return {"succeeded": "ok", "failed": "failed", "planned": "planned"}.get(str(status), "other")


def downtime_text(report: dict[str, Any]) -> str:
    downtime = report.get("downtime") if isinstance(report.get("downtime"), dict) else {}
    stopped, restarted = moment(downtime.get("stopped_at")), moment(downtime.get("started_at"))
    if stopped is None:
        return "none (the workloads were not stopped)"
    if restarted is None:
        return f"workloads stopped at {clock(stopped)} and NOT started again"
    return f"{duration(restarted - stopped)} (stopped {clock(stopped)}, started {clock(restarted)})"


def _summary_rows(report: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(heading, HTML value, CSS class, wide) of the summary table; the values are escaped here."""
    point, how = point_text(report)
    started, ended = moment(report.get("started")), moment(report.get("ended"))
    downtime = downtime_text(report)
    status = str(report.get("status", "?"))
    rows = [
        ("Restore point", f"<code>{esc(point)}</code>", "", False),
        ("Chosen as", esc(how), "", False),
        ("Backend", esc(BACKEND_NAMES.get(str(report.get("backend")), "")) + f' <code>{esc(report.get("backend", "?"))}</code>', "", False),
        ("Status", f'<span class="badge {badge_class(status)}">{esc(status.upper())}</span>', "", False),
        ("Started", esc(clock(started) if started is not None else report.get("started") or "-"), "", False),
        ("Ended", esc(clock(ended) if ended is not None else report.get("ended") or "-"), "", False),
        ("Duration", esc(duration(ended - started) if started is not None and ended is not None else "-"), "", False),
    ]
    if "releases" in report or "cluster" not in report:  # a CloudNativePG restore stops applications, not releases
        rows.append(("Releases", ", ".join(f"<code>{esc(name)}</code>" for name in report.get("releases") or []) or "-", "", False))
    rows += _cluster_rows(report)
    rows.append(("Downtime", esc(downtime), "warn" if "NOT started" in downtime else "", True))
    if report.get("failed_phase") or report.get("error"):
        rows.append(("Failed in", f"<code>{esc(report.get('failed_phase') or '?')}</code>", "error", True))
        rows.append(("Error", f'<span class="error-text">{esc(report.get("error") or "-")}</span>', "error", True))
    properties = report.get("properties_set")
    if isinstance(properties, dict) and properties:
        rows.append(("Properties set", "<br>".join(f"<code>{esc(key)}={esc(value)}</code>" for key, value in sorted(properties.items())), "", True))
    switch = report.get("endpoint_switch")
    if isinstance(switch, dict) and switch.get("to_host"):
        target = f"{switch['to_host']}" + (f":{switch['to_port']}" if switch.get("to_port") else "")
        hosts = ", ".join(f"<code>{esc(host)}</code>" for host in switch.get("from_hosts") or [])
        rows.append(("Endpoint switch", f"JDBC URLs re-pointed to <code>{esc(target)}</code>"
                     + (f" ({esc(switch['source'])})" if switch.get("source") else "") + f" from {hosts or '-'}", "", True))
    return rows


def _cluster_rows(report: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """CloudNativePG reports: the Cluster restored and the applications stopped and started around it."""
    rows = []
    cluster = report.get("cluster")
    if isinstance(cluster, dict) and cluster:
        where = f"{cluster.get('namespace')}/{cluster.get('source')} \u2192 {cluster.get('namespace')}/{cluster.get('target')}"
        detail = ", replaces the old cluster" if cluster.get("replace") else ""
        detail += f", archive strategy {cluster['archive_strategy']}" if cluster.get("archive_strategy") else ""
        rows.append(("Cluster", f"<code>{esc(where)}</code>{esc(detail)}", "", True))
    workloads = report.get("workloads")
    if isinstance(workloads, list) and workloads:
        names = [f"{entry.get('kind') or 'Deployment'} {entry.get('namespace')}/{entry.get('name')}" if isinstance(entry, dict) else str(entry)
                 for entry in workloads]
        rows.append(("Applications", ", ".join(f"<code>{esc(name)}</code>" for name in names), "", True))
    return rows


def summary_table(report: dict[str, Any]) -> str:
    """Two facts a line; the long ones (downtime, error, switch) a line of their own."""
    lines, pending = [], []
    for heading, value, css, wide in _summary_rows(report):
        span = ' colspan="3"' if wide else ""
        cell = f'<th scope="row">{esc(heading)}</th><td{span} class="{css}">{value}</td>'
        if wide:
            lines.append(f"<tr>{cell}</tr>")
            continue
        pending.append(cell)
        if len(pending) == 2:
            lines.append(f"<tr>{''.join(pending)}</tr>")
            pending = []
    if pending:
        lines.append(f'<tr>{pending[0]}<td colspan="2"></td></tr>')
    return ('<table class="summary"><caption class="visually-hidden">Summary</caption>'
            '<colgroup><col class="key"><col><col class="key"><col></colgroup>' + "".join(lines) + "</table>")


def _phase_table(rows: list[Row]) -> str:
    lines = ['<table class="data phases"><caption>Phases</caption><thead><tr><th scope="col">Phase</th><th scope="col">Started</th>'
             '<th scope="col">Ended</th><th scope="col" class="num">Duration</th><th scope="col">Status</th></tr></thead><tbody>']
    for row in rows:
        if row.kind != "phase":
            continue
        lines.append(f'<tr class="{esc(row.state)}"><th scope="row">{esc(row.phase)}</th><td>{esc(clock(row.start, date=False))}</td>'
                     f'<td>{esc(clock(row.end, date=False) if row.end is not None else ("-" if row.start is None else "no end recorded"))}</td>'
                     f'<td class="num">{esc(duration(row.seconds))}</td><td>{esc(row.status or "-")}</td></tr>')
        if row.error:
            lines.append(f'<tr class="failed"><td></td><td colspan="4" class="error-text">{esc(row.error)}</td></tr>')
    lines.append("</tbody></table>")
    return "".join(lines)


def _step_table(report: dict[str, Any]) -> str:
    """Every resource's every step, phase by phase: the picture as text (and the resources it leaves out)."""
    phases = phases_of(report)
    timeline = {entry["phase"]: entry for entry in timeline_of(report)}
    groups, approximate = [], False
    for name in phase_names(report):
        data = phases.get(name, {})
        resources = resource_rows(name, data, timeline.get(name, {}).get("started"))
        lines = []
        for row in resources:
            if not (row.segments or row.planned or row.error):
                continue  # e.g. the preflight's per-table checks of a real run: nothing was done to them
            first = True
            entries = [(segment.step, segment.start, segment.end, segment.status, segment.sequential) for segment in row.segments
                       if segment.state != "planned"]
            entries += [(step, None, None, "planned", False) for step in row.planned]
            if not entries:
                entries = [("-", None, None, row.status or "-", False)]
            for step, start, end, status, sequential in entries:
                head = f'<th scope="row" rowspan="{len(entries)}">{esc(row.label)}</th>' if first else ""
                first = False
                started = "-" if start is None else (f"~{clock(start, date=False)}" if sequential else clock(start, date=False))
                approximate = approximate or (sequential and start is not None)
                lines.append(f'<tr class="{esc(state_of(status))}">{head}<td>{esc(step)}</td><td>{esc(started)}</td>'
                             f'<td class="num">{esc(duration(end - start) if start is not None and end is not None else "-")}</td>'
                             f"<td>{esc(status)}</td></tr>")
            if row.error:
                lines.append(f'<tr class="failed"><td></td><td colspan="4" class="error-text">{esc(row.error)}</td></tr>')
        for problem in (data["problems"] if isinstance(data.get("problems"), list) else []):
            lines.append(f'<tr class="failed"><td></td><td colspan="4" class="error-text">problem: {esc(problem)}</td></tr>')
        if lines:
            groups.append(f'<tbody><tr class="group"><th scope="rowgroup" colspan="5">{esc(name)}</th></tr>{"".join(lines)}</tbody>')
    if not groups:
        return '<p class="muted">The phases recorded no per-resource steps.</p>'
    note = ('<p class="muted">A start time with ~ was not recorded: the step is placed right after the step before it, from the phase start.</p>'
            if approximate else "")
    return ('<table class="data steps"><caption>Resources and steps</caption><thead><tr><th scope="col">Resource</th><th scope="col">Step</th>'
            '<th scope="col">Started (UTC)</th><th scope="col" class="num">Duration</th><th scope="col">Status</th></tr></thead>'
            + "".join(groups) + "</table>" + note)


CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f8fafc;color:#0f172a;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1160px;margin:0 auto;padding:24px 28px 40px}
header{display:flex;align-items:center;gap:14px;flex-wrap:wrap;border-bottom:1px solid #e2e8f0;padding-bottom:14px;margin-bottom:18px}
h1{font-size:22px;margin:0;font-weight:650;letter-spacing:-.01em}
h1 .point{font-weight:400;color:#475569}
h2{font-size:16px;margin:26px 0 10px;font-weight:650}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f5f9;border-radius:4px;padding:1px 5px;overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:999px;padding:3px 12px;font-weight:700;font-size:12px;letter-spacing:.06em;color:#fff;background:#16a34a}
.badge.failed{background:#dc2626}.badge.planned{background:#475569}.badge.running{background:#d97706}
.badge.other{background:#2563eb}
.alert{border-left:4px solid #dc2626;background:#fef2f2;padding:10px 14px;border-radius:4px;margin:0 0 16px;overflow-wrap:anywhere}
.alert.info{border-color:#475569;background:#f1f5f9}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:14px 16px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
table.summary{border-collapse:collapse;width:100%}
table.summary{table-layout:fixed}
table.summary col.key{width:125px}
table.summary th{text-align:left;color:#475569;font-weight:600;vertical-align:top;padding:6px 12px 6px 0}
table.summary td{padding:6px 18px 6px 0;overflow-wrap:anywhere;vertical-align:top}
table.summary tr+tr th,table.summary tr+tr td{border-top:1px solid #f1f5f9}
td.warn{color:#b45309;font-weight:600}
.error-text{color:#b91c1c}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
figure{margin:0}
figcaption{color:#475569;font-size:12.5px;margin-top:6px}
svg.timeline{display:block;width:100%;height:auto;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
svg .phase-label{font-size:13px;font-weight:650;fill:#0f172a}
svg .failed-tag{font-size:11px;font-weight:700;fill:#dc2626}
svg .resource-label{font-size:11.5px;fill:#334155}
svg .duration{font-size:12px;font-weight:600;fill:#0f172a}
svg .duration.small{font-size:11px;font-weight:400;fill:#475569}
svg .tick{font-size:11px;fill:#475569}
svg .axis-caption{font-size:11px;fill:#64748b}
svg .note{font-size:11px;font-style:italic;fill:#64748b}
svg .resource-label.failed,svg .note.failed{fill:#b91c1c;font-weight:600}
svg .note.inverse{fill:#ffffff;font-style:normal;font-weight:600}
svg .downtime-label{font-size:12px;font-weight:700;fill:#b45309}
svg .downtime-label.open{fill:#b91c1c}
svg .legend-text{font-size:11.5px;fill:#334155}
table.data{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e2e8f0;border-radius:8px;margin-top:8px}
table.data caption{text-align:left;font-weight:650;padding:0 0 6px}
table.data th,table.data td{padding:4px 10px;border-top:1px solid #f1f5f9;text-align:left;vertical-align:top;font-size:13px}
table.data thead th{background:#f8fafc;color:#475569;font-weight:600;border-top:0}
table.data tbody th{font-weight:500;overflow-wrap:anywhere}
table.data tr.group th{background:#f1f5f9;font-weight:700;text-transform:none}
table.phases tbody th{white-space:nowrap;width:1%}
table.data .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.data tr.failed td{color:#b91c1c}
table.data tr.skipped td{color:#64748b}
.muted{color:#64748b;font-size:12.5px}
footer{margin-top:28px;color:#64748b;font-size:12px}
@media print{body{background:#fff}main{padding:0}.card{box-shadow:none}}
"""


def render_report_html(report: dict[str, Any]) -> str:
    """The whole page (see the module docstring)."""
    if not isinstance(report, dict):
        raise TypeError(f"a restore report is a dict, not {type(report).__name__}")
    rows = build_rows(report)
    status = str(report.get("status") or "?")
    backend = str(report.get("backend") or "?")
    point = point_text(report)[0]
    badge = badge_class(status)
    alerts = []
    if report.get("error") or status == "failed":
        # the error itself is in the summary below; this says what to do
        advice = ("The workloads are still STOPPED: fix the cause and run the same playbook again to finish the restore and start them."
                  if "NOT started" in downtime_text(report) else "Fix the cause and run the same playbook again: it continues from where this run stopped.")
        alerts.append(f'<div class="alert" role="alert"><strong>The restore failed in {esc(report.get("failed_phase") or "?")}.</strong> {advice}</div>')
    if status == "planned":
        alerts.append('<div class="alert info">Check mode: nothing was changed; the phases below show what would run.</div>')
    sequential = any(segment.sequential for row in rows for segment in row.segments)
    caption = ("Each phase, and below it each resource's steps, against UTC wall-clock time; the shaded band is the downtime "
               "window, from stopping the workloads to starting them again.")
    if sequential:
        caption += " Steps whose start the backend does not record are drawn one after another from the phase start."
    title = f"Restore report \u2013 {backend} \u2013 {status.upper()} \u2013 {point}"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}</style></head>",
        f'<body><main data-backend="{esc(backend)}" data-status="{esc(status)}">',
        f'<header><h1>Restore of {esc(BACKEND_NAMES.get(backend, backend))} <span class="point">to {esc(point)}</span></h1>'
        f'<span class="badge {badge}">{esc(status.upper())}</span></header>',
        *alerts,
        f'<section class="card" aria-label="Summary">{summary_table(report)}</section>',
        '<h2 id="timeline">Timeline</h2>',
        f'<figure class="card" aria-labelledby="timeline-caption">{render_svg(report, rows)}'
        f'<figcaption id="timeline-caption">{esc(caption)}</figcaption></figure>',
        '<h2 id="details">Phases and steps</h2>',
        _phase_table(rows),
        _step_table(report),
        "<footer>Rendered by scalarops.pitr.restore_report_html from the restore report (the JSON file of the same name); "
        "all times are UTC.</footer>",
        "</main></body></html>",
        "",
    ])
