"""What java.util.Properties itself reads from our samples, our edits of them, and random texts.

The parser claims Java's semantics; this is where Java gets the last word. One JVM launch
(single-file source program) loads every text of the module, so the whole file stays fast.
Skipped, with the reason listed by ``-ra``, where no ``java`` is installed.
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.java_properties import PropertiesDocument, PropertiesSyntaxError, edit
from properties_samples import JAVA_SYNTAX_DICT, RESTORE_EDIT, SAMPLES

JAVA = shutil.which("java")
pytestmark = pytest.mark.skipif(JAVA is None, reason="needs a Java runtime (java on PATH) to compare with java.util.Properties")

# Loads each file named on the command line with java.util.Properties and prints one JSON array:
# per file its properties (keys sorted), or null when Java refuses the text. A "latin1:" prefix
# loads through an InputStream (ISO-8859-1), which is how ScalarDB reads its properties file.
PROPS_JAVA = r"""
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;

public class Props {
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws IOException {
        StringJoiner all = new StringJoiner(",\n", "[", "]");
        for (String arg : args) {
            Properties p = new Properties();
            try {
                if (arg.startsWith("latin1:")) {
                    try (InputStream in = Files.newInputStream(Paths.get(arg.substring(7)))) { p.load(in); }
                } else {
                    try (Reader in = Files.newBufferedReader(Paths.get(arg), StandardCharsets.UTF_8)) { p.load(in); }
                }
            } catch (IllegalArgumentException e) {
                all.add("null");
                continue;
            }
            StringJoiner one = new StringJoiner(",", "{", "}");
            for (String k : new TreeSet<>(p.stringPropertyNames())) one.add(quote(k) + ":" + quote(p.getProperty(k)));
            all.add(one.toString());
        }
        System.out.println(all);
    }
}
"""

# Pieces random texts are made of: every separator, escape, line ending and continuation form.
ATOMS = [
    "a", "b", "k", "x.y", "=", ":", " ", "  ", "\t", "\f", "#", "!", "\\", "\\\\", "\\\\\\",
    "\n", "\r\n", "\r", "\n\n", "\r\r", "\n  ", "\\\n", "\\\r\n", "\\\r", "\\ ", "\\=", "\\:", "\\n", "\\t",
    "\\u0041", "\\u00e9", "\\uD83D\\uDE00", "\\uD800", "\\u12", "\\uzz00", "é", "😀", "${env:X}",
]
VALUES = ["", " lead", "=eq", ":colon", "a\\b", "multi\nline", "tab\there", "é😀", "jdbc:mysql://h:3306/db?useSSL=false&a=b",
          "${env:U}", "trail\\", "#hash", "!bang", "\r", " ", "\u0001"]
NEW_KEYS = ["new.key", " spaced key", "#hash", "é", "k:x", ""]


def _restore_cases() -> dict[str, tuple[str, dict[str, str] | None, bool]]:
    """name -> (text, what Java must read, also check the ISO-8859-1 reading)."""
    cases: dict[str, tuple[str, dict[str, str] | None, bool]] = {}
    for name, text in SAMPLES.items():
        # The hand-written expectation where there is one, so Java checks it and not only our parser.
        original = dict(JAVA_SYNTAX_DICT) if name.startswith("java_syntax") else PropertiesDocument(text).as_dict()
        cases[name] = (text, original, False)
        restored = edit(text, set=RESTORE_EDIT)[0]
        cases[f"{name}+restore"] = (restored, {**original, **RESTORE_EDIT}, text.isascii())
        half = list(original)[::2]
        removed = edit(text, remove=half)[0]
        cases[f"{name}-half"] = (removed, {key: value for key, value in original.items() if key not in half}, False)
    return cases


def _random_cases(count: int) -> dict[str, tuple[str, dict[str, str] | None, bool]]:
    """Random texts (what our parser reads, or None if it refuses) and random edits of them."""
    rng = random.Random(20261121)
    cases: dict[str, tuple[str, dict[str, str] | None, bool]] = {}
    for number in range(count):
        text = "".join(rng.choices(ATOMS, k=rng.randint(0, 25)))
        try:
            read = PropertiesDocument(text).as_dict()
        except PropertiesSyntaxError:
            cases[f"random{number}"] = (text, None, False)
            continue
        cases[f"random{number}"] = (text, read, False)
        document, expected = PropertiesDocument(text), dict(read)
        for _step in range(rng.randint(1, 3)):
            if expected and rng.random() < 0.3:
                key = rng.choice(list(expected))
                document.remove(key)
                del expected[key]
            else:
                key, value = rng.choice(list(expected) + NEW_KEYS), rng.choice(VALUES)
                document.set(key, value)
                expected[key] = value
        cases[f"random{number}+edit"] = (document.render(), expected, False)
    return cases


@pytest.fixture(scope="module")
def java_reads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, str] | None, dict[str, str] | None, dict | None]]:
    """name -> (what Java reads, what we expect, what Java reads as ISO-8859-1 or None if not asked)."""
    workdir = tmp_path_factory.mktemp("java_properties")
    (workdir / "Props.java").write_text(PROPS_JAVA)
    cases = {**_restore_cases(), **_random_cases(400)}
    args: list[str] = []
    for index, (text, _expected, latin1) in enumerate(cases.values()):
        path = workdir / f"{index}.properties"
        path.write_bytes(text.encode("utf-8"))   # bytes: CR and CRLF endings reach Java untouched
        args.append(str(path))
        if latin1:
            args.append(f"latin1:{path}")
    result = subprocess.run([str(JAVA), "Props.java", *args], cwd=workdir, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    reads = iter(json.loads(result.stdout))
    outcome = {}
    for name, (_text, expected, latin1) in cases.items():
        read = next(reads)
        outcome[name] = (read, expected, next(reads) if latin1 else None)
    return outcome


@pytest.mark.parametrize("name", sorted(_restore_cases()))
def test_java_reads_samples_and_our_edits_as_we_do(name: str, java_reads: dict) -> None:
    read, expected, latin1 = java_reads[name]
    assert read == expected
    if latin1 is not None:
        # Our writes are ASCII: ScalarDB's byte-wise reading sees the same values.
        assert latin1 == expected


def test_java_agrees_on_random_texts_and_their_edits(java_reads: dict) -> None:
    randoms = {name: outcome for name, outcome in java_reads.items() if name.startswith("random")}
    assert len(randoms) > 400
    mismatches = [(name, read, expected) for name, (read, expected, _latin1) in randoms.items() if read != expected]
    assert not mismatches, mismatches[:5]


def test_java_refuses_what_we_refuse(java_reads: dict) -> None:
    refused = [name for name, (_read, expected, _latin1) in java_reads.items() if expected is None]
    # The random texts include malformed \u escapes: both sides must have refused some.
    assert refused
    assert all(java_reads[name][0] is None for name in refused)
