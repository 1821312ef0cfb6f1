"""Lambda handlers of a run (Enumerate, Verify, Summary): parse the event, call statscore, return its state.

Settings come from the environment the CDK stack sets. A user error (bad input, missing
cache) is raised as one line naming what is wrong, so the execution fails with it.
"""

from __future__ import annotations

from typing import Any

from statscore.errors import StatsError
from statscore.orchestration import RunSettings, enumerate_run, summarise_run, verify_run


class RunInputError(Exception):
    """Raised to Step Functions (as the error name) with statscore's one-line message."""


def _checked(event: Any) -> dict[str, Any]:
    """The event, if it carries the run id every step keys its rows and files by."""
    if not isinstance(event, dict) or not event.get("run_id"):
        raise RunInputError("event: no run_id (the state machine passes the execution name)")
    return event


def enumerate(event: dict[str, Any], context: Any = None) -> dict[str, Any]:  # noqa: A001 - the handler's name
    """``{"request": <execution input>, "run_id": <execution name>}`` -> the run state."""
    event = _checked(event)
    try:
        return enumerate_run(str(event["run_id"]), event.get("request") or {}, RunSettings.from_env())
    except StatsError as e:
        raise RunInputError(str(e)) from None


def verify(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The state after the workers -> the state with a verdict (done, retry, failed)."""
    event = _checked(event)
    try:
        return verify_run(event, RunSettings.from_env())
    except StatsError as e:
        raise RunInputError(str(e)) from None


def summary(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The final state -> the same with the summary's and the collection's locations."""
    event = _checked(event)
    try:
        return summarise_run(event, RunSettings.from_env())
    except StatsError as e:
        raise RunInputError(str(e)) from None
