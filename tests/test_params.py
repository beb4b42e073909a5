"""The rules every entry point applies to a flow's parameters (flows/params.py), and the schema they give."""

from __future__ import annotations

import datetime as dt

import pytest

from flows.params import check_request
from flows.sources import ConfigError


def test_a_good_request_passes_with_dates_parsed() -> None:
    request = check_request(["jungong", "cannews.v2"], "2023-01-01", dt.date(2023, 12, 31))
    assert request.sites == ["jungong", "cannews.v2"]
    assert (request.since, request.until) == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert check_request(None, "2023-05-05", "2023-05-05").since == dt.date(2023, 5, 5)  # one day is a range


@pytest.mark.parametrize(
    ("sites", "since", "until", "says"),
    [
        (None, "2024-02-01", "2024-01-01", "until 2024-01-01 is before since 2024-02-01"),
        (None, "2024-13-01", None, "since: "),
        (None, None, "yesterday", "until: "),
        (["a b"], None, None, "sites.0: String should match pattern"),
        ([""], None, None, "sites.0: "),
    ],
)
def test_bad_requests_are_one_line_naming_the_parameter(
    sites: list[str] | None, since: str | None, until: str | None, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        check_request(sites, since, until)
    message = str(caught.value)
    assert says in message and "\n" not in message


@pytest.mark.parametrize("name", ["crawl", "recheck", "backfill", "reparse"])
def test_flow_schemas_refuse_what_the_server_must(name: str) -> None:
    """What each deployment's schema (derived from the flow's signature) lets Prefect's server refuse."""
    from importlib import import_module

    from prefect.utilities.callables import parameter_schema
    from prefect.utilities.schema_tools.validation import validate

    flow = getattr(import_module(f"flows.{name}"), name)
    schema = parameter_schema(flow).model_dump_for_openapi()

    def problems(params: dict[str, object]) -> list[str]:
        return [e.message for e in validate(params, schema, allow_none_with_default=True)]

    assert problems({"sites": ["jungong"]}) == []
    assert problems({"sites": ["no such site!"]})
    assert problems({"sites": "jungong"})
    if "since" in schema["properties"]:
        assert problems({"since": "2023-01-01", "until": "2023-12-31"}) == []
        assert problems({"since": "2023-13-01"}) and problems({"until": "2023-12-32"})


def test_deploying_with_a_sources_file_limits_sites_to_it() -> None:
    """``initiatives.deployments --sources``: the server then refuses an unknown site at submission too."""
    from prefect.utilities.callables import parameter_schema
    from prefect.utilities.schema_tools.validation import validate

    from flows.backfill import backfill
    from initiatives.deployments import restrict_sites

    schema = restrict_sites(parameter_schema(backfill).model_dump_for_openapi(), ["jungong", "cannews"])
    assert [e.message for e in validate({"sites": ["cannews", "jungong"]}, schema)] == []
    assert validate({"sites": ["nope"]}, schema)
    assert [e.message for e in validate({"since": "2023-01-01"}, schema)] == []  # the rest is unchanged


@pytest.mark.parametrize("name", ["crawl", "recheck", "backfill", "reparse"])
def test_flows_refuse_an_unknown_site_as_a_failed_state(name: str, tmp_path: object) -> None:
    """What reaches a flow despite the schema ends its run Failed with the one line, before any work."""
    from importlib import import_module
    from pathlib import Path

    sources = Path(str(tmp_path)) / "sources.toml"
    sources.write_text('[[sites]]\nname = "one"\nbase_url = "http://127.0.0.1:9/"\n', encoding="utf-8")
    fn = getattr(import_module(f"flows.{name}"), name).fn  # the undecorated function: no Prefect API needed
    state = fn(sites=["two"], sources_file=str(sources))
    assert state.is_failed() and state.message == "refused: unknown site two; configured: one"
