"""The product and task model shared by ``run``, the plugins and the output writers.

Names and path rules as odc-stats' ``OutputProduct`` and ``Task`` so output folders,
file names and dataset ids come out identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from datacube.model import Dataset
from odc.geo.geobox import GeoBox

from .ids import odc_uuid
from .period import Period
from .task import TileIdx

__all__ = ["OutputProduct", "Task"]


@dataclass(frozen=True)
class OutputProduct:
    """What a run produces: names, version, where it goes and how files are named."""

    name: str
    """Product name, e.g. ``ga_s2_gm_cyear_3``."""
    version: str
    """Product version, e.g. ``1.0.0``; ``-`` separated in paths (``1-0-0``)."""
    short_name: str
    """File name prefix, e.g. ``ga_s2_gm_cyear_3``."""
    location: str
    """Product root: ``file:///...`` / ``s3://bucket/prefix`` (includes name and version)."""
    measurements: tuple[str, ...]
    """Output bands in file order."""
    properties: dict[str, Any] = field(default_factory=dict)
    """Extra eo3/STAC properties copied onto every output dataset."""
    region_code_format: str = "x{x:02d}y{y:02d}"
    product_family: str = "statistics"
    producer: str = "example.org"
    collections_site: str = ""
    naming_conventions_values: str = "dea_c3"
    explorer_path: str = ""
    classifier: str = "level3"
    maturity: str | None = None
    collection_number: int = 3
    nodata: dict[str, int | float] | None = None

    def region_code(self, x: int, y: int) -> str:
        return self.region_code_format.format(x=x, y=y)


@dataclass(frozen=True)
class Task:
    """One tile x period to process, with its input datasets."""

    product: OutputProduct
    tile_index: TileIdx
    geobox: GeoBox
    time_range: Period
    datasets: tuple[Dataset, ...] = field(repr=False)

    @property
    def short_time(self) -> str:
        return self.tile_index.period

    @property
    def region_code(self) -> str:
        return self.product.region_code(self.tile_index.x, self.tile_index.y)

    @property
    def uuid(self) -> UUID:
        """odc-stats' id: name, version, sorted sources, ``tile=(x, y)`` and ``time=<period>``."""
        return odc_uuid(self.product.name, self.product.version, sources=self.lineage,
                        time=self.short_time, tile=(self.tile_index.x, self.tile_index.y))

    @property
    def lineage(self) -> tuple[UUID, ...]:
        """Source dataset ids (the sources of fused datasets, as odc-stats)."""
        out: set[UUID] = set()
        for ds in self.datasets:
            src = ds.metadata_doc.get("lineage", {}).get("source_datasets")
            if ds.product.name.startswith("fused__") and isinstance(src, list) and src:
                out.update(UUID(str(s)) for s in src)
            else:
                out.add(ds.id)
        return tuple(sorted(out))

    @property
    def location(self) -> str:
        """Folder relative to the product: region code split in two, then period (``x49/y24/2015--P1Y``).

        odc-stats splits the code at its middle, which gives ``x18/6y92`` for ``x186y92``;
        a code of the form ``x..y..`` is split before its ``y`` instead (same result
        whenever both halves have equal length, as with the standard formats).
        """
        rc = self.region_code
        cut = rc.find("y")
        mid = cut if rc.startswith("x") and cut > 1 else len(rc) // 2
        return f"{rc[:mid]}/{rc[mid:]}/{self.short_time}"

    @property
    def prefix(self) -> str:
        """File name prefix: ``{short_name}_{region_code}_{period}[_{maturity}]``."""
        p = f"{self.product.short_name}_{self.region_code}_{self.short_time}"
        return p if self.product.maturity is None else f"{p}_{self.product.maturity}"

    @property
    def folder(self) -> str:
        """Absolute output folder URL."""
        return f"{self.product.location.rstrip('/')}/{self.location}"

    def band_paths(self, bands: Sequence[str] | None = None, ext: str = "tif") -> dict[str, str]:
        """Band -> file name relative to :attr:`folder`."""
        return {b: f"{self.prefix}_{b}.{ext}" for b in (bands or self.product.measurements)}

    def aux_path(self, name: str, ext: str = "tif") -> str:
        return f"{self.prefix}_{name}.{ext}"

    def metadata_path(self, kind: str) -> str:
        """``odc-metadata.yaml``, ``stac-item.json``, ``sha1``, ``proc-info.yaml``."""
        return f"{self.prefix}.{kind}"
