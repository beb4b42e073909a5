"""Create or update the deployments described in ``prefect.yaml`` through the Prefect API (``make deploy``).

``prefect deploy --all`` reads the same file and works too. This module is what ``make deploy`` runs
because it resolves ``{{ $VAR }}`` the way the CLI does but refuses a file whose variables are unset (so a
deployment never points at a literal placeholder), checks the work pool exists before touching anything,
and says for each deployment whether it was created or updated. Usage, from the project root with
``PREFECT_API_URL`` set::

    INITIATIVES_PROJECT_DIR=$PWD .venv/bin/python -m initiatives.deployments [--prefect-file prefect.yaml]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PREFECT_FILE = Path(__file__).resolve().parents[1] / "prefect.yaml"
_ENV_PLACEHOLDER = re.compile(r"\{\{\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class DeployError(ValueError):
    """A problem with prefect.yaml or the server it is applied to, as one line for the operator."""


@dataclass(frozen=True, slots=True)
class Schedule:
    cron: str
    timezone: str = "UTC"
    active: bool = True


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    name: str
    entrypoint: str
    work_pool: str
    work_queue: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    schedules: tuple[Schedule, ...] = ()
    concurrency_limit: int | None = None
    collision_strategy: str | None = None
    job_variables: Mapping[str, Any] = field(default_factory=dict)
    pull_steps: tuple[Mapping[str, Any], ...] = ()

    @property
    def flow_file(self) -> str:
        return self.entrypoint.split(":", 1)[0]

    @property
    def flow_function(self) -> str:
        return self.entrypoint.split(":", 1)[1]


def _resolve_env(value: Any, env: Mapping[str, str], missing: set[str]) -> Any:
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                missing.add(name)
                return match.group(0)
            return env[name]

        return _ENV_PLACEHOLDER.sub(sub, value)
    if isinstance(value, list):
        return [_resolve_env(v, env, missing) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_env(v, env, missing) for k, v in value.items()}
    return value


def read_raw(path: Path = PREFECT_FILE) -> dict[str, Any]:
    """The file as YAML data, anchors expanded, placeholders untouched (for checks that compare files)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise DeployError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("deployments"), list):
        raise DeployError(f"{path}: expected a mapping with a 'deployments' list")
    return data


def read_prefect_file(
    path: Path = PREFECT_FILE, env: Mapping[str, str] | None = None, resolve: bool = True
) -> list[DeploymentSpec]:
    """Deployments of ``path``; with ``resolve``, ``{{ $VAR }}`` filled from ``env`` (all must be set)."""
    data = read_raw(path)
    missing: set[str] = set()
    if resolve:
        data = _resolve_env(data, os.environ if env is None else env, missing)
        if missing:
            raise DeployError(f"{path}: set {', '.join(sorted(missing))} before deploying (used as {{{{ $VAR }}}})")
    pull = tuple(data.get("pull") or ())
    specs = []
    for i, d in enumerate(data["deployments"]):
        try:
            limit = d.get("concurrency_limit")
            if isinstance(limit, dict):
                limit_value, strategy = limit.get("limit"), limit.get("collision_strategy")
            else:
                limit_value, strategy = limit, None
            specs.append(
                DeploymentSpec(
                    name=d["name"],
                    entrypoint=d["entrypoint"],
                    work_pool=d["work_pool"]["name"],
                    work_queue=d["work_pool"].get("work_queue_name"),
                    description=d.get("description"),
                    tags=tuple(d.get("tags") or ()),
                    parameters=dict(d.get("parameters") or {}),
                    schedules=tuple(
                        Schedule(s["cron"], s.get("timezone", "UTC"), bool(s.get("active", True)))
                        for s in d.get("schedules") or ()
                    ),
                    concurrency_limit=limit_value,
                    collision_strategy=strategy,
                    job_variables=dict(d["work_pool"].get("job_variables") or {}),
                    pull_steps=tuple(d.get("pull") or pull),
                )
            )
        except (KeyError, TypeError) as exc:
            raise DeployError(f"{path}: deployments[{i}] lacks {exc}") from None
        if ":" not in specs[-1].entrypoint:
            raise DeployError(f"{path}: deployments[{i}].entrypoint must be path/to/file.py:function")
    return specs


