"""The deployments as an operator runs them: a real ``prefect server``, a process worker, ``prefect.yaml``.

One module-scoped server (its own PREFECT_HOME and port) serves every test here; each test starts its own
worker against a fresh PostgreSQL database whose URL reaches the flow runs only through the Prefect
Secret block named in ``deploy/process-pool.json``. Every process is stopped by process group in
``finally``, and every wait is bounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from initiatives.remote import RemoteError, Triggered, deployment_names, trigger, trigger_or_run
from initiatives.testsite import SiteServer
from schema import models as m
from tests.conftest import DEMO_SITE, DEMO_SOURCES
from tests.prefect_stack import BIN, ROOT, Proc, Server, prefect_server, run_cli, start, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SECRET_BLOCK = "initiatives-database-url"
POOL = "initiatives"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with prefect_server(tmp_path_factory.mktemp("prefect")) as srv:
        yield srv


def _client(api_url: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    class _Scoped:
        def __enter__(self) -> Any:
            self._settings = temporary_settings(updates={PREFECT_API_URL: api_url})
            self._settings.__enter__()
            self._client = get_client(sync_client=True)
            return self._client.__enter__()

        def __exit__(self, *exc: object) -> None:
            self._client.__exit__(*exc)
            self._settings.__exit__(*exc)

    return _Scoped()


@pytest.fixture(scope="module")
def deployed(server: Server) -> Server:
    """Work pool from deploy/process-pool.json and every deployment of prefect.yaml, as README says."""
    env = server.env(INITIATIVES_PROJECT_DIR=str(ROOT))
    pool = run_cli(
        [str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process",
         "--base-job-template", str(ROOT / "deploy" / "process-pool.json")],
        env,
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    done = run_cli([str(BIN / "python"), "-m", "initiatives.deployments", "--prefect-file", "prefect.yaml"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deployment crawl/crawl created" in done.stdout
    again = run_cli([str(BIN / "python"), "-m", "initiatives.deployments", "--prefect-file", "prefect.yaml"], env)
    assert again.returncode == 0 and "deployment crawl/crawl updated" in again.stdout, again.stdout + again.stderr
    return server


def prefect_cli(server: Server, *args: str, **env: str) -> str:
    """Prefect's own CLI against the server, as an operator types it; any failure or traceback fails the test."""
    done = run_cli([str(BIN / "prefect"), *args], server.env(COLUMNS="250", **env), timeout=180)
    output = done.stdout + done.stderr
    failed = f"prefect {' '.join(args)}: exit {done.returncode}\n{output[-3000:]}"
    assert done.returncode == 0 and "Traceback" not in output, failed
    return done.stdout


def _save_secret(api_url: str, value: str) -> None:
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        Secret(value=value).save(SECRET_BLOCK, overwrite=True)


def _worker(server: Server, workdir: Path, name: str) -> Proc:
    env = server.env(
        INITIATIVES_DATA_DIR=str(workdir / "data"),
        INITIATIVES_SOURCES_FILE=str(workdir / "sources.toml"),
        INITIATIVES_BATCH_SIZE="1",
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_HEARTBEAT_SECONDS="5",
        PREFECT_LOGGING_LEVEL="INFO",
    )
    return start(
        name,
        [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process", "--name", name],
        env,
        server.logs,
    )


def _state(api_url: str, flow_run_id: str) -> str | None:
    with _client(api_url) as client:
        run = client.read_flow_run(flow_run_id)
    return run.state.type.value if run.state else None


def _wait_done(server: Server, flow_run_id: str, procs: list[Proc], timeout: float = 120.0) -> None:
    state = wait_for(
        lambda: (s if (s := _state(server.api_url, flow_run_id)) in FINAL else None),
        timeout,
        f"flow run {flow_run_id} to finish",
        procs,
        every=1.0,
    )
    assert state == "COMPLETED", "\n".join(p.tail(80) for p in procs)


def _run_count(api_url: str) -> int:
    with _client(api_url) as client:
        return len(client.request("POST", "/flow_runs/filter", json={"limit": 200, "offset": 0}).json())


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "pages": conn.scalar(select(func.count()).select_from(m.Page)) or 0,
                "distinct_pages": conn.scalar(select(func.count(func.distinct(m.Page.url)))) or 0,
                "articles": conn.scalar(select(func.count()).select_from(m.Article)) or 0,
                "initiatives": conn.scalar(select(func.count()).select_from(m.Initiative)) or 0,
                "units": conn.scalar(select(func.count()).select_from(m.Unit)) or 0,
                "distinct_units": conn.scalar(text("select count(distinct (name, resolved)) from units")) or 0,
            }
    finally:
        engine.dispose()


