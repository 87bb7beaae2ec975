# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Edit Java ``.properties`` text (ScalarDB / ScalarDL configuration) without disturbing it.

A restore re-points ScalarDB/ScalarDL at the restored database by setting or removing a few keys
of a properties string held in Helm values. Everything else (comments, blank lines, order, line
endings, odd spellings) must survive byte for byte, because operators diff these values and the
Deployments restart on any change of them. So the text is kept as a list of entries, each owning
whole physical lines: a property (one logical line, possibly continued over several physical
lines) or a line kept verbatim (comment, blank line, a stray continuation). Only the entries an
edit touches are rewritten.

What a key and a value ARE follows ``java.util.Properties.load`` (Java 17) exactly: separators
``=``, ``:`` or whitespace, escapes ``\\=``, ``\\:``, ``\\ ``, ``\\t``, ``\\uXXXX``, backslash line
continuations (an even number of trailing backslashes is not one), comment lines that never
continue, the last duplicate wins. The text is read as characters (``Properties.load(Reader)``);
values this module writes are pure ASCII (other characters become ``\\uXXXX``), so ScalarDB reading
the file as ISO-8859-1 bytes (``load(InputStream)``) sees the same value.

Plain Python, no Ansible imports: used by the filter plugins and unit-tested on its own.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple, Union

__all__ = [
    "MASK",
    "Change",
    "PropertiesDocument",
    "PropertiesError",
    "PropertiesSyntaxError",
    "PropertyNotFoundError",
    "edit",
    "env_refs",
    "escape_key",
    "escape_value",
    "is_secret_key",
    "to_property_text",
]

MASK = "********"

# Java's whitespace inside a line; line terminators are \n, \r and \r\n only (not the many
# separators str.splitlines knows, which would split where Java does not).
_WS = " \t\f"
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_LOAD_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "f": "\f"}
_STORE_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\r": "\\r", "\n": "\\n", "\f": "\\f"}

# ScalarDB/ScalarDL resolve placeholders with Apache Commons Text's StringSubstitutor
# (com.scalar.db.config.ConfigUtils): ``${env:NAME}``, ``${env:NAME:-default}`` (and ``${sys:...}``
# for system properties); ``$${`` is an escaped, literal ``${``; the lookup prefix is
# case-insensitive; the name ends at the first ``:-`` or ``}``.
_ENV_REF = re.compile(r"(?<!\$)\$\{(?i:env):((?:(?!:-)[^}])+)(?::-[^}]*)?\}")
_SECRET_KEY = re.compile(r"password|secret|key|token|credential", re.IGNORECASE)


class PropertiesError(ValueError):
    """A properties text or an edit of it is not acceptable; the message says why."""


class PropertiesSyntaxError(PropertiesError):
    """Text that ``java.util.Properties.load`` itself rejects (a malformed ``\\uXXXX`` escape)."""


class PropertyNotFoundError(PropertiesError):
    """The key to remove is not in the text."""

    def __init__(self, key: str) -> None:
        super().__init__(f"property {key!r} is not set in the properties text, so it cannot be removed")
        self.key = key


class Change(NamedTuple):
    """One key an edit changed; ``old`` is None for an added key, ``new`` None for a removed one."""

    key: str
    old: str | None
    new: str | None


@dataclass
class _Property:
    """One logical line ``key = value`` and the physical lines it occupies."""

    key: str
    value: str
    text: str        # its physical lines exactly as they were (or as last written)
    indent: str      # leading whitespace of its first physical line
    raw_key: str     # the key as spelled (escapes kept, continuations joined)
    separator: str   # what stood between key and value: "=", " = ", ": ", " ", or "" (no value)
    newline: str     # terminator of its last physical line; "" at the end of the text
    dangling: bool   # the text ends inside it with a backslash: text appended after it would join it


_Entry = Union[str, _Property]   # str: physical line(s) kept verbatim


