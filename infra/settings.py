"""Every tunable of the deployment in one typed, validated object.

Read once from the ``statscore`` entry of the CDK context (``cdk.json``, or ``-c
statscore='{...}'`` on the command line, merged key by key over the defaults below).
Unknown keys are errors with a suggestion, as everywhere in statscore: a misspelt
setting must never silently fall back to a default on a continental run.
"""

from __future__ import annotations

import dataclasses
import json
import re
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

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


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
    task_timeout_minutes: int = 60
    """The longest one task (one tile) may take. A worker leases tasks until the queue is empty,
    so its job timeout is (tasks per worker, rounded up) x this, computed per run by Enumerate."""
    job_timeout_hours: int = 12
    """Timeout of a worker job submitted by hand (the job definition's). A run's workers get theirs
    from the run: (tasks per worker) x ``task_timeout_minutes``."""
    root_volume_gib: int = 100
    """Root volume (gp3, encrypted) of each Batch instance: container images, numba cache, a tile's temporaries."""
    verify_max_rounds: int = 2
    """Times Verify re-enqueues unfinished tasks before the run fails naming them."""
    run_timeout_days: int = 7
    """Step Functions stops a run (and so its workers) after this long: every round of workers included."""
    # --- lambda
    function_memory_mib: int = 3008
    """Memory of the Enumerate function (Lambda's quota is 3008 MiB in new accounts, 10240 once raised)."""
    function_ephemeral_storage_mib: int = 10_240
    """``/tmp`` of the Enumerate function (512..10240 MiB): the task cache and its datasets are built there."""
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
    plan_in_batch_above_items: int = 120_000
    """``stac-api``: Enumerate counts the items the run's search matches (one request); above this many,
    the state machine plans in a Batch job (``odc-stats save-tasks --stac-api``, the same planner) and
    Enumerate continues from its cache. ``make bench`` measured 100,000 items in 278 s and 1.65 GB
    (README): 120,000 keeps the Lambda near 40 % of its 15 minutes and within the default
    ``function_memory_mib`` (3,008 MB) with a third to spare; 0: always in Batch."""
    plan_job_vcpus: int = 4
    """``stac-api``: vCPUs of the Batch planner job."""
    plan_job_memory_mib: int = 30_000
    """``stac-api``: memory of the Batch planner job (MiB); a continent-year plans in a few GB."""
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
    # --- inputs the workers read (grants; see _grant in stack.py)
    input_buckets: tuple[str, ...] = ()
    """Buckets (or ``s3://bucket/prefix/``) holding the input COGs, read-only: e.g. ``sentinel-cogs``
    (Element 84's public Sentinel-2 COGs), ``s3://dea-public-data/baseline/``. For ``stac`` the documents'
    prefix is readable already; ``datacube`` needs at least one (its datasets' files)."""
    request_payer: bool = False
    """Inputs are in requester-pays buckets (e.g. ``usgs-landsat``): reads send ``x-amz-request-payer``
    (GDAL's ``AWS_REQUEST_PAYER``) and this account pays for them."""
    input_kms_key_arns: tuple[str, ...] = ()
    """KMS keys the input objects are encrypted with (SSE-KMS): workers and Enumerate get kms:Decrypt on them."""
    # --- alarms
    alarm_email: str | None = None
    """Address subscribed to the alarm topic (it must confirm the subscription); None: subscribe yourself."""
    # --- usage and cost
    prices: dict[str, Any] | None = None
    """Price table entries over statscore's default (``statscore/ops/prices.yaml``: AWS list
    prices, us-east-1; spot approximated): ``{"source", "as_of", "instances": {type: {"vcpus",
    "on_demand", "spot"}}}``. Estimates, ``max_cost`` and run summaries price worker-hours with it."""
    runtime_model: dict[str, Any] | None = None
    """Runtime model (``odc-stats calibrate`` output) for Enumerate's estimate; None: the shipped one."""

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
        for k in ("instance_types", "private_subnet_ids", "availability_zones", "input_buckets", "input_kms_key_arns",
                  "collections"):
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
        if self.plan_in_batch_above_items < 0:
            raise bad("plan_in_batch_above_items", "must be >= 0 (0: always plan in Batch)")
        if not 1 <= self.plan_job_vcpus <= self.max_vcpus:
            raise bad("plan_job_vcpus", f"must be 1..max_vcpus ({self.max_vcpus})")
        if self.plan_job_memory_mib < 1024:
            raise bad("plan_job_memory_mib", "must be at least 1024 MiB")
        if self.dataset_source == "stac" and not (self.stac_location or "").startswith("s3://"):
            raise bad("stac_location", "dataset_source 'stac' needs an s3:// location of STAC/eo3 documents")
        if self.dataset_source == "datacube" and not (self.db_secret_arn or "").startswith("arn:"):
            raise bad("db_secret_arn", "dataset_source 'datacube' needs the ARN of the database secret")
        if self.dataset_source == "datacube" and not self.input_buckets:
            raise bad("input_buckets", "dataset_source 'datacube' needs the buckets its datasets' files are in "
                                       "(the workers may read nothing else)")
        for item in self.input_buckets:
            bucket = item.removeprefix("s3://").split("/", 1)[0]
            if not _BUCKET.fullmatch(bucket) or (item.startswith("s3://") and "*" in item):
                raise bad("input_buckets", f"{item!r} is not a bucket name or s3://bucket/prefix/")
        for arn in self.input_kms_key_arns:
            if not arn.startswith("arn:") or ":kms:" not in arn:
                raise bad("input_kms_key_arns", f"{arn!r} is not a KMS key ARN")
        if self.alarm_email is not None and not _EMAIL.fullmatch(self.alarm_email):
            raise bad("alarm_email", "not an e-mail address")
        if not 1 <= self.run_timeout_days <= 365:
            raise bad("run_timeout_days", "must be 1..365 (Step Functions standard workflows)")
        if not 1 <= self.task_timeout_minutes <= 24 * 60:
            raise bad("task_timeout_minutes", "must be 1..1440")
        if not 1 <= self.job_timeout_hours <= 24 * 14:
            raise bad("job_timeout_hours", "must be 1..336")
        if not 30 <= self.root_volume_gib <= 16_384:
            raise bad("root_volume_gib", "must be 30..16384 (the ECS-optimized AMI needs 30 GiB)")
        if not 512 <= self.function_ephemeral_storage_mib <= 10_240:
            raise bad("function_ephemeral_storage_mib", "must be 512..10240 (Lambda)")
        if self.vpc_id and not (self.private_subnet_ids and self.availability_zones):
            raise bad("vpc_id", "an existing VPC needs private_subnet_ids and availability_zones")
        for key in ("cache_prefix", "output_prefix"):
            v = getattr(self, key)
            if v.startswith("/") or (v and not v.endswith("/")):
                raise bad(key, "a key prefix ends in '/' and does not start with one")
        parse_grid(self.grid)
        check_frequency(self.frequency)
        self.run_config()
        self.worker_price()
        if self.runtime_model is not None:
            from statscore.ops.runtime import RuntimeModel

            RuntimeModel.from_mapping(self.runtime_model, "setting 'runtime_model'")

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

    def worker_price(self) -> dict[str, Any]:
        """What a worker-hour costs on the dearest configured instance type (ConfigError naming a type
        without a price): the ``prices`` of estimates and run summaries."""
        from statscore.ops.prices import default_prices, worker_price

        table = default_prices().merged(self.prices, "setting 'prices'")
        return worker_price(self.instance_types, spot=self.spot, job_vcpus=self.job_vcpus, table=table).to_dict()

    def usage_environment(self) -> dict[str, str]:
        """Environment of the run functions for estimates and usage: worker price, threads, runtime model."""
        from statscore.ops.runtime import RuntimeModel

        env = {"WORKER_PRICE": json.dumps(self.worker_price(), sort_keys=True),
               "WORKER_THREADS": str(self.worker_threads)}
        if self.runtime_model is not None:  # coefficients only: Lambda's environment holds 4 KB in all
            env["RUNTIME_MODEL"] = json.dumps(RuntimeModel.from_mapping(self.runtime_model).coefficients(),
                                              sort_keys=True)
        return env

    @property
    def product_name(self) -> str:
        """The product the workers write (and name in their metrics): ``product.name``, else the plugin's."""
        name = (self.product or {}).get("name")
        if name:
            return str(name)
        from statscore.plugins import plugin_class

        return plugin_class(self.plugin).NAME

    @property
    def worker_slots(self) -> int:
        """Workers that can run at once: ``max_vcpus // job_vcpus``."""
        return self.max_vcpus // self.job_vcpus

    @property
    def worker_cap(self) -> int:
        """Most workers one run starts: ``array_size_cap``, and no more than can run at once (Batch
        would hold the rest RUNNABLE, to start them when the queue is empty); at least 2 (Batch)."""
        return max(2, min(self.array_size_cap, self.worker_slots))

    @property
    def worker_threads(self) -> int:
        return self.job_vcpus

    @property
    def worker_memory_limit(self) -> str:
        """``--memory-limit`` for the worker: the job's memory less 5% for the runtime."""
        return f"{int(self.job_memory_mib * 0.95)}M"