def test_deployments_carry_schedules_schema_and_pull_step(deployed: Server) -> None:
    with _client(deployed.api_url) as client:
        crawl = client.read_deployment_by_name("crawl/crawl")
        names = deployment_names(client)
        recheck = client.read_deployment_by_name("recheck/recheck")
        backfill = client.read_deployment_by_name("backfill/backfill")
    assert names == ["backfill/backfill", "crawl/crawl", "recheck/recheck", "recover/recover", "reparse/reparse"]
    assert not backfill.schedules
    assert [s.schedule.cron for s in crawl.schedules] == ["0 * * * *"]  # type: ignore[union-attr]
    assert [s.schedule.cron for s in recheck.schedules] == ["30 3 * * *"]  # type: ignore[union-attr]
    assert crawl.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
    ]
    assert crawl.work_pool_name == POOL
    assert crawl.enforce_parameter_schema
    props = (crawl.parameter_openapi_schema or {})["properties"]
    assert set(props) >= {"sources_file", "sites"}


def test_crawl_runs_on_a_worker_and_loads_postgres(deployed: Server, pg_url: str, tmp_path: Path) -> None:
    _save_secret(deployed.api_url, pg_url)
    procs: list[Proc] = []
    with SiteServer(DEMO_SITE) as site:
        (tmp_path / "sources.toml").write_text(DEMO_SOURCES.format(url=site.url, delay=0.0), encoding="utf-8")
        try:
            procs.append(_worker(deployed, tmp_path, "worker-crawl"))
            run = run_cli(
                [str(BIN / "prefect"), "deployment", "run", "crawl/crawl", "--param", 'sites=["jungong"]'],
                deployed.env(),
            )
            assert run.returncode == 0, run.stdout + run.stderr
            flow_run_id = next(
                line.split()[-1] for line in run.stdout.splitlines() if line.strip().startswith("└── UUID:")
            )
            _wait_done(deployed, flow_run_id, procs)
        finally:
            for p in procs:
                p.stop()
        hits = list(site.hits)
    counts = _counts(pg_url)
    assert counts["pages"] == counts["distinct_pages"] == 4  # three articles and the dead link
    assert counts["articles"] == 3
    assert counts["initiatives"] > 0
    assert "/aecc-gbk.html" in hits
    # The run parsed its batches in its own parse processes, under the worker's `python -m prefect.engine`.
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            stats = conn.scalar(select(m.LoadRun.stats).where(m.LoadRun.flow == "crawl"))
    finally:
        engine.dispose()
    assert stats is not None and "parse workers" in stats["stage_cpu_seconds"]
    # The database URL reached the run only through the Secret block and was never written to a log.
    database = pg_url.rsplit("/", 1)[1]
    worker_log = procs[0].log.read_text(encoding="utf-8", errors="replace")
    assert database not in worker_log
    # Flow runs log structured JSON lines that carry their flow run id (set by the pool template).
    records = [json.loads(line) for line in worker_log.splitlines() if line.startswith("{")]
    assert any(r.get("flow_run_id") and r.get("message") for r in records)
    # The operator reads the same run with Prefect's own CLI.
    logs = prefect_cli(deployed, "flow-run", "logs", flow_run_id)
    assert "crawl" in logs and database not in logs
    assert flow_run_id[:8] in prefect_cli(deployed, "flow-run", "ls")
    assert "crawl-summary" in prefect_cli(deployed, "artifact", "ls")


