"""Policy source files: reading them, the policy-set version, and locating errors by line.

Cedar (through cedarpy) reports parse and validation errors without a source position,
so this module finds the line itself: each policy's span from a small lexer that knows
Cedar's strings and ``//`` comments, and a parse error's line from the shortest prefix of
the file that fails with the same message.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA_FILE = "schema.cedarschema"
POLICY_SUFFIX = ".cedar"

_BACKTICKED = re.compile(r"`([^`]+)`")
_TRAILING_NAME = re.compile(r":\s*([A-Za-z_][A-Za-z0-9_:]*)\s*$")
_INTERNAL_ID = re.compile(r"^policy\d+$")
UNEXPECTED_END = "unexpected end of input"


class SourceError(Exception):
    """A source file that cannot be read; ``file`` is relative to the policy directory."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


@dataclass(frozen=True)
class SourceFile:
    """One file of a policy directory: its path relative to the directory, bytes and text."""

    path: str
    content: bytes
    text: str


@dataclass(frozen=True)
class Span:
    """Lines ``first``..``last`` (1-based, inclusive) of one policy statement."""

    first: int
    last: int


def read_sources(directory: Path) -> tuple[SourceFile, list[SourceFile]]:
    """Read ``schema.cedarschema`` and every ``*.cedar`` file below ``directory``.

    Policy files are returned sorted by relative POSIX path. Raises ``SourceError`` for a
    missing schema, an unreadable file, a file that is not UTF-8 or that holds a NUL byte
    (the version encoding below relies on there being none).
    """
    schema_path = directory / SCHEMA_FILE
    if not schema_path.is_file():
        raise SourceError(SCHEMA_FILE, "missing: every policy set is validated against it")
    schema = _read(directory, schema_path)
    policy_paths = sorted(
        (p for p in directory.rglob("*" + POLICY_SUFFIX) if p.is_file()),
        key=lambda p: p.relative_to(directory).as_posix(),
    )
    return schema, [_read(directory, p) for p in policy_paths]


def _read(directory: Path, path: Path) -> SourceFile:
    relative = path.relative_to(directory).as_posix()
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise SourceError(relative, f"cannot read: {exc.strerror}") from None
    if b"\x00" in content:
        raise SourceError(relative, "contains a NUL byte")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise SourceError(relative, f"line {line}: not UTF-8") from None
    return SourceFile(relative, content, text)


def policy_set_version(files: Sequence[SourceFile]) -> str:
    """The policy-set version: lowercase hex SHA-256 over the files, schema included.

    Files are taken in ascending order of their relative POSIX path (code-point order, which
    is UTF-8 byte order); each contributes ``path ‖ 0x00 ‖ content ‖ 0x00``, path in UTF-8
    and content as the exact bytes on disk. Neither can contain NUL, so the encoding is
    unambiguous: any change to any file, or a file added, removed or renamed, changes it.
    """
    digest = hashlib.sha256()
    for source in sorted(files, key=lambda f: f.path):
        digest.update(source.path.encode("utf-8") + b"\x00" + source.content + b"\x00")
    return digest.hexdigest()


def statement_spans(text: str) -> list[Span]:
    """The line span of each ``;``-terminated statement, comments and blank lines excluded.

    Only meaningful for text Cedar has parsed: it knows strings (with escapes) and ``//``
    comments, which is all it needs to find the statement boundaries.
    """
    spans: list[Span] = []
    line, start, index, length = 1, 0, 0, len(text)
    while index < length:
        char = text[index]
        if char == "\n":
            line += 1
        elif text.startswith("//", index):
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        elif not char.isspace():
            start = start or line
            if char == '"':
                index, line = _skip_string(text, index + 1, line)
                continue
            if char == ";":
                spans.append(Span(start, line))
                start = 0
        index += 1
    return spans


