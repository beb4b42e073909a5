"""The parameters an operator gives the flows, and the rules every entry point applies to them.

The flows annotate their parameters with these types, so Prefect derives each deployment's parameter
schema from them; with ``enforce_parameter_schema`` the server then refuses, before a run exists, a
malformed date, a site name no sources file can hold, or a string where a list belongs — from
``prefect deployment run``, the UI's form and ``initiatives`` alike. What a JSON schema cannot say
(``since`` on or before ``until``; a site that the sources file configures) is checked by
``check_request`` and ``flows.sources.Sources.select``: the CLI runs both before it triggers or runs
anything, and every flow runs them first, so each entry point refuses the same requests with the same line.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, WithJsonSchema, model_validator

from flows.sources import SITE_NAME_PATTERN, ConfigError

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

SiteName = Annotated[str, StringConstraints(pattern=SITE_NAME_PATTERN, min_length=1, max_length=100)]
#: Prefect's server treats ``format: date`` as an annotation only (it accepted 2024-13-45), so the schema
#: also carries a pattern that refuses impossible months and days; the flow parses the real date.
DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
Day = Annotated[dt.date, WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN})]


class Request(BaseModel):
    """The parts of a flow's parameters that must agree with each other."""

    model_config = ConfigDict(frozen=True)

    sites: list[SiteName] | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    @model_validator(mode="after")
    def _in_order(self) -> Request:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValueError(f"until {self.until} is before since {self.since}")
        return self


def refuse(problem: Exception) -> State[Any]:
    """How a flow ends a run whose parameters break a rule the server could not check: Failed with the one
    line as its message (in the UI, ``prefect flow-run ls`` and ``--wait``); Prefect logs only its own ``FailedRun``
    for that state, not a traceback from the flow's code in the worker's
    log. Called directly, the flow raises ``FailedRun`` with the same line."""
    from prefect.states import Failed

    return Failed(message=f"refused: {problem}")


def check_request(
    sites: list[str] | None = None, since: dt.date | str | None = None, until: dt.date | str | None = None
) -> Request:
    """The request, or a ``ConfigError`` whose message is the one line to show."""
    try:
        return Request.model_validate({"sites": sites, "since": since, "until": until})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {message}" if where else message) from None
