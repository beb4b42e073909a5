"""Deployment files agree with each other, with prefect.yaml and with the settings (Docker cannot run here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from initiatives.deployments import DeployError, read_prefect_file, read_raw
from initiatives.settings import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
PREFECT_FILE = ROOT / "prefect.yaml"
SECRET_REF = "{{ prefect.blocks.secret.initiatives-database-url }}"
#: every INITIATIVES_* variable is a field of the one settings object, plus the deploy-time project dir.
KNOWN_VARS = {f"INITIATIVES_{name.upper()}" for name in Settings.model_fields} | {"INITIATIVES_PROJECT_DIR"}


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    return data


def _dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def _placeholders(value: Any) -> set[str]:
    return set(re.findall(r"\{\{\s*([^}\s]+)\s*\}\}", json.dumps(value)))


def test_prefect_yaml_deployments_and_schedules() -> None:
    specs = {s.name: s for s in read_prefect_file(PREFECT_FILE, resolve=False)}
    assert set(specs) == {"crawl", "recheck", "backfill", "reparse", "recover"}
    assert [s.cron for s in specs["crawl"].schedules] == ["0 * * * *"]  # hourly
    assert len(specs["recheck"].schedules) == 1
    assert re.fullmatch(r"\d+ \d+ \* \* \*", specs["recheck"].schedules[0].cron)  # daily
    assert not specs["backfill"].schedules and not specs["reparse"].schedules and not specs["recover"].schedules
    assert {s.work_pool for s in specs.values()} == {"initiatives"}
    for spec in specs.values():
        assert spec.entrypoint == f"flows/{spec.name}.py:{spec.name}"
        assert spec.pull_steps == (
            {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $INITIATIVES_PROJECT_DIR }}"}},
        )
    assert specs["crawl"].concurrency_limit == 1  # an overrunning hourly crawl never overlaps the next


def test_prefect_yaml_needs_the_project_dir_and_fills_it() -> None:
    with pytest.raises(DeployError, match="set INITIATIVES_PROJECT_DIR"):
        read_prefect_file(PREFECT_FILE, env={})
    specs = read_prefect_file(PREFECT_FILE, env={"INITIATIVES_PROJECT_DIR": "/app"})
    assert all(s.pull_steps[0]["prefect.deployments.steps.set_working_directory"]["directory"] == "/app"
               for s in specs)


def test_bad_prefect_files_fail_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "prefect.yaml"
    bad.write_text("deployments: [{name: x}]\n", encoding="utf-8")
    with pytest.raises(DeployError, match="deployments\\[0\\] lacks 'entrypoint'"):
        read_prefect_file(bad, env={})
    bad.write_text("deployments: {", encoding="utf-8")
    with pytest.raises(DeployError, match="invalid YAML"):
        read_raw(bad)
    with pytest.raises(DeployError, match="no such file"):
        read_raw(tmp_path / "missing.yaml")


@pytest.mark.parametrize("name", ["crawl", "recheck", "backfill", "reparse", "recover"])
def test_entrypoints_are_flows_with_form_friendly_parameters(name: str) -> None:
    from initiatives.deployments import load_flow

    spec = next(s for s in read_prefect_file(PREFECT_FILE, resolve=False) if s.name == name)
    if not (ROOT / spec.flow_file).is_file():
        pytest.skip(f"{spec.flow_file} is not written yet (issue 6)")
    from prefect.utilities.callables import parameter_schema

    flow = load_flow(spec, ROOT)
    assert flow.name == name
    schema = parameter_schema(flow).model_dump_for_openapi()
    for param, prop in schema["properties"].items():
        # the UI renders a form field only for typed parameters; an untyped one is a bare JSON box.
        assert "type" in prop or "anyOf" in prop or "allOf" in prop or "$ref" in prop, (param, prop)
    assert set(spec.parameters) <= set(schema["properties"])


def test_process_pool_template_reads_the_database_url_from_the_secret_block() -> None:
    template = json.loads((DEPLOY / "process-pool.json").read_text(encoding="utf-8"))
    env_default = template["variables"]["properties"]["env"]["default"]
    assert env_default["INITIATIVES_DATABASE_URL"] == SECRET_REF
    # no other value in the template may carry a database URL; the one other variable sets JSON logs
    assert env_default == {"INITIATIVES_DATABASE_URL": SECRET_REF, "PREFECT_LOGGING_HANDLERS_CONSOLE_FORMATTER": "json"}
    declared = set(template["variables"]["properties"])
    assert _placeholders(template["job_configuration"]) <= declared


def test_kubernetes_template_is_consistent() -> None:
    template = json.loads((DEPLOY / "kubernetes" / "base-job-template.json").read_text(encoding="utf-8"))
    declared = set(template["variables"]["properties"])
    assert _placeholders(template["job_configuration"]) <= declared  # every {{ x }} is a declared variable
    env = template["variables"]["properties"]["env"]["default"]
    assert env["INITIATIVES_DATABASE_URL"] == SECRET_REF
    assert set(k for k in env if k.startswith("INITIATIVES_")) <= KNOWN_VARS
    manifest = template["job_configuration"]["job_manifest"]
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    assert container["workingDir"] == "/app" == _docker_env()["INITIATIVES_PROJECT_DIR"]
    mounts = {v["mountPath"] for v in container["volumeMounts"]}
    assert str(Path(env["INITIATIVES_DATA_DIR"])) in mounts
    assert str(Path(env["INITIATIVES_SOURCES_FILE"]).parent) in mounts
    pvc = yaml.safe_load((DEPLOY / "kubernetes" / "pvc.yaml").read_text(encoding="utf-8"))
    assert pvc["metadata"]["name"] == template["variables"]["properties"]["data_claim"]["default"]
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]


def _docker_env() -> dict[str, str]:
    env: dict[str, str] = {}
    text = _dockerfile().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


def test_dockerfile_builds_from_the_lock_file_and_runs_a_worker() -> None:
    text = _dockerfile()
    assert "COPY pyproject.toml uv.lock" in text
    syncs = re.findall(r"uv sync ([^\n\\&]+)", text)
    assert syncs and all("--frozen" in s for s in syncs)
    assert any("--group dask" in s for s in syncs)
    for folder in ("initiatives", "parsers", "schema", "flows"):
        assert f"COPY {folder} ./{folder}" in text
    assert "COPY prefect.yaml" in text
    env = _docker_env()
    assert set(k for k in env if k.startswith("INITIATIVES_")) <= KNOWN_VARS
    assert env["DO_NOT_TRACK"] == "1" and env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    cmd = json.loads(re.search(r"^CMD (.+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert cmd[:3] == ["prefect", "worker", "start"]
    assert cmd[cmd.index("--pool") + 1] == "initiatives"


def test_compose_services_agree_with_prefect_yaml_and_settings() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "prefect-server", "worker", "setup"} <= set(services)
    worker = services["worker"]
    assert worker["build"]["dockerfile"] == "deploy/Dockerfile"
    assert worker["command"][worker["command"].index("--pool") + 1] == "initiatives"
    env = worker["environment"]
    assert env["PREFECT_API_URL"].startswith("http://prefect-server:")
    assert env["PREFECT_API_URL"].endswith("/api")
    assert {k for k in env if k.startswith("INITIATIVES_")} <= KNOWN_VARS
    assert "INITIATIVES_DATABASE_URL" not in env  # workers get it from the Secret block only
    assert env["INITIATIVES_PROJECT_DIR"] == _docker_env()["INITIATIVES_PROJECT_DIR"]
    mounts = {v.split(":")[1] for v in worker["volumes"]}
    assert env["INITIATIVES_DATA_DIR"] in mounts
    assert env["INITIATIVES_SOURCES_FILE"] in mounts
    assert env["DO_NOT_TRACK"] == "1" and env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    setup = " ".join(services["setup"]["command"])
    assert "deploy/process-pool.json" in setup and "initiatives-database-url" in setup
    assert "initiatives.deployments" in setup
    server = services["prefect-server"]
    assert server["image"].startswith("prefecthq/prefect:3.9.1")
    assert server["command"][:3] == ["prefect", "server", "start"]
    init = services["postgres"]["volumes"]
    assert any(v.startswith("./postgres-init.sql:") for v in init)
    # secrets come from the operator's environment, never from the file
    text = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    assert "${POSTGRES_PASSWORD:?" in text and not re.search(r"POSTGRES_PASSWORD: [^$\s]", text)


def test_docs_name_the_same_commands() -> None:
    ops = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for needle in ("prefect worker start --pool initiatives", "INITIATIVES_HOST_LIMITS=prefect",
                   "INITIATIVES_TASK_RUNNER=dask"):
        assert needle in ops, needle
    assert "prefect deployment run" in readme and "initiatives backfill" in readme
