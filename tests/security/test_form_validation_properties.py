"""Whatever a client sends for a section, form validation answers with field errors, never a crash."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.submissions.domainmodel import Case, CaseKind
from services.submissions.forms import FieldError, Form, FormCatalogue
from shared.errors import InvalidInput

CATALOGUE = FormCatalogue.load()
FORMS = list(CATALOGUE.forms.values())
SECTIONS = [(form, section.id) for form in FORMS for section in form.sections]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def section_like(form: Form, section_id: str) -> st.SearchStrategy[Any]:
    """Objects with the section's own field names (so the checks below them run) holding any JSON."""
    names = list(form.section(section_id).schema.get("properties", {})) or ["x"]
    return st.dictionaries(st.sampled_from(names) | st.text(max_size=8), json_values, max_size=len(names) + 1)


def ids(pair: tuple[Form, str]) -> str:
    return f"{pair[0].kind}-{pair[0].version}-{pair[1]}"


@pytest.mark.parametrize("pair", SECTIONS, ids=[ids(pair) for pair in SECTIONS])
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_json_for_a_section_gives_only_field_errors(pair, data):
    form, section_id = pair
    value = data.draw(json_values | section_like(form, section_id))
    errors = form.validate_section(section_id, value)
    for error in errors:
        assert isinstance(error, FieldError)
        assert error.code and error.code == error.code.upper()
        assert isinstance(error.field, str)
        assert error.message and "Traceback" not in error.message and "ValidationError" not in error.message


@pytest.mark.parametrize("pair", SECTIONS[:6], ids=[ids(pair) for pair in SECTIONS[:6]])
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_saving_anything_into_a_draft_either_saves_or_raises_invalid_input_with_field_errors(pair, data):
    form, section_id = pair
    value = data.draw(json_values | section_like(form, section_id))
    case = Case(owner_id="citizen-1", kind=CaseKind(form.kind), form_version=form.version, answers={},
                prefilled_from=None)  # fmt: skip
    try:
        case.save_section(form, section_id, value)
    except InvalidInput as refused:
        assert refused.code == "SECTION_INVALID"
        assert refused.details["section"] == section_id
        assert refused.details["errors"]
        assert all(set(error) == {"field", "code", "message"} for error in refused.details["errors"])
    else:
        assert case.answers[section_id] == value


def test_an_unknown_section_is_refused_with_its_code():
    form = FORMS[0]
    with pytest.raises(InvalidInput) as refused:
        form.validate_section("../../etc", {})
    assert refused.value.code == "SECTION_UNKNOWN"
