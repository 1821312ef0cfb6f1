"""cdk-nag 3 acknowledgements: every one names the exact finding and says why it is acceptable."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, id: str, reason: str) -> None:
    """Acknowledge finding ``id`` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope`` and below."""
    if not reason.strip():
        raise ValueError(f"{id}: an acknowledgement needs a reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=id, reason=reason))