def to_property_text(value: object, what: str = "value") -> str:
    """Turn a value given by a caller (YAML may give bool or int) into the string Java would read.

    Booleans become ``true``/``false`` (the Java spelling ScalarDB parses); None, lists and
    dicts are rejected rather than written as Python reprs.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise PropertiesError(f"{what} must be a string, number or boolean, not {type(value).__name__}")


def _utf16_units(char: str) -> Iterable[int]:
    """The UTF-16 code units of one character, as Java's ``\\uXXXX`` escapes spell it."""
    code = ord(char)
    if code < 0x10000:
        return (code,)
    code -= 0x10000
    return (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def _escape(text: str, specials_anywhere: str, specials_first: str) -> str:
    out = []
    for index, char in enumerate(text):
        if char in _STORE_ESCAPES:
            out.append(_STORE_ESCAPES[char])
        elif char in specials_anywhere or (index == 0 and char in specials_first):
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:
            # Non-ASCII and control characters: \uXXXX reads back the same whether the file is
            # loaded as characters or (as ScalarDB does) as ISO-8859-1 bytes.
            out.extend(f"\\u{unit:04X}" for unit in _utf16_units(char))
    return "".join(out)


def escape_value(value: str) -> str:
    """Spell ``value`` so that Java reads it back unchanged after any separator.

    Only what Java would otherwise alter is escaped: backslashes, line breaks, tabs, a leading
    space (Java drops leading whitespace), a leading ``=``/``:`` (after a whitespace separator
    Java would take it as the separator), and non-ASCII. ``${env:X}`` placeholders and URLs such
    as ``jdbc:mysql://h:3306/db?useSSL=false&a=b`` are written verbatim.
    """
    return _escape(value, "", " =:")


def escape_key(key: str) -> str:
    """Spell ``key`` for a new line: separators and whitespace escaped, no leading ``#``/``!``."""
    return _escape(key, " =:", "#!")


def _unescape(raw: str, line_number: int) -> str:
    """``Properties.loadConvert``: resolve backslash escapes of a key or a value."""
    if "\\" not in raw:
        return raw
    out = []
    surrogates = False
    index = 0
    while index < len(raw):
        char = raw[index]
        index += 1
        if char != "\\" or index == len(raw):
            out.append(char)
            continue
        char = raw[index]
        index += 1
        if char == "u":
            digits = raw[index:index + 4]
            if not _HEX4.fullmatch(digits):
                raise PropertiesSyntaxError(f"line {line_number}: malformed \\uXXXX escape (Java refuses to load this text)")
            code = int(digits, 16)
            surrogates = surrogates or 0xD800 <= code <= 0xDFFF
            out.append(chr(code))
            index += 4
        else:
            out.append(_LOAD_ESCAPES.get(char, char))
    text = "".join(out)
    if surrogates:
        # Java strings are UTF-16: \uD83D\uDE00 is one character. Join such pairs; a lone
        # surrogate stays as it is, as it does in Java.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return text


def _split_logical(line: str) -> tuple[int, int]:
    """``Properties.load0``: where the key ends and where the value starts in a logical line."""
    key_end = 0
    value_start = len(line)
    has_separator = False
    backslash = False
    while key_end < len(line):
        char = line[key_end]
        if not backslash and char in "=:":
            value_start = key_end + 1
            has_separator = True
            break
        if not backslash and char in _WS:
            value_start = key_end + 1
            break
        backslash = char == "\\" and not backslash
        key_end += 1
    while value_start < len(line):
        char = line[value_start]
        if char not in _WS:
            if has_separator or char not in "=:":
                break
            has_separator = True
        value_start += 1
    return key_end, value_start


def _odd_trailing_backslashes(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _split_terminator(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body):]


def _parse(text: str) -> list[_Entry]:
    """Cut ``text`` into entries the way ``Properties.LineReader`` cuts it into logical lines."""
    lines = [match.group() for match in _PHYSICAL_LINE.finditer(text) if match.group()]
    entries: list[_Entry] = []
    index = 0
    while index < len(lines):
        start = index
        pieces: list[str] = []
        while True:
            body, newline = _split_terminator(lines[index])
            content = body.lstrip(_WS)
            index += 1
            collected = "".join(pieces)
            if not content or (not collected and content[0] in "#!"):
                # A blank line ends a continued logical line (and belongs to it). With nothing
                # collected yet (a lone backslash may precede), it and comments reset the logical
                # line as in Java: keep those lines verbatim.
                if collected:
                    entries.append(_make_property(lines, start, index, pieces, newline, dangling=False))
                else:
                    entries.extend(lines[start:index])
                break
            continued = _odd_trailing_backslashes(content)
            pieces.append(content[:-1] if continued else content)
            if continued and index < len(lines):
                continue
            # A continuation at the very end of the text ends there. Java still reads what it
            # collected, even nothing (a lone backslash is then the empty key), except after a
            # final \r\n: its LineReader has already stepped over it and finds the text empty.
            if "".join(pieces) or not (continued and newline == "\r\n"):
                entries.append(_make_property(lines, start, index, pieces, newline, dangling=continued))
            else:
                entries.extend(lines[start:index])
            break
    return entries


def _make_property(lines: list[str], start: int, end: int, pieces: list[str], newline: str, dangling: bool) -> _Property:
    logical = "".join(pieces)
    key_end, value_start = _split_logical(logical)
    first_body = _split_terminator(lines[start])[0]
    return _Property(
        key=_unescape(logical[:key_end], start + 1),
        value=_unescape(logical[value_start:], start + 1),
        text="".join(lines[start:end]),
        indent=first_body[:len(first_body) - len(first_body.lstrip(_WS))],
        raw_key=logical[:key_end],
        separator=logical[key_end:value_start],
        newline=newline,
        dangling=dangling,
    )


def env_refs(value: str) -> list[str]:
    """Names of the environment variables ``value`` references as ``${env:NAME}`` or ``${env:NAME:-default}``.

    Each name once, in order of first appearance; ``$${env:NAME}`` (escaped, literal) is not a reference.
    """
    names: list[str] = []
    for match in _ENV_REF.finditer(value):
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


def is_secret_key(key: str) -> bool:
    """Whether the value of ``key`` must be masked in output (password, secret, key, token, credential)."""
    return bool(_SECRET_KEY.search(key))


class PropertiesDocument:
    """A properties text that can be read like ``java.util.Properties`` and edited in place.

    Duplicated keys: Java keeps the last occurrence, so ``get`` returns it. ``set`` rewrites
    every occurrence whose value differs (not only the last): after a restore no line may still
    point at the old database, where a later hand edit that deletes the last line would silently
    resurrect it; rewriting in place removes no line and moves nothing. ``remove`` removes all of
    them, for the same reason.
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise PropertiesError(f"properties text must be a string, not {type(text).__name__}")
        self._entries = _parse(text)

    def _properties(self) -> list[_Property]:
        return [entry for entry in self._entries if isinstance(entry, _Property)]

    def _occurrences(self, key: str) -> list[_Property]:
        return [prop for prop in self._properties() if prop.key == key]

    def __contains__(self, key: object) -> bool:
        return any(prop.key == key for prop in self._properties())

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value Java would read for ``key`` (its last occurrence), else ``default``."""
        occurrences = self._occurrences(key)
        return occurrences[-1].value if occurrences else default

    def keys(self) -> list[str]:
        """Every key once, in order of first appearance."""
        return list(self.as_dict())

    def as_dict(self) -> dict[str, str]:
        """All properties as Java reads them (the last duplicate wins)."""
        result: dict[str, str] = {}
        for prop in self._properties():
            result[prop.key] = prop.value
        return result

    def env_refs(self) -> list[str]:
        """Environment variables referenced anywhere but in comments, each once, in order."""
        names: list[str] = []
        for prop in self._properties():
            for name in env_refs(prop.key + prop.separator + prop.value):
                if name not in names:
                    names.append(name)
        return names

    def set(self, key: str, value: str) -> bool:
        """Give ``key`` the value ``value``; return whether the text changed.

        An existing key is rewritten in place on one line, keeping its indentation, its key
        spelling and its separator; occurrences that already hold ``value`` are left untouched.
        A new key is appended at the end, in the separator style of the last property.
        """
        if not isinstance(key, str) or not isinstance(value, str):
            raise PropertiesError(f"key and value must be strings, not {type(key).__name__} and {type(value).__name__}")
        occurrences = self._occurrences(key)
        if not occurrences:
            self._append(key, value)
            return True
        changed = False
        for prop in occurrences:
            if prop.value != value:
                separator = prop.separator or "="
                prop.text = prop.indent + prop.raw_key + separator + escape_value(value) + prop.newline
                prop.separator, prop.value, prop.dangling = separator, value, False
                changed = True
        return changed

    def remove(self, key: str, missing_ok: bool = False) -> bool:
        """Remove every occurrence of ``key`` with all its physical lines; return whether it was there.

        A missing key raises :class:`PropertyNotFoundError` unless ``missing_ok``.
        """
        if key not in self:
            if missing_ok:
                return False
            raise PropertyNotFoundError(key)
        self._entries = [entry for entry in self._entries if not (isinstance(entry, _Property) and entry.key == key)]
        return True

    def render(self) -> str:
        """The text: identical to the input where nothing was changed."""
        return "".join(entry.text if isinstance(entry, _Property) else entry for entry in self._entries)

    def _newline(self) -> str:
        """The line terminator the text uses most (\\n when it has none)."""
        counts = Counter(_split_terminator(line)[1] for line in _PHYSICAL_LINE.findall(self.render()))
        counts.pop("", None)
        return max(("\n", "\r\n", "\r"), key=lambda newline: counts[newline])

    def _append(self, key: str, value: str) -> None:
        newline = self._newline()
        properties = self._properties()
        separator = next((prop.separator for prop in reversed(properties) if prop.separator), "=")
        if not key and not any(char in "=:" for char in separator):
            separator = "="   # a line starting with whitespace loses it: the empty key needs "="
        if self._entries:
            last = self._entries[-1]
            if isinstance(last, _Property):
                if not last.newline:
                    last.text += newline
                    last.newline = newline
                if last.dangling:
                    # The text ends inside a continuation: a new line would become part of its
                    # value. A blank line ends it without changing it (its own terminator: "\n"
                    # after "\r" would merge into one "\r\n"); a continuation that holds nothing
                    # is Java's empty key, which the line "=" keeps.
                    last.text += last.newline if last.raw_key + last.separator + last.value else "=" + newline
                    last.dangling = False
            elif not last.endswith(("\n", "\r")):
                self._entries[-1] = last + newline
        line = escape_key(key) + separator + escape_value(value) + newline
        self._entries.append(_Property(key, value, line, "", escape_key(key), separator, newline, False))


def edit(
    text: str,
    set: Mapping[str, object] | None = None,  # named like the operation it requests; builtin set is not used here
    remove: Iterable[str] | None = None,
    missing_ok: bool = False,
) -> tuple[str, list[Change]]:
    """Apply removals then updates to ``text``; return the new text and what changed.

    ``set`` maps keys to values (booleans and numbers are written the Java way); ``remove`` lists
    keys to delete (a missing one raises :class:`PropertyNotFoundError` unless ``missing_ok``).
    The changes list one :class:`Change` per key whose text changed, with values of secret-looking
    keys (see :func:`is_secret_key`) replaced by :data:`MASK`, so callers can print it as a diff.
    ``old`` is the value Java read before; so for a duplicated key whose last occurrence already
    held the new value (only earlier ones were rewritten) ``old`` equals ``new``.
    """
    updates = {str(key): to_property_text(value, f"value of {key!r}") for key, value in (set or {}).items()}
    # A key named twice is removed once, not reported missing the second time.
    removals = list(dict.fromkeys([remove] if isinstance(remove, str) else (remove or [])))
    both = sorted(key for key in removals if key in updates)
    if both:
        raise PropertiesError(f"cannot both set and remove {', '.join(repr(key) for key in both)}")
    document = PropertiesDocument(text)
    changes: list[Change] = []

    def record(key: str, old: str | None, new: str | None) -> None:
        if is_secret_key(key):
            old, new = (None if old is None else MASK), (None if new is None else MASK)
        changes.append(Change(key, old, new))

    for key in removals:
        old = document.get(key)
        if document.remove(key, missing_ok=missing_ok):
            record(key, old, None)
    for key, value in updates.items():
        old = document.get(key)
        if document.set(key, value):
            record(key, old, value)
    return document.render(), changes
