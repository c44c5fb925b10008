"""The one config loader."""

import pytest

from shared.config import (
    ConfigError,
    config_path,
    leaves_without_placeholder,
    load_config,
    load_config_file,
    placeholders_in,
    substitute,
)
from shared.service import SERVICES


def test_a_variable_replaces_its_placeholder():
    assert substitute("amqp://${HOST:localhost}/", {"HOST": "broker"}) == "amqp://broker/"


def test_the_default_applies_when_the_variable_is_unset():
    assert substitute("${PORT:8000}", {}) == "8000"


def test_defaults_may_hold_placeholders_themselves():
    text = "${SUBMISSIONS_DATABASE_URL:${DATABASE_URL:sqlite:///${RUN_DIR:run}/x.sqlite}}"
    assert substitute(text, {}) == "sqlite:///run/x.sqlite"
    assert substitute(text, {"RUN_DIR": "/srv"}) == "sqlite:////srv/x.sqlite"
    assert substitute(text, {"DATABASE_URL": "postgresql://db/portal"}) == "postgresql://db/portal"
    assert substitute(text, {"DATABASE_URL": "a", "SUBMISSIONS_DATABASE_URL": "b"}) == "b"


def test_an_empty_default_is_an_empty_string():
    assert substitute("${SMTP_USERNAME:}", {}) == ""


def test_a_required_variable_that_is_unset_is_named_in_the_error():
    with pytest.raises(ConfigError, match="CIPHER_KEY must be set"):
        substitute("${CIPHER_KEY}", {})


def test_an_unclosed_placeholder_is_an_error():
    with pytest.raises(ConfigError, match="unclosed"):
        substitute("${HOST:localhost", {})


def test_numbers_and_booleans_get_their_type_and_other_values_stay_strings(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("A: ${A:8000}\nB: ${B:false}\nC: ${C:0.5}\nD: ${D:guest}\nE: ${E:no}\n")
    assert load_config_file(path, {}) == {"A": 8000, "B": False, "C": 0.5, "D": "guest", "E": "no"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_of_every_service_can_be_overridden_from_the_environment(service):
    assert leaves_without_placeholder(config_path(service)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_config_loads_with_only_the_required_variables(service):
    required = {p.variable for p in placeholders_in(config_path(service)) if p.default is None}
    config = load_config_file(config_path(service), {name: "x" for name in required})
    assert config["AMQP_URI"].startswith("pyamqp://")


@pytest.mark.parametrize("service", ["identity", "notify"])
def test_the_links_in_mails_point_at_the_port_the_gateway_serves_unless_portal_url_is_given(service):
    def portal_url(environ):
        config = load_config(service, {"CIPHER_KEY": "x", **environ})
        return config["PORTAL_URL"] if service == "identity" else config["MAIL"]["PORTAL_URL"]

    assert portal_url({"GATEWAY_PORT": "8100"}) == "http://127.0.0.1:8100"
    assert portal_url({}) == "http://127.0.0.1:8000"
    assert portal_url({"GATEWAY_PORT": "8100", "PORTAL_URL": "https://portal.example"}) == "https://portal.example"


def test_the_passkey_origin_follows_the_gateway_port_too():
    config = load_config("identity", {"GATEWAY_PORT": "8100"})
    assert config["WEBAUTHN"]["ORIGIN"] == "http://localhost:8100"
