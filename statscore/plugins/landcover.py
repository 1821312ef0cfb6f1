"""Rule-based inputs of DEA's land-cover pipeline: ``veg_count`` (odc-stats'
``StatsVegCount``, module A0) and ``dem_in_stats`` (``StatsDem``).

``veg_count`` reads fractional cover (``pv``, ``bs``, ``npv``, ``ue``, uint8, nodata
255) and the WOfS ``water`` flags of each observation:

- an observation's cover is valid when WOfS says clear and dry (the low-solar-angle,
  terrain-shadow and high-slope bits ignored) and ``ue < ue_threshold`` (30); it is
  wet when only the water bit is set (low solar angle ignored); ``cloud_filters``
  ({"cloud" | "cloud_shadow": [[op, radius], ...]}) grow those bits' masks first;
- same-day observations are fused: cover by the mean of the valid values, the wet
  flags by the first observation that has one;
- per calendar month (the months of every year together, in month order) the median
  of each; a month is vegetated when ``pv`` or ``npv`` exceeds ``bs``, water when the
  clear-sky wet median exceeds 0.5, wet when the wet-or-valid median exceeds 0;
- outputs (uint8, nodata 255, named by ``measurements``): the longest run of
  vegetated months (months with no valid cover neither break nor extend a run; raised
  to ``veg_threshold`` when neither vegetated nor bare runs reach it), the longest run
  of water months scaled to 12 (``ceil(run / months observed * 12)``), and the
  percentage of wet months (``ceil``).

``dem_in_stats`` passes elevation bands through as float32 with NaN where a value is
not above the band's nodata, renamed to ``measurements``.

``veg_class_l1`` (``StatsVegClassL1``, module A1) classifies level 3 from one year of the
chain's outputs: water where the WOfS ``frequency`` reaches ``water_threshold`` (0.2);
else surface where the soil index ``si5 = blue * red / green`` exceeds
``mudflat_threshold`` (1000) below ``dem_threshold`` (6 m) of ``dem_h``, or exceeds
``saltpan_threshold`` (1500), or ``veg_frequency < veg_threshold`` (2); else terrestrial
vegetation where ``veg_frequency`` has data; optional ``elevation`` (intertidal) and
``canopy_cover_class`` (mangroves) turn water/surface into intertidal and vegetation into
aquatic; pixels still unclassified but with ``wet_percentage`` take the most common class
within 2 pixels (:func:`statscore.algo.mode_fill.fill_with_mode`); 255 where nothing
applies or si5 is undefined. Class values come from ``output_classes``.

``lccs_level34`` (``StatsLccsLevel4``, module A3) applies the rules of a user's class
definition CSV: for ``level3`` and then ``level4``, each row whose condition columns
(``class_condition``) hold a value, a comparison (``>=5``) or a range (``[2, 5)``; ``255``
and empty cells do not constrain) sets that row's class; rules apply shortest
expression first, later ones winning (odc-stats' order); 255 where ``level_3_4`` is
missing. Bright roofs (``artificial_surface`` 215) patch unclassified pixels, and 215
outside the ``urban_mask`` polygons becomes 216.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import operator
import re
from pathlib import Path

import numpy as np
import xarray as xr

from ..algo import mask_cleanup
from ..algo.median import nanmedian
from ..algo.mode_fill import fill_with_mode
from ..errors import ConfigError, InputError, suggest
from ._base import StatsPlugin
from ._masking import check_filter_map, fuse_first_valid, fuse_mean, nodata_of
from ._vector import burn, read_polygons
from .registry import register

__all__ = ["StatsVegCount", "StatsDem", "StatsVegClassL1", "StatsLccsLevel4", "ClassRule", "read_class_rules",
           "max_consecutive", "valid_percent"]

NODATA = 255
_FC = ("pv", "bs", "npv")
_BAD_BITS = {"cloud": np.uint8(1 << 6), "cloud_shadow": np.uint8(1 << 5)}
_IGNORED_FOR_VALID = np.uint8((1 << 4) | (1 << 3) | (1 << 2))  # high slope, terrain shadow, low sun
_LOW_SUN = np.uint8(1 << 2)


def max_consecutive(flags: np.ndarray, normalize: bool = False) -> np.ndarray:
    """Longest run of 1s over the first axis of uint8 ``flags`` (0, 1, or ``NODATA`` for
    a step without an answer, which neither breaks nor extends a run); with
    ``normalize`` the run is scaled to 12 steps: ``ceil(run / steps answered * 12)``.
    ``NODATA`` where no step is answered."""
    run = np.zeros(flags.shape[1:], dtype=np.int32)
    best = np.zeros_like(run)
    total = np.zeros_like(run)
    for step in flags:
        known = step != NODATA
        run = np.where(known, run + step, run)
        np.maximum(best, run, out=best)
        run = np.where(step == 0, 0, run)
        total += known
    if normalize:
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = np.ceil((best / total * 12).astype(np.float32))
        return np.where(total <= 0, NODATA, scaled).astype(np.uint8)
    return np.where(total <= 0, NODATA, best).astype(np.uint8)


def valid_percent(flags: np.ndarray) -> np.ndarray:
    """Percentage (``ceil``) of answered steps whose flag is 1; ``NODATA`` where none is answered."""
    known = flags != NODATA
    hits = np.where(known, flags, 0).sum(axis=0, dtype=np.int32)
    total = known.sum(axis=0, dtype=np.int32)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.ceil((hits / total * 100).astype(np.float32))
    return np.where(total <= 0, NODATA, pct).astype(np.uint8)


def _flag(values: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """uint8 1 where ``hit``, 0 elsewhere, ``NODATA`` where ``values`` is NaN."""
    return np.where(np.isnan(values), NODATA, hit.astype(np.uint8)).astype(np.uint8)


class StatsVegCount(StatsPlugin):
    NAME = "ga_ls_lccs_fc_wo_a0"
    SHORT_NAME = NAME
    VERSION = "0.0.1"
    PRODUCT_FAMILY = "lccs"
    DEFAULT_MEASUREMENTS = ("veg_frequency", "water_frequency", "wet_percentage")

    def __init__(
        self,
        *,
        ue_threshold: int | None = None,
        veg_threshold: int | None = None,
        cloud_filters: Mapping[str, Iterable[Sequence[Any]]] | None = None,
        measurements: Sequence[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.ue_threshold = 30 if ue_threshold is None else int(ue_threshold)
        self.veg_threshold = 2 if veg_threshold is None else int(veg_threshold)
        if not 0 <= self.veg_threshold <= 12:
            raise ConfigError(f"veg_threshold must be a number of months 0..12, got {veg_threshold!r}")
        self.cloud_filters = check_filter_map(cloud_filters, "cloud_filters") or {}
        for key in self.cloud_filters:
            if key not in _BAD_BITS:
                raise ConfigError(f"unknown cloud_filters key {key!r}{suggest(str(key), list(_BAD_BITS))};"
                                  f" valid: {', '.join(_BAD_BITS)}")
        names = tuple(measurements) if measurements is not None else self.DEFAULT_MEASUREMENTS
        if len(names) != 3 or len(set(names)) != 3:
            raise ConfigError(f"measurements must name 3 distinct bands (veg, water, wet), got {list(names)}")
        self._measurements = names

    @property
    def input_bands(self) -> tuple[str, ...]:
        return ("water", *_FC, "ue")

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return ("water",)

    @property
    def measurements(self) -> tuple[str, ...]:
        return self._measurements

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {b: np.dtype("uint8") for b in self.measurements}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {b: NODATA for b in self.measurements}

    @property
    def categorical_bands(self) -> tuple[str, ...]:
        return self.measurements

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        """Cover (float32, NaN unless valid) plus ``wet_clear``/``wet_valid`` (1 wet,
        0 clear-dry / valid-dry, NaN otherwise)."""
        self._require(xx, self.input_bands)
        water = xx["water"].astype(np.uint8)
        valid = (water & ~_IGNORED_FOR_VALID) == 0
        wet = (water & ~_LOW_SUN) == 128
        clear = water == 0
        for key, filters in self.cloud_filters.items():
            grown = mask_cleanup((water & _BAD_BITS[key]) > 0, filters)
            valid, clear, wet = valid & ~grown, clear & ~grown, wet & ~grown
        nan = np.float32(np.nan)
        wet_f = wet.astype(np.float32)
        out = {"wet_clear": wet_f.where(wet | clear, nan), "wet_valid": wet_f.where(wet | valid, nan)}
        valid = valid & (xx["ue"] < self.ue_threshold)
        for b in _FC:
            band = xx[b]
            ok = valid & (band != nodata_of(band)) if nodata_of(band) is not None else valid
            out[b] = band.astype(np.float32).where(ok, nan)
        for v in out.values():
            v.attrs = {"nodata": float("nan")}
        return xr.Dataset({k: out[k] for k in (*_FC, "wet_clear", "wet_valid")}, attrs=xx.attrs)

    def fuser(self, xx: xr.Dataset) -> xr.Dataset:
        fused = fuse_mean(xx[list(_FC)], float("nan"))
        for b in ("wet_clear", "wet_valid"):
            fused[b] = fuse_first_valid(xx[b])
        return fused

    def monthly_medians(self, xx: xr.Dataset) -> dict[str, np.ndarray]:
        """Per band (month, y, x) medians, months in calendar order."""
        names = (*_FC, "wet_clear", "wet_valid")
        self._require(xx, names)
        tdim = xx["pv"].dims[0]
        months = xx[tdim].dt.month.values if tdim == "time" else xx["time"].dt.month.values
        order = sorted(set(int(m) for m in months))
        return {b: np.stack([nanmedian(np.asarray(xx[b].data)[months == m]) for m in order])
                for b in names}

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        med = self.monthly_medians(xx)
        pv, bs, npv = med["pv"], med["bs"], med["npv"]
        veg = _flag(pv, (pv > bs) | (npv > bs))
        non_veg = np.where(veg < NODATA, 1 - veg, NODATA).astype(np.uint8)
        runs_veg, runs_bare = max_consecutive(veg), max_consecutive(non_veg)
        v = np.uint8(self.veg_threshold)
        runs_veg = np.where((runs_bare < v) & (runs_veg < v), v, runs_veg).astype(np.uint8)
        water = max_consecutive(_flag(med["wet_clear"], med["wet_clear"] > 0.5), normalize=True)
        wet = valid_percent(_flag(med["wet_valid"], med["wet_valid"] > 0))
        band = xx["pv"]
        dims = band.dims[1:]
        coords = {k: c for k, c in band.coords.items() if set(c.dims) <= set(dims)}
        return self._finish({name: xr.DataArray(data, dims=dims, coords=coords)
                             for name, data in zip(self.measurements, (runs_veg, water, wet))})


class StatsDem(StatsPlugin):
    NAME = "ga_ls_lccs_(ni)dem"
    SHORT_NAME = NAME
    VERSION = "0.0.1"
    PRODUCT_FAMILY = "lccs"

    def __init__(self, *, input_bands: Sequence[str], measurements: Sequence[str] | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(input_bands, str) or not input_bands:
            raise ConfigError(f"input_bands must list the elevation band(s), got {input_bands!r}")
        self._inputs = tuple(input_bands)
        self._measurements = tuple(measurements) if measurements is not None else self._inputs
        if len(self._measurements) != len(self._inputs):
            raise ConfigError(f"measurements {list(self._measurements)} must name one output per input band"
                              f" {list(self._inputs)}")

    @property
    def input_bands(self) -> tuple[str, ...]:
        return self._inputs

    @property
    def measurements(self) -> tuple[str, ...]:
        return self._measurements

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {b: np.dtype("float32") for b in self.measurements}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {b: float("nan") for b in self.measurements}

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        """float32, NaN where a value is not above the band's nodata (as odc-stats)."""
        self._require(xx, self._inputs)
        out = {}
        for b in self._inputs:
            band = xx[b]
            if band.attrs.get("nodata") is None:
                raise InputError(f"plugin 'dem_in_stats': band {b!r} has no nodata value")
            nodata = float(band.attrs["nodata"])
            data = np.asarray(band.data)
            out[b] = band.copy(data=np.where(data > nodata, data, np.nan).astype(np.float32))
            out[b].attrs = {**band.attrs, "nodata": float("nan")}
        return xr.Dataset(out, attrs=xx.attrs)

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        """The (one) observation per pixel; with several, the first valid one."""
        self._require(xx, self._inputs)
        first = fuse_first_valid(xx[list(self._inputs)])
        tdim = first[self._inputs[0]].dims[0]
        first = first.isel({tdim: 0}, drop=True)
        return self._finish({m: first[b] for b, m in zip(self._inputs, self._measurements)})


