"""The documentation under docs/ stays true to the code it describes.

The conventions these tests rely on are written down for maintainers in docs/README.md
("Maintaining these pages"):

* a procedure page (docs/procedures/*.md) declares its entry points on a line ``**Playbooks:**``
  and the roles whose options it lists on a line ``**Roles:**`` (code spans);
* its variables table has the header ``Variable | Default | Meaning``;
* its mapping tables have the columns ``Role``, ``Task file`` and ``Task name`` (and optionally
  ``In the module``); a row whose tasks do not exist yet says ``TODO(lead)`` and is skipped, visibly;
* docs/troubleshooting.md quotes each error on a line ``> error: `<fragment>```, where ``<name>``
  stands for a value the message inserts (an f-string ``{...}`` or Jinja ``{{ ... }}`` in the source).

Renaming a task, an option, a playbook variable or an error message therefore breaks a test here
until the page says the same.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.common import REPO_ROOT

DOCS = REPO_ROOT / "docs"
PROCEDURES = DOCS / "procedures"
TROUBLESHOOTING = DOCS / "troubleshooting.md"
TODO = "TODO(lead)"
CODE_SPAN = re.compile(r"`([^`]+)`")
# Where error messages come from: the code users run.
ERROR_SOURCES = [REPO_ROOT / "plugins", REPO_ROOT / "roles", REPO_ROOT / "playbooks"]
# A fragment must say something specific, not just "failed".
MIN_LITERAL_CHARS = 10


# --- Markdown --------------------------------------------------------------------------------------------------------
@dataclass
class Row:
    page: Path
    line: int
    header: list[str]
    cells: list[str]

    def cell(self, title: str) -> str:
        return self.cells[self.header.index(title)] if title in self.header else ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)}:{self.line}"


def _split_row(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


def tables(page: Path) -> list[list[Row]]:
    """Every Markdown table of ``page`` as its body rows (header cells normalised: no backticks, lower case)."""
    found: list[list[Row]] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index, in_fence = 0, False
    while index < len(lines):
        text = lines[index]
        if text.lstrip().startswith("```"):
            in_fence = not in_fence
        if (not in_fence and text.lstrip().startswith("|") and index + 1 < len(lines)
                and re.fullmatch(r"\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*", lines[index + 1])):
            header = [cell.replace("`", "").strip().lower() for cell in _split_row(text)]
            rows = []
            index += 2
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                rows.append(Row(page, index + 1, header, _split_row(lines[index])))
                index += 1
            found.append(rows)
            continue
        index += 1
    return found


def spans(cell: str) -> list[str]:
    return CODE_SPAN.findall(cell)


def declared(page: Path, label: str) -> list[str]:
    """The code spans of the page's ``**<label>:**`` line."""
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"**{label}:**"):
            return spans(line)
    return []


def procedure_pages() -> list[Path]:
    return sorted(PROCEDURES.glob("*.md"))


