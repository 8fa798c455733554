"""customer-health.yaml's product semantics: what a persona may say about the steps its people do."""

from __future__ import annotations

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.config import ProductSemantics


def test_a_persona_may_list_the_steps_its_people_are_expected_to_do():
    text = """personas:
  executive: {roles: [executive], weekly_active_target: 0.2, steps: [build_report, share_report]}
  operator: {roles: [operator], weekly_active_target: 0.7}
"""
    personas = ProductSemantics.from_yaml_text(text, "customer-health.yaml").personas
    assert personas["executive"].steps == ["build_report", "share_report"]
    assert personas["operator"].steps is None  # not said: every step is theirs to do


def test_steps_that_are_not_a_list_are_an_error_naming_the_key():
    text = "personas:\n  executive: {roles: [executive], weekly_active_target: 0.2, steps: 3}\n"
    with pytest.raises(InputError, match=r"personas\.executive\.steps"):
        ProductSemantics.from_yaml_text(text, "customer-health.yaml")