class StatsVegClassL1(StatsPlugin):
    NAME = "ga_ls_lccs_veg_class_a1"
    SHORT_NAME = NAME
    VERSION = "0.0.1"
    PRODUCT_FAMILY = "lccs"

    #: Classes ``output_classes`` must give a value.
    CLASSES = ("water", "surface", "terrestrial_veg", "intertidal", "aquatic_veg_herb", "aquatic_veg_wood")
    DEFAULT_INPUTS = ("nbart_blue", "nbart_green", "nbart_red", "frequency", "dem_h", "veg_frequency",
                      "wet_percentage")
    #: Placeholder for "has data but no class yet", filled from the neighbours.
    UNSURE = 254
    MODE_RADIUS = 2

    def __init__(
        self,
        *,
        output_classes: Mapping[str, int],
        dem_threshold: float | None = None,
        mudflat_threshold: float | None = None,
        saltpan_threshold: float | None = None,
        water_threshold: float | None = None,
        veg_threshold: int | None = None,
        input_bands: Sequence[str] | None = None,
        optional_bands: Sequence[str] | None = None,
        measurements: Sequence[str] | None = None,
        resampling: str | Mapping[str, str] = "nearest",
        **kwargs: Any,
    ):
        super().__init__(resampling=resampling, **kwargs)
        if not isinstance(output_classes, Mapping):
            raise ConfigError(f"output_classes must map class names to values, got {output_classes!r}")
        missing = [c for c in self.CLASSES if c not in output_classes]
        if missing:
            raise ConfigError(f"output_classes lacks {', '.join(map(repr, missing))}")
        self.output_classes = {k: int(v) for k, v in output_classes.items()}
        self.dem_threshold = 6 if dem_threshold is None else dem_threshold
        self.mudflat_threshold = 1000 if mudflat_threshold is None else mudflat_threshold
        self.saltpan_threshold = 1500 if saltpan_threshold is None else saltpan_threshold
        self.water_threshold = 0.2 if water_threshold is None else water_threshold
        self.veg_threshold = 2 if veg_threshold is None else veg_threshold
        self._inputs = tuple(input_bands) if input_bands is not None else self.DEFAULT_INPUTS
        absent = [b for b in self.DEFAULT_INPUTS if b not in self._inputs]
        if absent:
            raise ConfigError(f"input_bands lacks {', '.join(map(repr, absent))} (the rules read them)")
        self._optional = tuple(optional_bands or ())
        unknown = [b for b in self._optional if b not in ("elevation", "canopy_cover_class")]
        if unknown:
            raise ConfigError(f"optional_bands {unknown} are not used; known: 'elevation', 'canopy_cover_class'")
        self._measurements = tuple(measurements) if measurements is not None else ("level_3_4",)
        if len(self._measurements) != 1:
            raise ConfigError(f"measurements must name one band (the level 3 classes), got {list(self._measurements)}")

    @property
    def input_bands(self) -> tuple[str, ...]:
        return self._inputs

    @property
    def optional_bands(self) -> tuple[str, ...]:
        return self._optional

    @property
    def measurements(self) -> tuple[str, ...]:
        return self._measurements

    @property
    def categorical_bands(self) -> tuple[str, ...]:
        return self.measurements

    @property
    def reduce_margin(self) -> int:
        return self.MODE_RADIUS

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {self._measurements[0]: np.dtype("uint8")}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {self._measurements[0]: NODATA}

    def level3(self, xx: xr.Dataset) -> np.ndarray:
        """The (y, x) level 3 classes of a one-observation stack (the first valid if several)."""
        self._require(xx, self._inputs)
        names = [b for b in (*self._inputs, *self._optional) if b in xx.data_vars]
        first = fuse_first_valid(xx[names])
        one = {b: np.asarray(first[b].data)[0] for b in names}
        cls = self.output_classes

        def nodata(band: str, default: float) -> float:
            nd = first[band].attrs.get("nodata")
            return default if nd is None or (isinstance(nd, float) and np.isnan(nd)) else nd

        blue, red, green = (one[b].astype(np.float64) for b in ("nbart_blue", "nbart_red", "nbart_green"))
        with np.errstate(divide="ignore", invalid="ignore"):
            si5 = np.where(blue > nodata("nbart_blue", -999), blue * red / green, np.nan)
        si5 = si5.astype(np.float32).astype(np.float64)
        freq = one["frequency"].astype(np.float64)
        dem = one["dem_h"].astype(np.float64)
        veg = one["veg_frequency"].astype(np.float64)
        l3 = np.where(freq >= self.water_threshold, cls["water"], 0).astype(np.uint8)
        surface = ((si5 > self.mudflat_threshold) & (dem <= self.dem_threshold)) | (si5 > self.saltpan_threshold) \
            | (veg < self.veg_threshold)
        l3 = np.where(surface & (l3 == 0), cls["surface"], l3).astype(np.uint8)
        l3 = np.where((l3 == 0) & (veg < nodata("veg_frequency", NODATA)), cls["terrestrial_veg"], l3).astype(np.uint8)
        for b in self._optional:
            if b not in one:
                continue
            if b == "elevation":
                tidal = ~np.isnan(one[b].astype(np.float64))
                l3 = np.where(tidal & ((l3 == cls["water"]) | (l3 == cls["surface"])), cls["intertidal"], l3)
                l3 = np.where(tidal & (l3 == cls["terrestrial_veg"]), cls["aquatic_veg_herb"], l3)
            else:
                cover = one[b].astype(np.float64)
                nd = first[b].attrs.get("nodata", NODATA)
                has = cover < nd if nd is not None and not (isinstance(nd, float) and np.isnan(nd)) \
                    else np.ones(cover.shape, bool)
                l3 = np.where((cover > 0) & has, cls["aquatic_veg_wood"], l3)
            l3 = l3.astype(np.uint8)
        wet = one["wet_percentage"].astype(np.float64)
        l3 = np.where((l3 == 0) & (wet < nodata("wet_percentage", NODATA)), self.UNSURE, l3).astype(np.uint8)
        l3 = fill_with_mode(l3, self.UNSURE, exclude=(0,), radius=self.MODE_RADIUS)
        return np.where((l3 == 0) | (l3 == self.UNSURE) | np.isnan(si5), NODATA, l3).astype(np.uint8)

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        band = xx["veg_frequency"] if "veg_frequency" in xx.data_vars else xx[self._inputs[0]]
        dims = band.dims[1:]
        coords = {k: c for k, c in band.coords.items() if set(c.dims) <= set(dims)}
        return self._finish({self._measurements[0]: xr.DataArray(self.level3(xx), dims=dims, coords=coords)})


_OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt,
        "<": operator.lt}
_RANGE = re.compile(r"([\[(])(-?\d+\.?\d*),\s*(-?\d+\.?\d*)([\])])")


class ClassRule:
    """One CSV row of a level: the (column, comparison, value) tests that must all hold,
    the class they set, and its text in the CSV."""

    def __init__(self, tests: list[tuple[str, str, float]], value: int, label: str):
        self.tests = tests
        self.value = value
        self.label = label

    @property
    def text(self) -> str:
        """odc-stats' expression for this rule (its length orders the rules)."""
        cond = "&".join(f"({col}{op}{_num(v)})" for col, op, v in self.tests)
        return f"where({cond}, {self.label}, res)"

    def matches(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        ok = None
        for col, op, v in self.tests:
            hit = _OPS[op](columns[col], v)
            ok = hit if ok is None else ok & hit
        return ok


def _num(v: float) -> str:
    return str(int(v)) if isinstance(v, int) else str(v)


def _parse_cell(cell: str, where: str) -> list[tuple[str, float]]:
    """A CSV cell -> [(op, value)]: ``255``/``nan``/empty: none; ``[a, b)``: a range;
    ``>=v`` etc.; a bare integer: equality."""
    cell = str(cell).strip()
    if cell.endswith(".0") and cell[:-2].lstrip("-").isdigit():
        cell = cell[:-2]  # pandas writes a column with gaps as floats ('255.0'); odc-stats fails on those
    if cell in ("255", "nan", ""):
        return []
    m = _RANGE.match(cell)
    if m:
        lo, a, b, hi = m.groups()
        return [(">=" if lo == "[" else ">", float(a)), ("<=" if hi == "]" else "<", float(b))]
    for op in _OPS:  # two-character operators first
        if op in cell:
            try:
                return [(op, float(cell.replace(op, "").strip()))]
            except ValueError:
                break
    try:
        return [("==", int(cell))]
    except ValueError:
        raise ConfigError(f"{where}: cannot read rule {cell!r} (a number, a comparison like '>=5' or a range"
                          " like '[2, 5)')") from None


def read_class_rules(path: str | Path, condition: Mapping[str, Sequence[str]]) -> dict[str, list[ClassRule]]:
    """Level (a column of the CSV) -> its rules over the ``condition[level]`` columns, in
    the order odc-stats applies them."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"class_def_path {str(path)!r}: no such file")
    try:
        table = pd.read_csv(path)
    except Exception as e:  # noqa: BLE001 - pandas raises many types; name the file
        raise ConfigError(f"class_def_path {str(path)!r}: cannot read the CSV ({e})") from None
    # cells as odc-stats sees them: pandas' text of each value ('110', '110.0' in a column with gaps, 'nan')
    table = table.astype(str).fillna("nan")
    header = set(table.columns)
    out: dict[str, list[ClassRule]] = {}
    for level, cols in condition.items():
        missing = [c for c in (level, *cols) if c not in header]
        if missing:
            raise ConfigError(f"class_def_path {str(path)!r}: no column(s) {', '.join(map(repr, missing))}")
        rules: dict[str, ClassRule] = {}
        for i, row in enumerate(table.to_dict("records"), start=2):
            where = f"class_def_path {str(path)!r} line {i}"
            tests = [(col, op, v) for col in cols for op, v in _parse_cell(row[col], f"{where} {col}")]
            if not tests:
                continue
            cls = str(row[level]).strip()
            try:
                value = int(float(cls))
            except ValueError:
                raise ConfigError(f"{where}: {level} class {cls!r} is not a number") from None
            tests = [(c, op, int(v) if op == "==" else v) for c, op, v in tests]
            rule = ClassRule(tests, value, cls)
            rules.setdefault(rule.text, rule)  # odc-stats drops duplicate expressions
        out[str(level)] = sorted(rules.values(), key=lambda r: len(r.text))
    return out


class StatsLccsLevel4(StatsPlugin):
    NAME = "ga_ls_lccs_Level34"
    SHORT_NAME = NAME
    VERSION = "0.0.1"
    PRODUCT_FAMILY = "lccs"

    def __init__(
        self,
        *,
        class_def_path: str,
        class_condition: Mapping[str, Sequence[str]],
        urban_mask: str,
        input_bands: Sequence[str],
        filter_expression: str | None = None,
        mask_threshold: float | None = None,
        data_var_condition: Mapping[str, str] | None = None,
        measurements: Sequence[str] | None = None,
        resampling: str | Mapping[str, str] = "nearest",
        **kwargs: Any,
    ):
        super().__init__(resampling=resampling, **kwargs)
        if not isinstance(class_condition, Mapping) or set(class_condition) != {"level3", "level4"}:
            raise ConfigError(f"class_condition must map 'level3' and 'level4' to CSV columns, got {class_condition!r}")
        self.rules = read_class_rules(class_def_path, class_condition)
        self.class_def_path = str(class_def_path)
        self.urban_mask = str(urban_mask)
        self.filter_expression = filter_expression
        self.urban = read_polygons(urban_mask, "urban_mask", filter_expression)
        self.mask_threshold = mask_threshold
        self.data_var_condition = dict(data_var_condition or {})
        self._inputs = tuple(input_bands)
        needed = {"level_3_4", "artificial_surface"} | {
            self.data_var_condition.get(c, c) for cols in class_condition.values() for c in cols if c != "level3"}
        absent = sorted(needed - set(self._inputs))
        if absent:
            raise ConfigError(f"input_bands lacks {', '.join(map(repr, absent))} (the class rules read them)")
        self._measurements = tuple(measurements) if measurements is not None else ("level3", "level4")
        if len(self._measurements) != 2:
            raise ConfigError(f"measurements must name 2 bands (level 3, level 4), got {list(self._measurements)}")

    @property
    def input_bands(self) -> tuple[str, ...]:
        return self._inputs

    @property
    def measurements(self) -> tuple[str, ...]:
        return self._measurements

    @property
    def categorical_bands(self) -> tuple[str, ...]:
        return self.measurements

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {b: np.dtype("uint8") for b in self.measurements}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {b: NODATA for b in self.measurements}

    def _classify(self, level: str, columns: dict[str, np.ndarray], level34: np.ndarray) -> np.ndarray:
        res = np.zeros(level34.shape, dtype=np.uint8)
        for rule in self.rules[level]:
            res = np.where(rule.matches(columns), np.uint8(rule.value % 256), res).astype(np.uint8)
        return np.where(np.isnan(level34) | (level34 >= NODATA), NODATA, res).astype(np.uint8)

    def urban_area(self, like: xr.DataArray) -> np.ndarray:
        """True inside the urban mask; everywhere when more than ``mask_threshold`` of the tile is."""
        inside = burn(self.urban, like, "lccs_level34")
        if self.mask_threshold is not None and inside.sum() > inside.size * self.mask_threshold:
            return np.ones(inside.shape, dtype=bool)
        return inside

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, self._inputs)
        first = fuse_first_valid(xx[list(self._inputs)])
        tdim = first["level_3_4"].dims[0]
        first = first.isel({tdim: 0}, drop=True)
        level34 = np.asarray(first["level_3_4"].data).astype(np.float64)
        columns = {c: np.asarray(first[self.data_var_condition.get(c, c)].data).astype(np.float64)
                   for cols in self.rules.values() for r in cols for c, _, _ in r.tests if c != "level3"}
        level3 = self._classify("level3", columns, level34)
        artificial = np.asarray(first["artificial_surface"].data)
        level3 = np.where((level3 == NODATA) & (artificial == 215), 215, level3).astype(np.uint8)
        level3 = np.where((level3 == 215) & ~self.urban_area(first["level_3_4"]), 216, level3).astype(np.uint8)
        columns["level3"] = level3.astype(np.float64)
        level4 = self._classify("level4", columns, level34)
        level4 = np.where((level4 == NODATA) & (level3 == 215), 93, level4).astype(np.uint8)
        like = first["level_3_4"]
        return self._finish({name: like.copy(data=v) for name, v in zip(self._measurements, (level3, level4))})


register("veg_count", StatsVegCount)
register("dem_in_stats", StatsDem)
register("veg_class_l1", StatsVegClassL1)
register("lccs_level34", StatsLccsLevel4)