def test_prefect_cli_lists_and_deploys(deployed: Server) -> None:
    """Prefect's CLI and the server agree (3.8.8 with FastAPI < 0.155 answered these with 422)."""
    deployed_all = prefect_cli(deployed, "--no-prompt", "deploy", "--all", "--prefect-file", "prefect.yaml",
                               INITIATIVES_PROJECT_DIR=str(ROOT))
    names = ["backfill/backfill", "crawl/crawl", "recheck/recheck", "reparse/reparse"]
    assert all(f"'{name}'" in deployed_all for name in names)
    listing = prefect_cli(deployed, "deployment", "ls")
    assert all(name in listing for name in names)
    assert POOL in prefect_cli(deployed, "work-pool", "ls")
    prefect_cli(deployed, "flow-run", "ls")
    prefect_cli(deployed, "artifact", "ls")
    with _client(deployed.api_url) as client:
        backfill = client.read_deployment_by_name("backfill/backfill")
    assert backfill.enforce_parameter_schema  # prefect.yaml asks for it, as initiatives.deployments does


def test_remote_errors_come_before_any_run(deployed: Server) -> None:
    before = _run_count(deployed.api_url)
    with pytest.raises(RemoteError, match=r"does not exist.*crawl/crawl"):
        trigger("crawl/nightly", {}, deployed.api_url)
    with pytest.raises(RemoteError, match=r"bad parameters.*unknown parameter colour"):
        trigger("crawl/crawl", {"colour": "red"}, deployed.api_url)
    with pytest.raises(RemoteError, match=r"bad parameters.*sites"):
        trigger("crawl/crawl", {"sites": "jungong"}, deployed.api_url)
    with pytest.raises(RemoteError, match=r"bad parameters.*since"):
        trigger("backfill/backfill", {"since": "last tuesday"}, deployed.api_url)
    assert _run_count(deployed.api_url) == before  # the refused requests created nothing


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (["-p", "since=2024-13-45"], "since"),  # no such month
        (["-p", "until=last tuesday"], "until"),
        (["-p", 'sites=["no such site!"]'], "sites"),  # a name no sources file can hold
        (["-p", "sites=jungong"], "sites"),  # a string where a list belongs
    ],
)
def test_prefect_deployment_run_refuses_bad_parameters(deployed: Server, params: list[str], field: str) -> None:
    """The server enforces the flows' typed parameters (flows/params.py) before any run exists."""
    before = _run_count(deployed.api_url)
    done = run_cli([str(BIN / "prefect"), "deployment", "run", "backfill/backfill", *params], deployed.env())
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert f"Validation failed for field '{field}" in output and "Traceback" not in output
    assert _run_count(deployed.api_url) == before