def _skip_string(text: str, index: int, line: int) -> tuple[int, int]:
    """From just inside a string literal to just past its closing quote; counts newlines."""
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 1
        elif char == '"':
            return index + 1, line
        if index < len(text) and text[index] == "\n":
            line += 1
        index += 1
    return index, line


def locate_parse_error(
    text: str,
    message: str,
    parse: Callable[[str], object],
    terminator: str | None = None,
) -> int:
    """The 1-based line of the error ``parse`` raised with ``message`` for ``text``.

    Cedar's parser recovers at statement ends, so an error inside a statement is reported
    only once its terminating ``;`` has been read; before that, a prefix just fails with
    "unexpected end of input". So: (1) the failing statement ends on the last line of the
    shortest prefix (in whole lines) that fails with the same message; (2) with a
    ``terminator`` (``";"`` for policies), the error is on the first line of that statement
    whose prefix, terminated early, fails with the same message; (3) otherwise the first
    line of the statement mentioning a name from the message (``refine_line``). An
    unterminated last statement is reported at the last line that has code.
    """
    lines = text.splitlines(keepends=True)
    if message == UNEXPECTED_END or message.endswith(": " + UNEXPECTED_END):
        return _last_code_line(lines)
    statement_start = 1
    for count in range(1, len(lines) + 1):
        failure = _failure(parse, "".join(lines[:count]))
        if failure is None:
            statement_start = count + 1
        elif failure == message:
            if terminator is not None and f"`{terminator}`" not in message:
                for line in range(statement_start, count):
                    early = "".join(lines[:line]) + "\n" + terminator
                    if _failure(parse, early) == message:
                        return line
            return refine_line(lines, statement_start, count, message)
    return _last_code_line(lines)


def _failure(parse: Callable[[str], object], text: str) -> str | None:
    try:
        parse(text)
    except ValueError as exc:
        return str(exc)
    return None


def _last_code_line(lines: Sequence[str]) -> int:
    for number in range(len(lines), 0, -1):
        if _code(lines[number - 1]).strip():
            return number
    return 1


def refine_line(
    lines: Sequence[str], first: int, last: int, message: str, fallback: int | None = None
) -> int:
    """Within lines ``first``..``last``, the line that mentions a name in ``message``.

    A name is a backticked fragment other than a Cedar-internal policy id, or the identifier
    after a final colon ("failed to resolve type: Foo"). Comments never match, nor do
    string literals unless the name itself holds a quote. The first name on ``last`` wins
    (parse errors surface there); otherwise the earliest line mentioning any name; otherwise
    ``fallback`` (default ``last``).
    """
    names = [n for n in _BACKTICKED.findall(message) if not _INTERNAL_ID.match(n)]
    trailing = _TRAILING_NAME.search(message)
    if trailing:
        names.append(trailing.group(1))
    found = fallback if fallback is not None else last
    if not names:
        return found

    def mentions(number: int, names: Sequence[str]) -> bool:
        if not 1 <= number <= len(lines):
            return False
        return any(
            _mention(name).search(_code(lines[number - 1], keep_strings='"' in name))
            for name in names
        )

    if mentions(last, names[:1]):
        return last
    for number in range(max(first, 1), last + 1):
        if mentions(number, names):
            return number
    return found


def _mention(name: str) -> re.Pattern[str]:
    escaped = re.escape(name)
    if re.fullmatch(r"\w+", name):
        return re.compile(rf"(?<!\w){escaped}(?!\w)")
    return re.compile(escaped)


def _code(line: str, keep_strings: bool = False) -> str:
    """The line without its ``//`` comment and, unless ``keep_strings``, string contents."""
    kept: list[str] = []
    in_string, index = False, 0
    while index < len(line):
        char = line[index]
        if in_string and char == "\\":
            kept.append(line[index : index + 2] if keep_strings else "  ")
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        elif not in_string and line.startswith("//", index):
            break
        kept.append(char if keep_strings or not in_string or char == '"' else " ")
        index += 1
    return "".join(kept)
