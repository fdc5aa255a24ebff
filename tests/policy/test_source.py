"""Source helpers: statement spans, error lines, the version encoding."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cedarpy
import pytest

from service.policy.source import (
    SourceError,
    SourceFile,
    Span,
    locate_parse_error,
    policy_set_version,
    read_sources,
    refine_line,
    statement_spans,
)


def test_statement_spans_skip_comments_and_strings() -> None:
    text = (
        "// a comment; with a semicolon\n"  # 1
        '@id("a;b") // trailing; comment\n'  # 2
        "permit (principal, action, resource)\n"  # 3
        'when { "x\\";" == "y//z" };\n'  # 4
        "\n"  # 5
        "forbid (principal, action, resource);  permit (principal, action, resource)\n"  # 6
        ";\n"  # 7
    )
    assert len(cedarpy.PolicySet.from_str(text)) == 3
    assert statement_spans(text) == [Span(2, 4), Span(6, 6), Span(6, 7)]


def test_statement_spans_count_newlines_inside_strings() -> None:
    text = '@description("two\nlines")\npermit (principal, action, resource);\n'
    assert statement_spans(text) == [Span(1, 3)]


def parse(text: str) -> object:
    return cedarpy.policies_to_json_str(text)


def error_of(text: str) -> str:
    with pytest.raises(ValueError, match=r".") as caught:
        parse(text)
    return str(caught.value)


def test_parse_error_inside_a_multi_line_policy_is_on_its_line() -> None:
    text = (
        "permit (principal, action, resource);\n"  # 1
        '@id("x")\n'  # 2
        "forbid (principal, action, resource)\n"  # 3
        "when { principal == }\n"  # 4
        "unless { false };\n"  # 5
    )
    message = error_of(text)
    assert message == "unexpected token `}`"
    assert locate_parse_error(text, message, parse, ";") == 4


def test_unterminated_last_policy_is_reported_at_its_last_line() -> None:
    text = "permit (principal, action, resource);\nforbid (principal, action, resource)\n// end\n"
    message = error_of(text)
    assert locate_parse_error(text, message, parse, ";") == 2


def test_refine_line_prefers_code_over_comments_and_strings() -> None:
    lines = [
        '@description("mentions nme in prose")\n',
        "// nme in a comment\n",
        "when { resource.nme == 1 };\n",
    ]
    message = "for policy `policy0`, attribute `nme` on entity type `Claim` not found"
    assert refine_line(lines, 1, 3, message, fallback=1) == 3
    assert refine_line(lines, 1, 3, "the types are not compatible", fallback=1) == 1


def test_version_encoding() -> None:
    files = [SourceFile("b.cedar", b"2", "2"), SourceFile("a.cedar", b"1", "1")]
    expected = hashlib.sha256(b"a.cedar\x001\x00b.cedar\x002\x00").hexdigest()
    assert policy_set_version(files) == expected
    moved = [SourceFile("b.cedar", b"", ""), SourceFile("a.cedar", b"12", "12")]
    assert policy_set_version(moved) != expected


def test_nul_bytes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "schema.cedarschema").write_text("entity A;")
    (tmp_path / "x.cedar").write_bytes(b"// \x00\n")
    with pytest.raises(SourceError, match="NUL"):
        read_sources(tmp_path)
