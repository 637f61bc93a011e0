"""The deployment files: the compose example and the image hold what a clinic's server needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

CHECKOUT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data = yaml.safe_load((CHECKOUT / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def dockerfile() -> str:
    # Continuation lines joined, so that each instruction is one line.
    return (CHECKOUT / "Dockerfile").read_text().replace("\\\n", " ")


def instructions(name: str) -> list[str]:
    return [
        line.split(None, 1)[1]
        for line in dockerfile().splitlines()
        if line.split(None, 1)[:1] == [name]
    ]


def test_compose_has_postgres_a_one_shot_migrate_and_the_bot() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "bot"}
    assert services["migrate"]["command"] == ["ldn-bot", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["bot"]["command"] == ["ldn-bot", "run", "--webhook"]


def test_compose_runs_two_bots_once_the_migration_succeeded() -> None:
    services = compose()["services"]
    bot = services["bot"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_postgres_keeps_its_data_in_a_volume_and_has_a_healthcheck() -> None:
    data = compose()
    postgres = data["services"]["postgres"]
    [volume] = postgres["volumes"]
    assert volume.split(":")[0] in data["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_compose_bots_read_env_and_reach_postgres_by_its_service_name() -> None:
    services = compose()["services"]
    for name in ("migrate", "bot"):
        service = services[name]
        assert service["env_file"] == ".env"
        url = service["environment"]["DATABASE_URL"]
        assert re.fullmatch(r"postgresql://ldn:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/ldn", url)
        # The image's health check asks this port; .env.example's loopback would shut the proxy out.
        assert service["environment"]["WEBHOOK_LISTEN"] == "0.0.0.0"
        assert service["environment"]["WEBHOOK_PORT"] == "8080"
    assert services["migrate"]["image"] == services["bot"]["image"]


def test_compose_publishes_nothing_the_reverse_proxy_is_the_clinics() -> None:
    for service in compose()["services"].values():
        assert "ports" not in service
    assert "reverse proxy" in (CHECKOUT / "compose.yaml").read_text()


def test_image_installs_the_wheel_only_and_runs_as_a_user_of_its_own() -> None:
    text = dockerfile()
    stages = instructions("FROM")
    assert stages == ["python:3.11-slim AS build", "python:3.11-slim"]
    final = text.split("FROM python:3.11-slim\n", 1)[1]
    # The final stage copies nothing from the checkout: it installs wheels, from the build stage.
    assert "COPY" not in final.replace("COPY --from=build", "")
    assert "pip install --no-index --find-links /wheels ldn-bot" in final
    assert "pip wheel --wheel-dir /wheels ." in text
    [user] = instructions("USER")
    assert user.split(":")[0] not in {"root", "0"}
    assert instructions("CMD") == ['["ldn-bot", "run"]']


def test_image_checks_its_own_health_on_healthz() -> None:
    [check] = instructions("HEALTHCHECK")
    assert "/healthz" in check and "8080" in check
    assert instructions("EXPOSE") == ["8080"]


def test_image_is_built_from_the_wheels_sources_only() -> None:
    copied = " ".join(instructions("COPY"))
    for name in ("tests", "fake_telegram", "devtools", "bench", ".env"):
        assert name not in copied
    ignored = (CHECKOUT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"]  # everything left out unless named
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert kept == {"pyproject.toml", "README.md", "bot", "handlers", "storage"}