def load_flow(spec: DeploymentSpec, root: Path) -> Any:
    """The Prefect flow object behind ``spec`` (imported from ``root``), as the worker will load it."""
    from prefect.flows import Flow, load_flow_from_entrypoint

    path = root / spec.flow_file
    if not path.is_file():
        raise DeployError(f"deployment {spec.name}: entrypoint file {spec.flow_file} does not exist")
    flow: Any = load_flow_from_entrypoint(f"{path}:{spec.flow_function}")
    if not isinstance(flow, Flow):
        raise DeployError(f"deployment {spec.name}: {spec.entrypoint} is not a Prefect flow")
    return flow


def restrict_sites(schema: Mapping[str, Any], sites: Sequence[str]) -> dict[str, Any]:
    """The parameter schema with ``sites`` limited to these names, so the server refuses any other site
    before a run exists (and the UI's form offers them). Other parameters are left as they are."""
    import copy

    out = copy.deepcopy(dict(schema))
    prop = out.get("properties", {}).get("sites")
    if prop is None:
        return out
    for choice in prop.get("anyOf", [prop]):
        if choice.get("type") == "array":
            choice.setdefault("items", {})["enum"] = sorted(sites)
    return out


def apply(
    specs: Sequence[DeploymentSpec], root: Path, pool: str | None = None, names: Sequence[str] = (),
    sites: Sequence[str] | None = None,
) -> list[str]:
    """Create or update each deployment (idempotent: the server upserts on flow and name).

    Returns one line per deployment: "flow/name created" or "flow/name updated".
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy, ConcurrencyOptions
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.exceptions import ObjectNotFound
    from prefect.utilities.callables import parameter_schema

    chosen = [s for s in specs if not names or s.name in names]
    unknown = sorted(set(names) - {s.name for s in specs})
    if unknown:
        raise DeployError(f"no deployment named {', '.join(unknown)} in the file")
    flows = {s.name: load_flow(s, root) for s in chosen}
    done = []
    with get_client(sync_client=True) as client:
        for spec in chosen:
            pool_name = pool or spec.work_pool
            try:
                client.read_work_pool(pool_name)
            except ObjectNotFound:
                raise DeployError(
                    f"work pool {pool_name!r} does not exist; create it first "
                    "(prefect work-pool create initiatives --type process --base-job-template deploy/process-pool.json)"
                ) from None
            flow = flows[spec.name]
            try:
                client.read_deployment_by_name(f"{flow.name}/{spec.name}")
                verb = "updated"
            except ObjectNotFound:
                verb = "created"
            flow_id = client.create_flow_from_name(flow.name)
            schema = parameter_schema(flow).model_dump_for_openapi()
            client.create_deployment(
                flow_id=flow_id,
                name=spec.name,
                description=spec.description,
                tags=list(spec.tags),
                entrypoint=spec.entrypoint,
                work_pool_name=pool_name,
                work_queue_name=spec.work_queue,
                parameters=dict(spec.parameters),
                parameter_openapi_schema=restrict_sites(schema, sites) if sites else schema,
                enforce_parameter_schema=True,
                schedules=[
                    DeploymentScheduleCreate(schedule=CronSchedule(cron=s.cron, timezone=s.timezone), active=s.active)
                    for s in spec.schedules
                ],
                concurrency_limit=spec.concurrency_limit,
                concurrency_options=(
                    ConcurrencyOptions(collision_strategy=ConcurrencyLimitStrategy(spec.collision_strategy))
                    if spec.collision_strategy
                    else None
                ),
                job_variables=dict(spec.job_variables),
                pull_steps=[dict(step) for step in spec.pull_steps],
            )
            done.append(f"{flow.name}/{spec.name} {verb}")
    return done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m initiatives.deployments", description=__doc__.splitlines()[0])
    parser.add_argument("--prefect-file", type=Path, default=Path("prefect.yaml"))
    parser.add_argument("--pool", help="work pool for every deployment (default: the file's)")
    parser.add_argument("--name", action="append", default=[], help="only this deployment (repeatable)")
    parser.add_argument(
        "--sources", type=Path,
        help="limit the deployments' `sites` parameter to this sources file's sites, so the server refuses "
        "unknown ones at submission (re-deploy after adding a site)",
    )
    args = parser.parse_args(argv)
    try:
        specs = read_prefect_file(args.prefect_file)
        sites = None
        if args.sources is not None:
            from flows.sources import ConfigError, load_sources

            try:
                sites = [s.name for s in load_sources(args.sources).sites]
            except ConfigError as exc:
                raise DeployError(str(exc)) from None
        for line in apply(specs, args.prefect_file.resolve().parent, args.pool, args.name, sites):
            print(f"deployment {line}")
    except DeployError as exc:
        print(f"initiatives.deployments: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
