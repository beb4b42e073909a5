"""Operator commands choose local or remote before any work, and a wrong API fails with one clear line."""

from __future__ import annotations

import socket

import pytest

from initiatives.remote import RemoteError, Triggered, check_api, configured_api_url, trigger, trigger_or_run
from initiatives.testsite import SiteServer
from tests.conftest import ROOT


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_a_server_the_local_function_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(ROOT / "missing-profiles.toml"))
    assert configured_api_url() is None
    assert trigger_or_run("backfill/backfill", {}, lambda: "ran here") == "ran here"


def test_the_environment_variable_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:1/api")
    assert configured_api_url() == "http://127.0.0.1:1/api"
    monkeypatch.setenv("PREFECT_API_URL", "  ")
    assert configured_api_url() is None


def test_unreachable_api_fails_before_local_work() -> None:
    called: list[str] = []
    url = f"http://127.0.0.1:{_closed_port()}/api"
    with pytest.raises(RemoteError, match=r"does not answer .*unset it to run locally"):
        trigger_or_run("backfill/backfill", {}, lambda: called.append("local"), api_url=url)
    assert called == []


def test_a_url_that_is_not_a_prefect_api_is_named(tmp_path: object) -> None:
    with SiteServer(ROOT / "initiatives" / "demo_site" / "live") as site, pytest.raises(
        RemoteError, match=r"not a healthy Prefect API .*404"
    ):
        check_api(site.url)


@pytest.mark.parametrize("url", ["127.0.0.1:4200/api", "ftp://host/api", "http://"])
def test_malformed_urls(url: str) -> None:
    with pytest.raises(RemoteError, match="not an http"):
        check_api(url)


def test_deployment_names_need_the_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("initiatives.remote.check_api", lambda *a, **k: None)
    with pytest.raises(RemoteError, match="flow/deployment"):
        trigger("backfill", {}, "http://127.0.0.1:1/api")


def test_ui_link_points_at_the_run() -> None:
    run = Triggered("crawl/crawl", "1234", "brave-fox", "http://prefect.internal:4200/api")
    assert run.ui_url == "http://prefect.internal:4200/runs/flow-run/1234"
