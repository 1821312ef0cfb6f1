"""Every tunable of the deployment in one typed, validated object.

Read once from the ``statscore`` entry of the CDK context (``cdk.json``, or ``-c
statscore='{...}'`` on the command line, merged key by key over the defaults below).
Unknown keys are errors with a suggestion, as everywhere in statscore: a misspelt
setting must never silently fall back to a default on a continental run.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from statscore.config import RunConfig
from statscore.errors import ConfigError, suggest
from statscore.grid import parse_grid
from statscore.period import check_frequency

__all__ = ["Settings", "CONTEXT_KEY", "CANNED_ACLS"]

CONTEXT_KEY = "statscore"

CANNED_ACLS = ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
               "bucket-owner-read", "bucket-owner-full-control")
"""S3 canned ACLs; ``private`` and ``bucket-owner-full-control`` work with ACLs disabled."""

BATCH_ARRAY_MAX = 10_000
"""AWS Batch: an array job has 2..10,000 children."""


@dataclass(frozen=True)
class Settings:
    """Deployment settings; field docstrings give units."""

    # --- storage
    cache_bucket_name: str | None = None
    """Bucket for task caches and run manifests/summaries; None: CloudFormation names it."""
    output_bucket_name: str | None = None
    """Bucket the products are written to; None: CloudFormation names it."""
    cache_prefix: str = "caches/"
    """Key prefix of task caches (``<prefix><run id>/<grid>_<period>.db``) and manifests."""
    output_prefix: str = "products/"
    """Key prefix of the product (``<prefix><product name>/<version>/x../y../<period>/``)."""
    s3_acl: str | None = "bucket-owner-full-control"
    """Canned ACL on every output object (odc-stats' ``s3_acl``); None: no ACL header."""
    # --- queue
    queue_max_receives: int = 3
    """Receives before a message goes to the dead-letter queue."""
    lease_seconds: int = 900
    """Visibility timeout: a worker's lease on a task, renewed while it runs (``job_queue_max_lease``)."""
    # --- batch
    instance_types: tuple[str, ...] = ("r6i.4xlarge", "r6a.4xlarge", "r5.4xlarge")
    """EC2 instance types of the compute environment (large: one job per instance)."""
    spot: bool = True
    """Spot instances (price-capacity-optimized) rather than on-demand."""
    spot_bid_percentage: int = 100
    """Highest spot price as a percentage of on-demand."""
    min_vcpus: int = 0
    max_vcpus: int = 1024
    job_vcpus: int = 16
    """vCPUs per worker job; also the worker's ``--threads``."""
    job_memory_mib: int = 120_000
    """Memory per worker job (MiB); also the worker's ``--memory-limit``."""
    tasks_per_worker: int = 20
    """Array size = ceil(tasks / tasks_per_worker), capped by ``array_size_cap``."""
    array_size_cap: int = 500
    """Most workers started for one run (AWS allows at most 10,000)."""
    retry_attempts: int = 3
    """Batch retries of a worker job killed by a host (spot reclaim)."""
    job_timeout_hours: int = 12
    """Batch kills a worker after this long."""
    verify_max_rounds: int = 2
    """Times Verify re-enqueues unfinished tasks before the run fails naming them."""
    # --- lambda
    function_memory_mib: int = 3008
    function_timeout_minutes: int = 15
    log_retention_days: int = 30
    # --- network
    vpc_id: str | None = None
    """Use this VPC (with ``private_subnet_ids`` and ``availability_zones``); None: create one."""
    private_subnet_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()
    nat_gateways: int = 1
    # --- what to compute
    dataset_source: Literal["stac", "datacube", "stac-api"] = "stac"
    """Where Enumerate finds datasets: STAC/eo3 documents on S3, a datacube database, or a STAC API."""
    stac_api_url: str | None = None
    """``stac-api``: the API, e.g. ``https://earth-search.aws.element84.com/v1`` (reached through the NAT)."""
    collections: tuple[str, ...] = ()
    """``stac-api``: the collections searched, e.g. ``("sentinel-2-l2a",)``."""
    profile: str = "earth-search-s2-l2a"
    """``stac-api``: the source profile (``statscore.sources.profiles``): band aliases, S3 access, harmonisation."""
    stac_filter: dict[str, Any] | None = None
    """``stac-api``: an optional CQL2-JSON filter of the search."""
    stac_location: str | None = None
    """``stac``: an s3:// glob of STAC items / eo3 documents, e.g. ``s3://bucket/s2/**/*.stac-item.json``."""
    db_secret_arn: str | None = None
    """``datacube``: Secrets Manager secret with host/port/username/password/dbname (RDS format)."""
    db_security_group_id: str | None = None
    """``datacube``: security group of the database; the function is allowed in on 5432."""
    input_products: str = "s2_l2a"
    """save-tasks ``--input-products`` (product names; for ``stac`` the location is appended)."""
    grid: str = "au_extended_s2_20"
    frequency: str = "annual"
    plugin: str = "gm-s2"
    plugin_config: dict[str, Any] = field(default_factory=dict)
    product: dict[str, Any] = field(default_factory=lambda: {"name": "ga_s2_gm_cyear_3", "short_name": "ga_s2_gm_cyear_3",
                                                               "version": "0.1.0"})
    """Run-config ``product`` section (name, short_name, version, properties...)."""
    cog_opts: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ reading
    @classmethod
    def from_context(cls, value: Any) -> Settings:
        """Settings from the context value (a mapping or its JSON text); defaults for absent keys."""
        if value is None:
            data: dict[str, Any] = {}
        elif isinstance(value, str):
            try:
                data = json.loads(value)
            except json.JSONDecodeError as e:
                raise ConfigError(f"context {CONTEXT_KEY!r}: not JSON ({e})") from None
        else:
            data = dict(value)
        if not isinstance(data, dict):
            raise ConfigError(f"context {CONTEXT_KEY!r}: expected a mapping of settings")
        names = [f.name for f in fields(cls)]
        for k in data:
            if k not in names:
                raise ConfigError(f"context {CONTEXT_KEY!r}: unknown setting {k!r}{suggest(k, names)}")
        for k in ("instance_types", "private_subnet_ids", "availability_zones", "collections"):
            if k in data and data[k] is not None:
                data[k] = tuple(data[k])
        s = cls(**data)
        s.validate()
        return s

    def replace(self, **changes: Any) -> Settings:
        s = dataclasses.replace(self, **changes)
        s.validate()
        return s

    def validate(self) -> None:
        """Fail at synth time, naming the setting, on anything AWS would reject at deploy time."""
        def bad(key: str, why: str) -> ConfigError:
            return ConfigError(f"setting {key!r} = {getattr(self, key)!r}: {why}")

        if self.s3_acl is not None and self.s3_acl not in CANNED_ACLS:
            raise bad("s3_acl", f"not a canned ACL{suggest(self.s3_acl, CANNED_ACLS)}")
        if not 1 <= self.queue_max_receives <= 1000:
            raise bad("queue_max_receives", "must be 1..1000 (SQS redrive policy)")
        if not 0 < self.lease_seconds <= 43_200:
            raise bad("lease_seconds", "must be 1..43200 (SQS visibility timeout)")
        if not self.instance_types:
            raise bad("instance_types", "needs at least one instance type")
        if not 0 <= self.min_vcpus <= self.max_vcpus:
            raise bad("min_vcpus", f"must be 0..max_vcpus ({self.max_vcpus})")
        if self.job_vcpus < 1 or self.job_vcpus > self.max_vcpus:
            raise bad("job_vcpus", f"must be 1..max_vcpus ({self.max_vcpus})")
        if self.job_memory_mib < 1024:
            raise bad("job_memory_mib", "must be at least 1024 MiB")
        if not 2 <= self.array_size_cap <= BATCH_ARRAY_MAX:
            raise bad("array_size_cap", f"must be 2..{BATCH_ARRAY_MAX} (AWS Batch array jobs)")
        if self.tasks_per_worker < 1:
            raise bad("tasks_per_worker", "must be >= 1")
        if not 1 <= self.retry_attempts <= 10:
            raise bad("retry_attempts", "must be 1..10 (AWS Batch)")
        if not 0 <= self.verify_max_rounds <= 10:
            raise bad("verify_max_rounds", "must be 0..10")
        if not 1 <= self.function_timeout_minutes <= 15:
            raise bad("function_timeout_minutes", "must be 1..15 (Lambda)")
        if not 128 <= self.function_memory_mib <= 10_240:
            raise bad("function_memory_mib", "must be 128..10240 (Lambda)")
        if self.dataset_source not in ("stac", "datacube", "stac-api"):
            raise bad("dataset_source", "must be 'stac', 'datacube' or 'stac-api'")
        if self.dataset_source == "stac-api" and not (self.stac_api_url or "").startswith(("https://", "http://")):
            raise bad("stac_api_url", "dataset_source 'stac-api' needs the http(s) URL of a STAC API")
        if self.dataset_source == "stac-api" and not self.collections:
            raise bad("collections", "dataset_source 'stac-api' needs the collections to search")
        if self.dataset_source == "stac" and not (self.stac_location or "").startswith("s3://"):
            raise bad("stac_location", "dataset_source 'stac' needs an s3:// location of STAC/eo3 documents")
        if self.dataset_source == "datacube" and not (self.db_secret_arn or "").startswith("arn:"):
            raise bad("db_secret_arn", "dataset_source 'datacube' needs the ARN of the database secret")
        if self.vpc_id and not (self.private_subnet_ids and self.availability_zones):
            raise bad("vpc_id", "an existing VPC needs private_subnet_ids and availability_zones")
        for key in ("cache_prefix", "output_prefix"):
            v = getattr(self, key)
            if v.startswith("/") or (v and not v.endswith("/")):
                raise bad(key, "a key prefix ends in '/' and does not start with one")
        parse_grid(self.grid)
        check_frequency(self.frequency)
        self.run_config()

    # ------------------------------------------------------------------ derived
    def run_config(self, output_location: str = "s3://placeholder/") -> dict[str, Any]:
        """The worker's run config (validated with statscore's own RunConfig)."""
        cfg = {"plugin": self.plugin, "plugin_config": self.plugin_config, "product": self.product,
               "cog_opts": self.cog_opts, "s3_acl": self.s3_acl, "output_location": output_location,
               "job_queue_max_lease": self.lease_seconds}
        try:
            RunConfig.model_validate(cfg)
        except Exception as e:
            raise ConfigError(f"settings plugin/plugin_config/product/cog_opts: {e}") from None
        return cfg

    @property
    def worker_threads(self) -> int:
        return self.job_vcpus

    @property
    def worker_memory_limit(self) -> str:
        """``--memory-limit`` for the worker: the job's memory less 5% for the runtime."""
        return f"{int(self.job_memory_mib * 0.95)}M"