def test_deployed_with_its_sources_the_server_refuses_an_unknown_site(deployed: Server, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(DEMO_SOURCES.format(url="http://127.0.0.1:9", delay=0.0), encoding="utf-8")
    env = deployed.env(INITIATIVES_PROJECT_DIR=str(ROOT))
    done = run_cli([str(BIN / "python"), "-m", "initiatives.deployments", "--name", "backfill",
                    "--sources", str(sources)], env)
    assert done.returncode == 0 and "backfill/backfill updated" in done.stdout, done.stdout + done.stderr
    before = _run_count(deployed.api_url)
    refused = run_cli([str(BIN / "prefect"), "deployment", "run", "backfill/backfill", "-p", 'sites=["nope"]'],
                      deployed.env())
    assert refused.returncode != 0 and "Validation failed for field 'sites" in refused.stdout + refused.stderr
    assert _run_count(deployed.api_url) == before
    with pytest.raises(RemoteError, match=r"bad parameters.*sites"):  # the CLI's own check reads the same schema
        trigger("backfill/backfill", {"sites": ["nope"]}, deployed.api_url)


def test_trigger_or_run_creates_a_run_and_never_calls_local(deployed: Server) -> None:
    def local() -> str:
        raise AssertionError("a configured server must not fall back to a local run")

    result = trigger_or_run("crawl/crawl", {"sites": ["jungong"]}, local, api_url=deployed.api_url)
    assert isinstance(result, Triggered)
    assert result.ui_url.endswith(f"/runs/flow-run/{result.flow_run_id}")
    assert _state(deployed.api_url, result.flow_run_id) == "SCHEDULED"
    with _client(deployed.api_url) as client:
        client.delete_flow_run(result.flow_run_id)  # no worker of a later test should pick it up


def test_backfill_triggered_like_the_cli_does(deployed: Server, pg_url: str, tmp_path: Path) -> None:
    _save_secret(deployed.api_url, pg_url)
    procs: list[Proc] = []
    with SiteServer(DEMO_SITE) as site:
        (tmp_path / "sources.toml").write_text(DEMO_SOURCES.format(url=site.url, delay=0.0), encoding="utf-8")
        urls = tmp_path / "urls.txt"
        urls.write_text(f"{site.url}/aecc-gbk.html\n{site.url}/aecc-keji.html\n", encoding="utf-8")

        try:
            procs.append(_worker(deployed, tmp_path, "worker-backfill"))
            # The operator's command: with PREFECT_API_URL set it creates a run and, with --wait, follows it.
            done = run_cli([str(BIN / "initiatives"), "backfill", "--urls", str(urls), "--wait",
                            "--sources", str(tmp_path / "sources.toml")], deployed.env(),
                           timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr + "\n".join(p.tail(80) for p in procs)
            assert "created from backfill/backfill" in done.stdout
            states = done.stderr.splitlines()
            # polled every 2 s, so a short run may go from Submitting to Completed between two polls; each state
            # is reported once, in order, and the last is the final one
            assert states[-1].endswith(": Completed") and len(states) == len(set(states)) >= 2, states
            # A rule no schema can state (since <= until) reaches the flow, which ends Failed with its line.
            bad = run_cli([str(BIN / "prefect"), "deployment", "run", "backfill/backfill",
                           "-p", "since=2024-02-01", "-p", "until=2024-01-01"], deployed.env())
            bad_id = next(ln.split()[-1] for ln in bad.stdout.splitlines() if ln.strip().startswith("└── UUID:"))
            final = wait_for(
                lambda: s if (s := _state(deployed.api_url, bad_id)) in FINAL else None, 120, "the refused run", procs
            )
            with _client(deployed.api_url) as client:
                message = client.read_flow_run(bad_id).state.message  # type: ignore[union-attr]
            assert final == "FAILED" and message == "refused: until 2024-01-01 is before since 2024-02-01"
            # The server sees the state before the flow's process has finished; stopping the worker then
            # would interrupt that process (a traceback of our own making), so wait for it to end.
            wait_for(
                lambda: "Engine execution exited" in procs[0].log.read_text(encoding="utf-8", errors="replace"),
                120, "the refused run's process to finish", procs,
            )
        finally:
            for p in procs:
                p.stop()
        hits = set(site.hits)
    # No exception of ours reached the worker: the only one logged is Prefect's own FailedRun, its report of
    # the refused run's Failed state, and no plain-text traceback (a crash outside the engine) at all.
    log = procs[0].log.read_text(encoding="utf-8", errors="replace").splitlines()
    raised = [json.loads(ln)["exc_info"]["type"] for ln in log if ln.startswith("{") and '"exc_info":{' in ln]
    assert raised == ["FailedRun"], raised
    assert not any("Traceback" in ln for ln in log if not ln.startswith("{"))
    assert {"/aecc-gbk.html", "/aecc-keji.html"} <= hits
    assert "/aecc-zhuxin.html" not in hits  # a URL-list backfill fetches only its URLs
    counts = _counts(pg_url)
    assert counts["pages"] == counts["distinct_pages"] == 2
    assert counts["articles"] == 2 and counts["initiatives"] > 0