# --- the code --------------------------------------------------------------------------------------------------------
def yaml_file(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def task_names(node: Any) -> set[str]:
    """Every ``name:`` of a task (or play) in a task file or playbook, blocks included."""
    names: set[str] = set()
    if isinstance(node, list):
        for item in node:
            names |= task_names(item)
    elif isinstance(node, dict):
        if isinstance(node.get("name"), str):
            names.add(node["name"])
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            names |= task_names(node.get(key))
    return names


def role_name(cell: str) -> str:
    names = spans(cell)
    return names[0].removeprefix("scalarops.pitr.") if names else ""


def playbook_vars(name: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for play in yaml_file(REPO_ROOT / name) or []:
        values.update(play.get("vars") or {})
    return values


def role_options(role: str) -> dict[str, dict[str, Any]]:
    path = REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml"
    options: dict[str, dict[str, Any]] = {}
    for entry in ((yaml_file(path) or {}).get("argument_specs") or {}).values():
        options.update(entry.get("options") or {})
    return options


def plugin_file(name: str) -> Path:
    """A file under plugins/, by its path there (module_utils/x.py) or by a name that is unique."""
    if "/" in name:
        return REPO_ROOT / "plugins" / name
    found = sorted((REPO_ROOT / "plugins").rglob(name))
    assert len(found) == 1, f"{name}: expected exactly one file of that name under plugins/, found {found}"
    return found[0]


# --- (a) every playbook has a page -----------------------------------------------------------------------------------
PLAYBOOKS = sorted(f"playbooks/{path.name}" for path in (REPO_ROOT / "playbooks").glob("*.yml"))


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_every_playbook_has_a_procedure_page(playbook: str) -> None:
    pages = [page.name for page in procedure_pages() if playbook in declared(page, "Playbooks")]
    assert pages, f"no page in docs/procedures/ declares {playbook} on its **Playbooks:** line"


@pytest.mark.parametrize("page", procedure_pages(), ids=lambda page: page.name)
def test_procedure_page_is_complete(page: Path) -> None:
    playbooks = declared(page, "Playbooks")
    assert playbooks, f"{page.name}: no **Playbooks:** line"
    for playbook in playbooks:
        assert (REPO_ROOT / playbook).is_file(), f"{page.name}: {playbook} does not exist"
    for role in declared(page, "Roles"):
        assert (REPO_ROOT / "roles" / role.removeprefix("scalarops.pitr.") / "tasks").is_dir(), f"{page.name}: no role {role}"
    text = page.read_text(encoding="utf-8")
    for command in (f"ansible-playbook scalarops.pitr.{Path(p).stem}" for p in playbooks):
        assert command in text, f"{page.name}: the command {command!r} is not shown"
    found = tables(page)
    assert any(rows and rows[0].header[:2] == ["variable", "default"] for rows in found), f"{page.name}: no variables table"
    assert any(rows and {"role", "task file", "task name"} <= set(rows[0].header) for rows in found), f"{page.name}: no mapping table"
    for heading in ("## When to use it", "## Variables", "## The runbook, step by step", "## What the collection adds",
                    "## What it does not do"):
        assert heading in text, f"{page.name}: no section {heading!r}"


# --- (b) every task a mapping table cites exists ---------------------------------------------------------------------
def mapping_rows() -> list[Row]:
    rows = []
    for page in procedure_pages():
        for table in tables(page):
            if table and {"role", "task file", "task name"} <= set(table[0].header):
                rows.extend(table)
    return rows


MAPPING_ROWS = mapping_rows()


@pytest.mark.parametrize("row", MAPPING_ROWS, ids=lambda row: row.where)
def test_mapping_row_names_an_existing_task(row: Row) -> None:
    if any(TODO in cell for cell in row.cells):
        pytest.skip(f"{row.where}: marked {TODO} (the task does not exist yet)")
    task_file = spans(row.cell("task file"))
    names = spans(row.cell("task name"))
    assert len(task_file) == 1 and names, f"{row.where}: give one task file and at least one task name as code spans"
    if task_file[0].startswith("playbooks/"):
        path = REPO_ROOT / task_file[0]
    else:
        role = role_name(row.cell("role"))
        assert role, f"{row.where}: no role"
        path = REPO_ROOT / "roles" / role / task_file[0]
    assert path.is_file(), f"{row.where}: {path.relative_to(REPO_ROOT)} does not exist"
    existing = task_names(yaml_file(path))
    for name in names:
        assert name in existing, f"{row.where}: {path.relative_to(REPO_ROOT)} has no task named {name!r}"
    inside = spans(row.cell("in the module"))
    if inside:
        files = [span for span in inside if span.endswith(".py")]
        assert len(files) == 1, f"{row.where}: 'In the module' names one .py file, then the literals found in it"
        source = plugin_file(files[0]).read_text(encoding="utf-8")
        for literal in (span for span in inside if span != files[0]):
            assert literal in source, f"{row.where}: {files[0]} does not contain {literal}"


def test_mapping_tables_cite_tasks() -> None:
    assert len(MAPPING_ROWS) >= 50, "the mapping tables are missing or could not be parsed"


# --- (e) every variable listed exists --------------------------------------------------------------------------------
def variable_rows() -> list[Row]:
    rows = []
    for page in procedure_pages():
        for table in tables(page):
            if table and table[0].header[:2] == ["variable", "default"]:
                rows.extend(table)
    return rows


@pytest.mark.parametrize("row", variable_rows(), ids=lambda row: row.where)
def test_variable_exists_with_its_default(row: Row) -> None:
    names = spans(row.cells[0])
    assert names, f"{row.where}: the variable is not a code span"
    name = names[0]
    # A playbook's own default wins over the role option it feeds (the first playbook declared, when several share a name).
    known: dict[str, Any] = {}
    for playbook in declared(row.page, "Playbooks"):
        for key, value in playbook_vars(playbook).items():
            known.setdefault(key, {"default": value})
    for role in (role.removeprefix("scalarops.pitr.") for role in declared(row.page, "Roles")):
        for key, spec in role_options(role).items():
            known.setdefault(key, spec)
    assert name in known, f"{row.where}: {name} is neither a variable of {declared(row.page, 'Playbooks')} nor an option of {declared(row.page, 'Roles')}"
    default = spans(row.cells[1])
    if default and "default" in known[name]:
        assert yaml.safe_load(default[0]) == known[name]["default"], (
            f"{row.where}: {name} is documented with default {default[0]} but the code says {known[name]['default']!r}")


# --- (c) every quoted error exists -----------------------------------------------------------------------------------
ERROR_LINE = re.compile(r"^> error: `([^`]+)`\s*$")
PLACEHOLDER = re.compile(r"<[^<>]+>")
# What a placeholder of the page stands for in the source: an f-string field, a Jinja expression, or the same <name>.
SOURCE_PLACEHOLDER = r"(?:\{\{[^\n]*?\}\}|\{[^\n]*?\}|<[^<>\n]+>)"


def error_fragments() -> list[tuple[int, str]]:
    if not TROUBLESHOOTING.is_file():
        return []  # test_troubleshooting_quotes_errors fails
    return [(number, match.group(1)) for number, line in enumerate(TROUBLESHOOTING.read_text(encoding="utf-8").splitlines(), 1)
            if (match := ERROR_LINE.match(line))]


def error_sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for root in ERROR_SOURCES for path in sorted(root.rglob("*"))
            if path.suffix in (".py", ".yml", ".yaml") and path.is_file()}


@pytest.fixture(scope="module")
def sources() -> dict[Path, str]:
    return error_sources()


@pytest.mark.parametrize("line,fragment", error_fragments(), ids=lambda value: str(value)[:60])
def test_troubleshooting_error_occurs_in_the_code(line: int, fragment: str, sources: dict[Path, str]) -> None:
    literals = PLACEHOLDER.split(fragment)
    assert sum(len(piece) for piece in literals) >= MIN_LITERAL_CHARS, f"line {line}: {fragment!r} is too vague to check"
    pattern = re.compile(SOURCE_PLACEHOLDER.join(re.escape(piece) for piece in literals))
    assert any(pattern.search(text) for text in sources.values()), (
        f"troubleshooting.md:{line}: {fragment!r} occurs nowhere in plugins/, roles/ or playbooks/ (was the message changed?)")


def test_troubleshooting_quotes_errors() -> None:
    assert len(error_fragments()) >= 60, "the > error: lines are missing or could not be parsed"


# --- (d) every relative link resolves --------------------------------------------------------------------------------
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            number = counts.get(base, 0)
            counts[base] = number + 1
            found.add(base if number == 0 else f"{base}-{number}")
    return found


def markdown_files() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def links() -> list[tuple[Path, str]]:
    found = []
    for page in markdown_files():
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text)
        for match in LINK.finditer(text):
            target = match.group(1) or match.group(2)
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):
                found.append((page, target))
    return found


@pytest.mark.parametrize("page,target", links(), ids=lambda value: value.name if isinstance(value, Path) else value)
def test_relative_link_resolves(page: Path, target: str) -> None:
    path_part, fragment = target.split("#", 1) if "#" in target else (target, "")
    resolved = (page.parent / path_part).resolve() if path_part else page
    assert resolved.exists(), f"{page.relative_to(REPO_ROOT)}: link {target} points at nothing"
    if fragment and resolved.suffix == ".md":
        assert fragment in anchors(resolved), f"{page.relative_to(REPO_ROOT)}: {resolved.name} has no heading for #{fragment}"


def test_docs_are_linked_from_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/README.md)" in readme
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in [*procedure_pages(), TROUBLESHOOTING]:
        assert f"({page.relative_to(DOCS).as_posix()})" in index, f"docs/README.md does not link {page.name}"
