"""Plugins that run a user-supplied trained model on every pixel.

odc-stats' land-cover classifiers (``woody_cover``, ``cultivated_class`` with treelite
models compiled by tl2cgen, ``urban_class`` with a TensorFlow Lite model) each load a
model file that DEA trains and keeps; statscore ships no models. This module is the
interface to bring your own:

- :class:`Predictor` is anything with ``predict(features) -> outputs``: ``features`` is
  float32 (pixels, features), the result (pixels, outputs).
- :func:`load_predictor` opens ``model_path``: a tl2cgen-compiled library (``.so``,
  ``.dylib``, ``.dll``: what odc-stats' treelite plugins load) or a TensorFlow Lite
  model (``.tflite``, with ``ai-edge-litert`` installed); ``model_loader`` (a dotted
  path to ``callable(path) -> Predictor``) opens any other format (ONNX, joblib...).
- :class:`ModelPlugin` is the base: it checks the file at configuration time, loads the
  model once per process and thread (tasks run in worker processes), and gives
  subclasses :meth:`ModelPlugin.predict`. A subclass computes its features in
  ``reduce`` and turns the model's outputs into bands.
- :class:`PixelModel` (``model-pixel``) is the ready-made case: the model's features are
  the input ``bands`` of each observation (NaN for nodata; a pixel is predicted only when
  every feature is valid and, with ``mask_band``, the mask equals ``mask_value``);
  ``ptype: categorical`` takes the class (argmax, or output >= 0.5 for one output)
  mapped through ``output_classes``, then the class predicted most often over time
  (uint8, nodata 255); ``ptype: regression`` takes the median prediction over time
  (float32, NaN).
"""

from __future__ import annotations

import os
import pydoc
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import xarray as xr

from ..algo.median import nanmedian
from ..errors import ConfigError, InputError
from ._base import StatsPlugin
from ._masking import nodata_of
from .registry import register

__all__ = ["Predictor", "load_predictor", "ModelPlugin", "PixelModel", "LIBRARY_SUFFIXES"]

LIBRARY_SUFFIXES = (".so", ".dylib", ".dll")
"""Suffixes of tl2cgen-compiled model libraries."""

NODATA_CLASS = 255


@runtime_checkable
class Predictor(Protocol):
    """A trained model: float32 (pixels, features) -> (pixels, outputs)."""

    def predict(self, features: np.ndarray) -> np.ndarray: ...


class _Tl2cgen:
    """A treelite model compiled to a shared library by tl2cgen."""

    def __init__(self, path: str):
        import tl2cgen

        self._tl2cgen = tl2cgen
        self.model = tl2cgen.Predictor(path, nthread=1)
        self.num_feature = int(self.model.num_feature)

    def predict(self, features: np.ndarray) -> np.ndarray:
        if features.shape[1] != self.num_feature:
            raise InputError(f"the model takes {self.num_feature} features, got {features.shape[1]}")
        out = self.model.predict(self._tl2cgen.DMatrix(np.ascontiguousarray(features, dtype=np.float32)))
        return np.asarray(out).reshape(features.shape[0], -1)


class _TfLite:
    """A TensorFlow Lite model whose input is (pixels, features)."""

    def __init__(self, path: str):
        from ai_edge_litert.interpreter import Interpreter

        self.model = Interpreter(model_path=path)
        self.model.allocate_tensors()
        self._in = self.model.get_input_details()[0]
        self._out = self.model.get_output_details()[0]

    def predict(self, features: np.ndarray) -> np.ndarray:
        m = self.model
        m.resize_tensor_input(self._in["index"], list(features.shape))
        m.allocate_tensors()
        m.set_tensor(self._in["index"], features.astype(self._in["dtype"]))
        m.invoke()
        return np.asarray(m.get_tensor(self._out["index"])).reshape(features.shape[0], -1)


def load_predictor(path: str | Path, loader: str | None = None) -> Predictor:
    """Open the model at ``path`` with ``loader`` (a dotted path to ``callable(path)``) or
    by its suffix (tl2cgen library, ``.tflite``)."""
    path = str(path)
    if loader:
        fn = pydoc.locate(loader)
        if not callable(fn):
            raise ConfigError(f"model_loader {loader!r} is not a callable (a dotted path to a function or class)")
        model = fn(path)
        if not isinstance(model, Predictor):
            raise ConfigError(f"model_loader {loader!r} returned {type(model).__name__}, which has no predict()")
        return model
    suffix = _check_format(path)
    make, package = _FORMATS[suffix]
    try:
        return make(path)
    except ImportError:
        raise ConfigError(f"model {path!r} needs the Python package {package!r} (pip install {package})") from None
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - model libraries raise their own types; name the file
        raise ConfigError(f"model {path!r}: cannot load ({str(e).strip().splitlines()[0] if str(e).strip() else e})") \
            from None


_FORMATS: dict[str, tuple[Callable[[str], Predictor], str]] = {
    **{s: (_Tl2cgen, "tl2cgen") for s in LIBRARY_SUFFIXES}, ".tflite": (_TfLite, "ai-edge-litert")}
"""Model file suffix -> (opener, the Python package it needs)."""


def _check_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise ConfigError(f"model {path!r}: unknown model format {suffix or '(no suffix)'!r}; expected a tl2cgen"
                          f" library ({', '.join(LIBRARY_SUFFIXES)}) or .tflite, or set model_loader")
    return suffix


_LOCAL = threading.local()


