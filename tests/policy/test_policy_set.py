"""Loading a policy directory: validation, ids, the version, and errors with file and line."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from service.policy.policy_set import PolicyLoadError, PolicySet
from tests.policy.builders import SHIPPED
from tests.policy.conftest import Edit

SHIPPED_FILES = sorted(
    p.relative_to(SHIPPED).as_posix()
    for p in [SHIPPED / "schema.cedarschema", *SHIPPED.rglob("*.cedar")]
)


def line_of(path: Path, fragment: str) -> int:
    """1-based line of the first occurrence of ``fragment`` in ``path``."""
    text = path.read_text()
    return text[: text.index(fragment)].count("\n") + 1


def load_error(directory: Path) -> PolicyLoadError:
    with pytest.raises(PolicyLoadError) as caught:
        PolicySet.load(directory)
    return caught.value


def test_shipped_policies_load_with_ids_and_descriptions(shipped_set: PolicySet) -> None:
    infos = shipped_set.policies
    assert len(infos) == len(shipped_set) >= 18
    ids = [info.id for info in infos]
    assert len(set(ids)) == len(ids)
    for policy_id, annotation_map, file in infos:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", policy_id)
        assert annotation_map["id"] == policy_id
        assert len(annotation_map["description"]) > 20
        assert (SHIPPED / file).is_file()
        located_file, line = shipped_set.location(policy_id)
        assert located_file == file
        assert f'@id("{policy_id}")' in (SHIPPED / file).read_text().splitlines()[line - 1]
    assert {info.file for info in infos} >= {
        "partners/ruritania-borduria.cedar",
        "partners/ruritania-syldavia.cedar",
    }
    assert shipped_set.effect("tlp-red-named-only") == "forbid"
    assert shipped_set.effect("audience-named") == "permit"


def test_policies_are_copies(shipped_set: PolicySet) -> None:
    first = shipped_set.policies[0]
    first.annotations["id"] = "changed"
    assert shipped_set.policies[0].annotations["id"] == first.id != "changed"


def test_version_follows_its_definition(shipped_set: PolicySet) -> None:
    digest = hashlib.sha256()
    for relative in SHIPPED_FILES:  # sorted by relative path, schema included
        digest.update(relative.encode() + b"\x00" + (SHIPPED / relative).read_bytes() + b"\x00")
    assert shipped_set.version == digest.hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", shipped_set.version)


def test_version_is_stable_and_independent_of_location(
    shipped_set: PolicySet, policy_copy: Path
) -> None:
    assert PolicySet.load(SHIPPED).version == shipped_set.version
    assert PolicySet.load(policy_copy).version == shipped_set.version


@pytest.mark.parametrize("relative", SHIPPED_FILES)
def test_version_changes_when_any_file_changes(
    shipped_set: PolicySet, policy_copy: Path, relative: str
) -> None:
    path = policy_copy / relative
    path.write_text(path.read_text() + "\n// amended\n")
    assert PolicySet.load(policy_copy).version != shipped_set.version


def test_version_changes_when_a_file_is_added_or_renamed(
    shipped_set: PolicySet, policy_copy: Path
) -> None:
    extra = policy_copy / "partners" / "extra.cedar"
    extra.write_text("// no policy yet\n")
    added = PolicySet.load(policy_copy).version
    assert added != shipped_set.version
    extra.rename(policy_copy / "partners" / "other.cedar")
    assert PolicySet.load(policy_copy).version not in {added, shipped_set.version}


def test_version_ignores_the_test_cases(shipped_set: PolicySet, policy_copy: Path) -> None:
    (policy_copy / "tests" / "more.json").write_text('{"cases": []}')
    (policy_copy / "README.md").write_text("notes")
    assert PolicySet.load(policy_copy).version == shipped_set.version


def test_syntax_error_names_file_and_line(policy_copy: Path, edit: Edit) -> None:
    path = edit("tlp.cedar", 'when { resource.tlp == "red" }', "when { resource.tlp == }")
    error = load_error(policy_copy)
    line = line_of(path, "when { resource.tlp == }")
    assert error.file == path.as_posix()
    assert error.line == line
    assert error.detail.startswith(f"{path.as_posix()}:{line}: ")
    assert "unexpected token" in error.detail


def test_unterminated_string_names_its_line(policy_copy: Path, edit: Edit) -> None:
    path = edit("handling.cedar", '["H0", "H1", "H2", "H3"]', '["H0, "H1", "H2", "H3"]')
    error = load_error(policy_copy)
    assert (error.file, error.line) == (path.as_posix(), line_of(path, '["H0, "H1"'))


def test_missing_semicolon_names_the_next_policy(policy_copy: Path, edit: Edit) -> None:
    path = edit(
        "audience.cedar",
        "when { resource.audience_all };",
        "when { resource.audience_all }",
    )
    error = load_error(policy_copy)
    assert (error.file, error.line) == (path.as_posix(), line_of(path, '@id("recipient-is'))


def test_unknown_function_names_its_line(policy_copy: Path, edit: Edit) -> None:
    path = edit("data-protection.cedar", 'resource.purpose == ""', "frobnicate(resource.purpose)")
    error = load_error(policy_copy)
    assert (error.file, error.line) == (path.as_posix(), line_of(path, "frobnicate("))
    assert "frobnicate" in error.detail


def test_validation_error_names_file_line_and_policy(policy_copy: Path, edit: Edit) -> None:
    path = edit(
        "handling.cedar",
        "principal.country == resource.originator_country",
        "principal.country == resource.origin_country",
    )
    error = load_error(policy_copy)
    assert (error.file, error.line) == (path.as_posix(), line_of(path, "origin_country"))
    assert '"handling-h1-originator-circle"' in error.detail
    assert "origin_country" in error.detail
    assert "policy1" not in error.detail  # Cedar's internal ids are not shown


def test_type_error_in_a_partner_file_is_located(policy_copy: Path, edit: Edit) -> None:
    path = edit(
        "partners/ruritania-syldavia.cedar",
        'resource.category == "cybercrime"',
        "resource.category == 7",
    )
    error = load_error(policy_copy)
    assert error.file == path.as_posix()
    assert error.line == line_of(path, '@id("bilateral')  # no name to point at: the policy
    assert error.detail.startswith(f"{path.as_posix()}:{error.line}: ")


def test_unknown_action_is_a_validation_error(policy_copy: Path, edit: Edit) -> None:
    path = edit("partners/ruritania-borduria.cedar", 'Action::"receive"', 'Action::"recieve"')
    error = load_error(policy_copy)
    assert (error.file, error.line) == (path.as_posix(), line_of(path, "recieve"))


def test_every_validation_error_is_listed(policy_copy: Path, edit: Edit) -> None:
    first = edit("tlp.cedar", 'resource.tlp == "red"', 'resource.tpl == "red"')
    second = edit("audience.cedar", "resource.audience_all }", "resource.audience_every }")
    error = load_error(policy_copy)
    assert f"{first.as_posix()}:{line_of(first, 'tpl')}:" in error.detail
    assert f"{second.as_posix()}:{line_of(second, 'audience_every')}:" in error.detail


def test_schema_syntax_error_names_schema_and_line(policy_copy: Path, edit: Edit) -> None:
    path = edit("schema.cedarschema", "  name: String,\n", "  name: String\n")
    error = load_error(policy_copy)
    assert (error.file, error.line) == (path.as_posix(), line_of(path, "  alert: Alert,"))
    assert "schema" in error.detail


def test_schema_unknown_type_names_its_line(policy_copy: Path, edit: Edit) -> None:
    path = edit("schema.cedarschema", "  purpose: String,", "  purpose: Strng,")
    error = load_error(policy_copy)
    assert (error.file, error.line) == (path.as_posix(), line_of(path, "Strng"))


def test_schema_without_an_attribute_fails_the_policies_using_it(
    policy_copy: Path, edit: Edit
) -> None:
    edit("schema.cedarschema", "  purpose: String,\n", "")
    error = load_error(policy_copy)
    path = policy_copy / "data-protection.cedar"
    assert (error.file, error.line) == (path.as_posix(), line_of(path, "resource.purpose"))


def test_missing_schema_is_refused(policy_copy: Path) -> None:
    (policy_copy / "schema.cedarschema").unlink()
    assert "schema.cedarschema" in load_error(policy_copy).detail


@pytest.mark.parametrize("content", [None, "// nothing here\n", ""])
def test_empty_policy_set_is_refused(policy_copy: Path, content: str | None) -> None:
    for path in policy_copy.rglob("*.cedar"):
        if content is None:
            path.unlink()
        else:
            path.write_text(content)
    assert "empty policy set" in load_error(policy_copy).detail


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    assert "no such policy directory" in load_error(tmp_path / "absent").detail


def test_policy_without_id_is_refused(policy_copy: Path, edit: Edit) -> None:
    path = edit("audience.cedar", '@id("audience-groups")\n', "")
    error = load_error(policy_copy)
    assert "@id" in error.detail
    assert (error.file, error.line) == (
        path.as_posix(),
        line_of(path, '@description("A partner in one of the groups'),
    )


def test_policy_without_description_is_refused(policy_copy: Path, edit: Edit) -> None:
    path = edit(
        "tlp.cedar",
        '@description("TLP:RED: only agencies the originator named in audience.agencies; '
        'not groups, not all members.")\n',
        "",
    )
    error = load_error(policy_copy)
    assert "@description" in error.detail
    assert (error.file, error.line) == (path.as_posix(), line_of(path, '"tlp-red-named-only"'))


def test_duplicate_id_names_both_places(policy_copy: Path, edit: Edit) -> None:
    path = edit("tlp.cedar", '@id("tlp-red-named-only")', '@id("audience-named")')
    error = load_error(policy_copy)
    original = policy_copy / "audience.cedar"
    assert (error.file, error.line) == (path.as_posix(), line_of(path, '"audience-named"'))
    first_line = line_of(original, '@id("audience-named")')
    assert f"{original.as_posix()}:{first_line}" in error.detail


def test_id_must_be_lowercase_words(policy_copy: Path, edit: Edit) -> None:
    edit("tlp.cedar", '@id("tlp-red-named-only")', '@id("TLP red")')
    assert "not lowercase" in load_error(policy_copy).detail


def test_templates_are_refused(policy_copy: Path, edit: Edit) -> None:
    path = edit(
        "partners/ruritania-syldavia.cedar",
        'principal == Agency::"syldavia-cyber"',
        "principal == ?principal",
    )
    error = load_error(policy_copy)
    assert "templates" in error.detail
    assert (error.file, error.line) == (path.as_posix(), line_of(path, "@id("))


def test_non_utf8_file_is_refused(policy_copy: Path) -> None:
    (policy_copy / "partners" / "latin1.cedar").write_bytes(b"// caf\xe9\n")
    error = load_error(policy_copy)
    assert "partners/latin1.cedar" in error.detail
    assert "UTF-8" in error.detail
