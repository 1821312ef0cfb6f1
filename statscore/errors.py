"""Error types of our own: entry points turn them into one clear line and an exit code."""

from __future__ import annotations


class StatsError(Exception):
    """Base of every error a user can cause; ``str(err)`` is the one line they see."""

    exit_code: int = 1


class ConfigError(StatsError):
    """A setting (option, config key, grid, frequency, period) is invalid."""


class InputError(StatsError):
    """An input (dataset document, cache, file) is unreadable or invalid; names it."""


class SourceError(StatsError):
    """A dataset source (database, bucket, path) cannot be reached; says which."""


class BudgetExceeded(StatsError):
    """A run's estimate exceeds the budget it was given (``max_cost``); nothing was started."""


class OutputExistsError(StatsError):
    """Output already exists and overwriting was not asked for."""


def suggest(name: str, valid: "list[str] | tuple[str, ...]") -> str:
    """A ' (did you mean X?)' hint for a misspelt name, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
