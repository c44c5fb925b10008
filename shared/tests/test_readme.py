"""The README's settings table documents every variable a service config reads."""

import re

from shared.config import REPOSITORY_ROOT, config_path, placeholders_in
from shared.service import SERVICES


def test_the_settings_table_lists_exactly_the_variables_of_the_configs():
    readme = (REPOSITORY_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, flags=re.MULTILINE))
    used = {placeholder.variable for service in SERVICES for placeholder in placeholders_in(config_path(service))}
    assert documented == used


def test_every_service_has_a_readme_with_its_rpc_methods_and_events():
    for service in SERVICES:
        text = (REPOSITORY_ROOT / "services" / service / "README.md").read_text()
        assert "## RPC" in text, service
        assert "## Events" in text, service
