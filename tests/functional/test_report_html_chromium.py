"""The HTML restore report as a reader sees it: rendered by a real browser (headless Chromium).

For a report the restore_flow role just wrote in a real playbook run, and for reports of earlier real
runs of every backend (tests/fixtures/reports), Chromium loads the page from the file; the test reads
the DOM Chromium built (``--dump-dom``) and the picture it painted (``--screenshot``, decoded by the
small PNG reader below). From the DOM: one row per phase, the downtime band, nothing loaded from
outside. From the pixels: each phase mark is painted in its colour where its times put it, the
resource steps are painted, and the downtime band's colour fills the window and stops at its edges,
i.e. the picture is really drawn, not blank.

Chromium comes from the system (bindep.txt, profile test: tools/bootstrap.sh installs it). Without
it these tests skip with the reason, except under CI=true, where they fail.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dynamodb_playbook_helpers import build_scene

from ansible_collections.scalarops.pitr.plugins.module_utils.report_html import DOWNTIME_FILL, render_report_html
from fixtures.common import require_standin
from fixtures.kube import KubeTarget
from fixtures.report_html import Element, bars_in, parse, rows, sample, select
from standins.aws.target import AwsTarget

pytestmark = [pytest.mark.slow]

BROWSERS = ("chromium", "chromium-browser")
WINDOW = (1280, 1400)  # wide enough for the page's full layout, tall enough for the whole picture of these reports
HATCH_STRIPE = "#f8c98a"  # the darker stripe of the band of workloads not started again (report_html's pattern)


# --- Chromium ---------------------------------------------------------------------------------------------------
@pytest.fixture(name="chromium", scope="module")
def chromium_fixture() -> str:
    found = next((path for path in map(shutil.which, BROWSERS) if path), None)
    if found:
        return found
    reason = "chromium is not installed: it comes from bindep.txt (profile test), which tools/bootstrap.sh installs"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run these tests")
    pytest.skip(reason)


def chromium_run(chromium: str, page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--no-default-browser-check", "--disable-extensions", "--force-device-scale-factor=1", "--force-color-profile=srgb",
           f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}", *args, page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@dataclass
class Png:
    """A decoded PNG: RGB rows."""

    width: int
    height: int
    rows: list[bytes]

    def count(self, colour: str, left: float, right: float, top: float, bottom: float) -> int:
        """Pixels of exactly ``colour`` (#rrggbb) in the box (pixel coordinates, clipped to the image)."""
        pixel = bytes.fromhex(colour[1:])
        first, last = max(int(left), 0), min(int(right), self.width)
        found = 0
        for line in self.rows[max(int(top), 0):min(int(bottom), self.height)]:
            segment = line[first * 3:last * 3]
            found += sum(1 for index in range(0, len(segment), 3) if segment[index:index + 3] == pixel)
        return found

    def columns(self, colour: str, top: int = 0, bottom: int | None = None) -> dict[int, int]:
        """Column -> how many pixels of ``colour`` it has (between rows ``top`` and ``bottom``)."""
        pixel = bytes.fromhex(colour[1:])
        found: dict[int, int] = {}
        for line in self.rows[top:bottom]:
            start = line.find(pixel)
            while start >= 0:
                if start % 3 == 0:
                    found[start // 3] = found.get(start // 3, 0) + 1
                start = line.find(pixel, start + 1)
        return found


def read_png(data: bytes) -> Png:
    """8-bit RGB/RGBA, not interlaced (what Chromium writes): chunks, zlib, then the five row filters."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    assert header is not None, "no IHDR"
    width, height, depth, colour_type, _compression, _filter, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    lines, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:  # Average
            for i in range(stride):
                line[i] = (line[i] + (((line[i - bpp] if i >= bpp else 0) + prev[i]) >> 1)) & 255
        elif kind == 4:  # Paeth
            for i in range(stride):
                a, b, c = (line[i - bpp] if i >= bpp else 0), prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        lines.append(line)
        prev = line
    if bpp == 4:  # drop alpha: the page is opaque
        rgb = []
        for line in lines:
            out = bytearray(width * 3)
            out[0::3], out[1::3], out[2::3] = line[0::4], line[1::4], line[2::4]
            rgb.append(bytes(out))
        return Png(width, height, rgb)
    return Png(width, height, [bytes(line) for line in lines])


@dataclass
class Rendered:
    dom: list[Element]
    png: Png
    screenshot: Path


def render(chromium: str, page: Path) -> Rendered:
    profile = page.parent / f"{page.stem}-profile"
    dumped = chromium_run(chromium, page, profile, "--dump-dom").stdout
    shot = page.with_suffix(".png")
    chromium_run(chromium, page, profile, f"--screenshot={shot}")
    return Rendered(parse(dumped), read_png(shot.read_bytes()), shot)


# --- what a rendered report must show ----------------------------------------------------------------------------
class Placement:
    """SVG user units to screenshot pixels, found from bars whose colour nothing else on the page has."""

    def __init__(self, rendered: Rendered) -> None:
        fills: dict[str, int] = {}
        for element in rendered.dom:
            if element.tag in ("rect", "path") and element.attrs.get("fill", "").startswith("#"):
                fills[element.attrs["fill"]] = fills.get(element.attrs["fill"], 0) + 1
        references = [mark for mark in select(rendered.dom, "rect", data_kind="phase") if fills[mark.attrs["fill"]] == 1]
        assert references, "no phase bar of a colour of its own to measure the picture by"
        edges = []  # (user x, pixel x) of the left and right edge of each reference mark
        for mark in references:
            # a mark is 16 units tall: its columns have far more pixels of its colour than the phase label's small square
            columns = [column for column, count in rendered.png.columns(mark.attrs["fill"]).items() if count >= 12]
            assert columns, f"the {mark.attrs['fill']} bar is not painted"
            edges += [(mark.num("x"), min(columns)), (mark.num("x") + mark.num("width"), max(columns) + 1)]
            self.reference = mark
        (low, low_px), (high, high_px) = min(edges), max(edges)
        self.scale = (high_px - low_px) / (high - low)
        assert 0.5 < self.scale < 1.5, self.scale
        self.left = low_px - low * self.scale
        mark = self.reference
        tops = [index for index, line in enumerate(rendered.png.rows) if bytes.fromhex(mark.attrs["fill"][1:]) * 4 in line]
        self.top = min(tops) - mark.num("y") * self.scale

    def box(self, element: Element, inset: float = 0.0) -> tuple[float, float, float, float]:
        """The pixel box (left, right, top, bottom) of a rect, ``inset`` pixels smaller on each side."""
        x, y = self.left + element.num("x") * self.scale, self.top + element.num("y") * self.scale
        return (x + inset, x + element.num("width") * self.scale - inset, y + inset, y + element.num("height") * self.scale - inset)


def moment(text: str) -> float:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def expected_phases(report: dict[str, Any]) -> list[str]:
    ran = [entry["phase"] for entry in report.get("timeline") or []]
    return ran + sorted(set(report.get("phases") or {}) - set(ran))


def check_rendered(report: dict[str, Any], rendered: Rendered) -> None:
    dom, png = rendered.dom, rendered.png
    # the DOM Chromium built: the document as written, the rows, the band
    assert not select(dom, "script") and not select(dom, "img") and not select(dom, "link")
    (svg,) = select(dom, "svg")
    assert svg.attrs["role"] == "img" and select(dom, "desc", id="timeline-desc")
    phases = [row.attrs["data-phase"] for row in rows(dom, "phase")]
    assert sorted(phases) == sorted(expected_phases(report)) and phases[:len(report["timeline"])] == [entry["phase"] for entry in report["timeline"]]
    stopped, restarted = report["downtime"]["stopped_at"], report["downtime"]["started_at"]
    bands = select(dom, "rect", data_kind="downtime")
    assert len(bands) == (1 if stopped else 0)

    # the pixels: each phase mark in its colour where the DOM puts it
    place = Placement(rendered)
    for row in rows(dom, "phase"):
        for mark in bars_in(dom, row, "phase"):
            left, right, top, bottom = place.box(mark, inset=1.5)
            assert bottom < png.height, f"the picture is taller than the {WINDOW} window"
            area = max(right - left, 1) * (bottom - top)
            assert png.count(mark.attrs["fill"], left, right, top, bottom) >= 0.8 * area, (row.attrs["data-phase"], rendered.screenshot)
    # resource steps: painted inside their row, in one of the colours the DOM gives them
    for row in rows(dom, "resource"):
        steps = bars_in(dom, row, "step")
        if not steps:
            continue
        left = min(place.box(step)[0] for step in steps) - 1
        right = max(place.box(step)[1] for step in steps) + 1
        top, bottom = place.box(steps[0])[2:]
        painted = sum(png.count(colour, left, right, top, bottom) for colour in {step.attrs["fill"] for step in steps})
        assert painted > 0, (row.attrs["data-label"], rendered.screenshot)
    if not stopped:
        assert not png.columns(DOWNTIME_FILL), "a downtime colour without a downtime window"
        return
    # the band: its colour fills the window over every row, and is nowhere else in the rows' height
    (band,) = bands
    left, right, top, bottom = place.box(band)
    # ... and starts where the report says the workloads stopped, on the picture's time axis
    first, last, x0, x1 = (svg.num(name) for name in ("data-t0", "data-t1", "data-x0", "data-x1"))
    stopped_x = place.left + place.scale * (x0 + (moment(stopped) - first) / (last - first) * (x1 - x0))
    painted = [column for column in png.columns(DOWNTIME_FILL, int(top) + 2, int(bottom) - 2) if left - 3 <= column <= right + 3]
    assert painted and abs(min(painted) - stopped_x) <= 3, (min(painted, default=None), stopped_x, rendered.screenshot)
    inner = (left + 3, right - 3, top + 3, bottom - 3)
    if restarted:
        assert band.attrs["data-open"] == "false"
        assert png.count(DOWNTIME_FILL, *inner) >= 0.3 * (inner[1] - inner[0]) * (inner[3] - inner[2]), rendered.screenshot
    else:  # hatched to the end of the axis: both stripes painted
        assert band.attrs["data-open"] == "true"
        assert png.count(DOWNTIME_FILL, *inner) > 100 and png.count(HATCH_STRIPE, *inner) > 100, rendered.screenshot
    outside = {column for column in png.columns(DOWNTIME_FILL, int(top), int(bottom)) if column < left - 3 or column > right + 3}
    assert not outside, (sorted(outside)[:10], rendered.screenshot)


# --- the tests -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["dynamodb-succeeded", "dynamodb-failed-cutover", "dynamodb-planned", "rds-aurora-succeeded",
                                  "cosmosdb-succeeded", "azure_database-failed-prepare"])
def test_reports_of_every_backend_render_in_chromium(chromium: str, tmp_path: Path, name: str) -> None:
    report = sample(name)
    page = tmp_path / f"{name}.html"
    page.write_text(render_report_html(report), encoding="utf-8")
    check_rendered(report, render(chromium, page))


@pytest.mark.standin_only
def test_the_role_writes_the_html_report_and_chromium_renders_it(
        chromium: str, kube: KubeTarget, kube_namespace: str, aws: AwsTarget, tmp_path: Path) -> None:
    require_standin(aws.is_standin, "a restore point seconds old")
    scene = build_scene(kube, kube_namespace, aws, tmp_path, releases=("ledger",))
    run = scene.run("html")
    assert run.ok, run.tail()
    (json_file,) = run.report_dir.glob("restore-dynamodb-*.json")
    page = json_file.with_suffix(".html")
    assert page.exists(), sorted(path.name for path in run.report_dir.iterdir())
    assert page.stat().st_mode & 0o777 == 0o640
    report = json.loads(json_file.read_text(encoding="utf-8"))
    # the page is exactly the JSON report's rendering: nothing in it that the report does not hold
    assert page.read_text(encoding="utf-8") == render_report_html(report)
    assert scene.secret not in page.read_text(encoding="utf-8")
    rendered = render(chromium, page)
    check_rendered(report, rendered)
    resources = rows(rendered.dom, "resource")
    assert {row.attrs["data-phase"] for row in resources} == {"prepare", "cutover", "verify"}
    assert len(resources) == 3 * len(report["phases"]["prepare"]["tables"])
