"""S3: task caches (and run manifests/summaries) and the product outputs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .nag import acknowledge
from .settings import Settings

_ENFORCED_OK = (None, "bucket-owner-full-control")
"""ACLs S3 still accepts on a bucket with ACLs disabled (BucketOwnerEnforced)."""


def object_ownership(acl: str | None) -> s3.ObjectOwnership:
    """Ownership that accepts the configured ACL: ACLs disabled where the ACL changes nothing."""
    return s3.ObjectOwnership.BUCKET_OWNER_ENFORCED if acl in _ENFORCED_OK else s3.ObjectOwnership.BUCKET_OWNER_PREFERRED


def public_access(acl: str | None) -> s3.BlockPublicAccess:
    """Block everything, except public ACLs when the configured ACL is itself public."""
    if acl is not None and acl.startswith("public-"):
        return s3.BlockPublicAccess(block_public_acls=False, ignore_public_acls=False,
                                    block_public_policy=True, restrict_public_buckets=True)
    return s3.BlockPublicAccess.BLOCK_ALL


class Storage(Construct):
    """Three encrypted, TLS-only buckets: access logs, caches, outputs (retained on stack deletion)."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        common = dict(encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
                      removal_policy=RemovalPolicy.RETAIN)
        self.access_logs = s3.Bucket(
            self, "AccessLogs", object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))], **common)
        acknowledge(self.access_logs,
            id="AwsSolutions-S1",
            reason="This is the server access log bucket of the other buckets; logging it into itself would loop.")
        self.caches = s3.Bucket(
            self, "Caches", bucket_name=settings.cache_bucket_name,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_bucket=self.access_logs, server_access_logs_prefix="caches/", **common)
        self.outputs = s3.Bucket(
            self, "Outputs", bucket_name=settings.output_bucket_name,
            object_ownership=object_ownership(settings.s3_acl),
            block_public_access=public_access(settings.s3_acl),
            server_access_logs_bucket=self.access_logs, server_access_logs_prefix="outputs/", **common)
        if settings.s3_acl is not None and settings.s3_acl.startswith("public-"):
            acknowledge(self.outputs, id="AwsSolutions-S2",
                        reason=f"The configured s3_acl {settings.s3_acl!r} publishes each product object by its ACL, "
                               "so public ACLs cannot be blocked on the output bucket; public bucket policies stay "
                               "blocked and restricted.")
        self.cache_prefix = settings.cache_prefix
        self.output_prefix = settings.output_prefix

    @property
    def output_location(self) -> str:
        """Root of the products, as the worker's ``--location``."""
        return f"s3://{self.outputs.bucket_name}/{self.output_prefix}".rstrip("/")
