"""The deployment files, checked without a container engine: docker-compose.yml against the
Compose Specification's schema; every variable it gives coatcheck is a setting, and together
they load; every service restarts; the metrics listener is reachable inside the compose
network and not published; the stop grace outlasts SHUTDOWN_GRACE; email goes to a service
of the file. The Dockerfile: health-checked, run as its own user, data/ that user's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from coatcheck.entrypoints.settings import Settings, load_settings

ROOT = Path(__file__).parents[2]
SCHEMA = Path(__file__).parents[1] / "deploy" / "compose_spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def environment(compose: dict[str, Any]) -> dict[str, str]:
    values = compose["services"]["coatcheck"]["environment"]
    return {name: str(value) for name, value in values.items()}


def seconds(duration: str) -> float:
    found = re.fullmatch(r"(\d+)(s|m)", duration)
    assert found, duration
    return int(found.group(1)) * (60 if found.group(2) == "m" else 1)


def test_the_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)


def test_every_variable_compose_sets_is_a_setting_and_they_load_together(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = environment(compose)
    fields = {name.upper() for name in Settings.model_fields}
    assert set(variables) <= fields, set(variables) - fields
    for name, value in variables.items():
        if name == "SESSION_SECRET":
            value = "s" * 48  # ${SESSION_SECRET:?...}: the operator's
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.email_backend == "smtp"
    assert settings.smtp_host in compose["services"]  # an SMTP sink of the file
    assert settings.metrics_port is not None


def test_every_service_restarts(compose: dict[str, Any]) -> None:
    assert {name: s.get("restart") for name, s in compose["services"].items()} == dict.fromkeys(
        compose["services"], "unless-stopped"
    )


def test_metrics_are_reachable_in_the_compose_network_and_not_published(
    compose: dict[str, Any],
) -> None:
    service = compose["services"]["coatcheck"]
    variables = environment(compose)
    assert variables["METRICS_HOST"] == "0.0.0.0"  # noqa: S104 -- inside the container
    port = variables["METRICS_PORT"]
    assert port in service["expose"]
    assert all(port not in str(published).split(":")[-1] for published in service["ports"])


def test_the_stop_grace_outlasts_the_drain(compose: dict[str, Any]) -> None:
    service = compose["services"]["coatcheck"]
    grace = float(environment(compose)["SHUTDOWN_GRACE"])
    assert seconds(service["stop_grace_period"]) > grace


def test_the_image_is_health_checked_and_runs_as_its_own_user_owning_data() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")  # continued lines
    assert re.search(r"^HEALTHCHECK .*CMD", dockerfile, re.MULTILINE)
    assert re.search(r"^USER coatcheck$", dockerfile, re.MULTILINE)
    data_dir = re.search(r"DATA_DIR=(\S+)", dockerfile)
    assert data_dir is not None
    owned = rf"install --directory --owner=coatcheck .*{re.escape(data_dir.group(1))}"
    assert re.search(owned, dockerfile)
