"""CDK entry point (``cdk synth`` runs this via cdk.json): one Stack, settings from the context."""

from __future__ import annotations

import sys
from pathlib import Path

# `python infra/app.py`: import the project from the repo root, not modules of infra/ as top-level names
sys.path[0] = str(Path(__file__).resolve().parents[1])

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.settings import CONTEXT_KEY, Settings  # noqa: E402
from infra.stack import StatsStack  # noqa: E402

STACK_NAME = "StatsCore"


def build_app(app: cdk.App | None = None, *, nag: bool = True) -> tuple[cdk.App, StatsStack]:
    """The app and its stack; cdk-nag's AwsSolutions checks run at synth unless ``nag`` is False."""
    app = app or cdk.App()
    settings = Settings.from_context(app.node.try_get_context(CONTEXT_KEY))
    stack = StatsStack(app, STACK_NAME, settings=settings,
                       description="statscore: odc-stats products on Step Functions, Lambda, SQS, DynamoDB and AWS Batch")
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def main() -> None:
    from statscore.errors import StatsError

    try:
        app, _ = build_app()
        app.synth()
    except StatsError as e:
        print(f"infra: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
