"""Run an operator's command on the orchestrator when one is configured, on this machine otherwise.

With a Prefect server configured (``PREFECT_API_URL``, from the environment or the active profile) a
backfill or reparse becomes a flow run of its deployment, so it shows in the UI, obeys the work pool and
the global concurrency limits, and survives the operator's terminal closing. Everything that can be
wrong — an API that does not answer, a deployment that was never created, parameters the deployment's
schema rejects — is reported before any run is created, as one line the operator can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

T = TypeVar("T")

#: how long an operator waits before being told the configured API does not answer.
HEALTH_TIMEOUT = 5.0


class RemoteError(RuntimeError):
    """A problem with the orchestrator or the request to it, phrased as one line for the operator."""


@dataclass(frozen=True, slots=True)
class Triggered:
    """A flow run created on the server; the work happens on a worker."""

    deployment: str
    flow_run_id: str
    flow_run_name: str
    api_url: str

    @property
    def ui_url(self) -> str:
        return f"{self.api_url.removesuffix('/').removesuffix('/api')}/runs/flow-run/{self.flow_run_id}"


def configured_api_url() -> str | None:
    """``PREFECT_API_URL`` from the environment, else from the active Prefect profile; None runs locally.

    Read from the environment and the profile file rather than Prefect's in-process settings, which a
    temporary test server or an ephemeral API also sets: only an operator's configuration means "remote".
    """
    import os

    if "PREFECT_API_URL" in os.environ:
        return os.environ["PREFECT_API_URL"].strip() or None
    from prefect.settings import PREFECT_API_URL, load_current_profile

    value = load_current_profile().settings.get(PREFECT_API_URL)
    return str(value) if value else None


def check_api(api_url: str, timeout: float = HEALTH_TIMEOUT) -> None:
    """Fail fast when ``api_url`` is not a Prefect API that answers: before any work, not mid-run."""
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RemoteError(f"PREFECT_API_URL={api_url!r} is not an http(s) URL; unset it to run locally")
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout, trust_env=False)
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise RemoteError(
            f"PREFECT_API_URL={api_url} does not answer ({reason}); start the server or unset it to run locally"
        ) from None
    if response.status_code != 200 or response.text.strip() != "true":
        raise RemoteError(
            f"PREFECT_API_URL={api_url} is not a healthy Prefect API (GET /health gave {response.status_code}); "
            "it usually ends in /api"
        )


def _schema_problems(parameters: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    from prefect.utilities.schema_tools.validation import validate

    problems = []
    known = set(schema.get("properties", {}))
    unknown = sorted(set(parameters) - known)
    if unknown:
        problems.append(f"unknown parameter {', '.join(unknown)} (takes {', '.join(sorted(known)) or 'none'})")
    for error in validate(dict(parameters), dict(schema), allow_none_with_default=True):
        where = ".".join(str(p) for p in error.path) or "parameters"
        problems.append(f"{where}: {error.message}")
    return problems


def deployment_names(client: Any) -> list[str]:
    """Every "flow/deployment" on the server.

    Posts the filter bodies itself: Prefect 3.8.8's ``read_flows``/``read_deployments`` send explicit
    nulls (``"flows": null``, ``"limit": null``) that its own server rejects with 422 under FastAPI < 0.155.
    """
    body = {"limit": 200, "offset": 0}
    flows = {f["id"]: f["name"] for f in client.request("POST", "/flows/filter", json=body).json()}
    deployments = client.request("POST", "/deployments/filter", json=body).json()
    return sorted(f"{flows.get(d['flow_id'], '?')}/{d['name']}" for d in deployments)


def trigger(
    deployment: str, parameters: Mapping[str, Any], api_url: str, *, timeout: float = HEALTH_TIMEOUT
) -> Triggered:
    """Create a flow run of ``deployment`` ("flow/deployment") after checking the API and the parameters."""
    check_api(api_url, timeout)
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if "/" not in deployment:
        raise RemoteError(f"deployment {deployment!r}: name it as flow/deployment, e.g. backfill/backfill")
    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        try:
            found = client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            names = deployment_names(client)
            raise RemoteError(
                f"deployment {deployment!r} does not exist on {api_url} "
                f"(deployments: {', '.join(names) or 'none'}); create them with prefect deploy --all"
            ) from None
        problems = _schema_problems(parameters, found.parameter_openapi_schema or {})
        if problems:
            raise RemoteError(f"deployment {deployment!r}: bad parameters: {'; '.join(problems)}")
        run = client.create_flow_run_from_deployment(found.id, parameters=dict(parameters))
    return Triggered(deployment, str(run.id), run.name, api_url)


def trigger_or_run(
    deployment: str,
    parameters: Mapping[str, Any],
    local: Callable[[], T],
    *,
    api_url: str | None = None,
) -> Triggered | T:
    """Trigger ``deployment`` on the configured server, or call ``local()`` here when none is configured.

    ``api_url`` defaults to Prefect's own setting. Domain checks (dates in order, known sites) belong to the
    caller and must run before this, so a bad request fails the same way locally and remotely.
    """
    url = api_url if api_url is not None else configured_api_url()
    if not url:
        reap_children_at_exit()
        return local()
    return trigger(deployment, parameters, url)


_REAPER: list[Any] = []


def reap_children_at_exit() -> None:
    """Make the processes this one starts end with it, ``kill -9`` included (``flows.lifetime``).

    Run locally, a flow gets a temporary Prefect server from Prefect, a child process of ours that Prefect
    stops at a normal exit only; killed, this process left it listening for over ten minutes (issue 16).
    One watchdog per process, kept referenced: its stdin pipe closing is how it learns we are gone."""
    if not _REAPER:
        from flows.lifetime import start_reaper

        _REAPER.append(start_reaper())