class ModelPlugin(StatsPlugin):
    """Base of plugins that apply a trained model (see the module docstring)."""

    PRODUCT_FAMILY = "lccs"

    def __init__(self, *, model_path: str | None = None, model_loader: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not model_path:
            raise ConfigError(f"plugin {self.SHORT_NAME_OR_NAME!r} needs plugin_config key 'model_path'")
        if not Path(model_path).is_file():
            raise ConfigError(f"model_path {str(model_path)!r}: no such file")
        self.model_path = str(model_path)
        self.model_loader = model_loader
        if not model_loader:
            _check_format(self.model_path)  # an unknown format fails now, not in a task

    @property
    def predictor(self) -> Predictor:
        """The model, opened once per process and thread (worker processes each open theirs)."""
        cache = getattr(_LOCAL, "models", None)
        if cache is None:
            cache = _LOCAL.models = {}
        key = (os.getpid(), self.model_path, self.model_loader)
        if key not in cache:
            cache[key] = load_predictor(self.model_path, self.model_loader)
        return cache[key]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The model's outputs (pixels, outputs) for float32 ``features`` (pixels, features)."""
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2:
            raise InputError(f"model features must be (pixels, features), got shape {features.shape}")
        if features.shape[0] == 0:
            return np.zeros((0, 1), dtype=np.float32)
        out = np.asarray(self.predictor.predict(features))
        return out.reshape(features.shape[0], -1)


class PixelModel(ModelPlugin):
    NAME = "model_pixel"
    SHORT_NAME = NAME
    VERSION = "0.0.1"

    PTYPES: ClassVar[tuple[str, ...]] = ("categorical", "regression")

    def __init__(
        self,
        *,
        bands: Sequence[str],
        ptype: str = "categorical",
        output_band: str = "predict_output",
        output_classes: Sequence[int] | Mapping[int, int] | None = None,
        mask_band: str | None = None,
        mask_value: int = 1,
        resampling: str | Mapping[str, str] = "nearest",
        **kwargs: Any,
    ):
        super().__init__(resampling=resampling, **kwargs)
        if isinstance(bands, str) or not bands:
            raise ConfigError(f"bands must list the model's feature bands in order, got {bands!r}")
        if ptype not in self.PTYPES:
            raise ConfigError(f"ptype must be one of {', '.join(self.PTYPES)}, got {ptype!r}")
        self.bands = tuple(bands)
        self.ptype = ptype
        self.output_band = output_band
        if isinstance(output_classes, Mapping):
            output_classes = [output_classes[k] for k in sorted(output_classes)]
        self.output_classes = None if output_classes is None else np.asarray(output_classes, dtype=np.int64)
        if self.output_classes is not None and not ((self.output_classes >= 0) & (self.output_classes < 255)).all():
            raise ConfigError(f"output_classes must be class values 0..254, got {list(self.output_classes)}")
        self.mask_band = mask_band
        self.mask_value = mask_value

    @property
    def input_bands(self) -> tuple[str, ...]:
        return self.bands + ((self.mask_band,) if self.mask_band else ())

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return (self.mask_band,) if self.mask_band else ()

    @property
    def measurements(self) -> tuple[str, ...]:
        return (self.output_band,)

    @property
    def categorical_bands(self) -> tuple[str, ...]:
        return self.measurements if self.ptype == "categorical" else ()

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {self.output_band: np.dtype("uint8" if self.ptype == "categorical" else "float32")}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {self.output_band: NODATA_CLASS if self.ptype == "categorical" else float("nan")}

    def features(self, xx: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
        """(time, y, x, feature) float32 values and the (time, y, x) pixels to predict."""
        self._require(xx, self.input_bands)
        planes = []
        for b in self.bands:
            band = xx[b]
            v = np.asarray(band.data).astype(np.float32)
            nd = nodata_of(band)
            if nd is not None and not (isinstance(nd, float) and np.isnan(nd)):
                v[np.asarray(band.data) == nd] = np.nan
            planes.append(v)
        feats = np.stack(planes, axis=-1)
        use = np.isfinite(feats).all(axis=-1)
        if self.mask_band:
            use &= np.asarray(xx[self.mask_band].data) == self.mask_value
        return feats, use

    def classes(self, outputs: np.ndarray) -> np.ndarray:
        """Class values of the model's outputs (pixels, outputs)."""
        idx = (outputs[:, 0] >= 0.5).astype(np.int64) if outputs.shape[1] == 1 else outputs.argmax(axis=1)
        if self.output_classes is None:
            return idx
        if idx.size and idx.max() >= len(self.output_classes):
            raise InputError(f"the model predicts class {int(idx.max())} but output_classes has"
                             f" {len(self.output_classes)} entries")
        return self.output_classes[idx]

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        feats, use = self.features(xx)
        outputs = self.predict(feats[use])
        template = xx[self.bands[0]]
        dims = template.dims[1:]
        coords = {k: c for k, c in template.coords.items() if set(c.dims) <= set(dims)}
        if self.ptype == "regression":
            per_obs = np.full(use.shape, np.nan, dtype=np.float32)
            per_obs[use] = outputs[:, 0]
            out = nanmedian(per_obs)
        else:
            per_obs = np.full(use.shape, -1, dtype=np.int64)
            per_obs[use] = self.classes(outputs)
            out = _most_frequent(per_obs)
        return self._finish({self.output_band: xr.DataArray(out, dims=dims, coords=coords)})


def _most_frequent(classes: np.ndarray) -> np.ndarray:
    """Per pixel the class (0..254) seen most often over the first axis (ties: the lowest);
    ``NODATA_CLASS`` where none (-1 marks no prediction)."""
    counts = np.zeros((NODATA_CLASS, *classes.shape[1:]), dtype=np.int32)
    for step in classes:
        seen = step >= 0
        np.add.at(counts, (step[seen], *np.nonzero(seen)), 1)
    best = counts.argmax(axis=0).astype(np.uint8)
    return np.where(counts.max(axis=0) > 0, best, NODATA_CLASS).astype(np.uint8)


register("model-pixel", PixelModel)
