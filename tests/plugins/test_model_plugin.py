"""The model-plugin interface (``model-pixel``, ``ModelPlugin``): tiny treelite models
built and compiled by the test itself (nothing downloaded), a Python model through
``model_loader``, and the configuration errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from statscore.errors import ConfigError, InputError
from statscore.plugins import resolve_plugin
from statscore.plugins.model import ModelPlugin, Predictor, load_predictor

from .conftest import stack
from .odc_reference import run_ours


def _tree(kind: str, t0: float = 100.0, t1: float = 50.0):
    """One decision tree on features (f0, f1): f0 < t0 -> A; else f1 < t1 -> B else C.
    Regression leaves A, B, C = 10, 20, 30; classifier leaves one-hot classes 0, 1, 2."""
    from treelite.model_builder import Metadata, ModelBuilder, PostProcessorFunc, TreeAnnotation

    multi = kind == "classes"
    b = ModelBuilder(
        threshold_type="float32", leaf_output_type="float32",
        metadata=Metadata(num_feature=2, task_type="kMultiClf" if multi else "kRegressor",
                          average_tree_output=False, num_target=1, num_class=[3 if multi else 1],
                          leaf_vector_shape=(1, 3 if multi else 1)),
        tree_annotation=TreeAnnotation(num_tree=1, target_id=[0], class_id=[-1 if multi else 0]),
        postprocessor=PostProcessorFunc(name="identity_multiclass" if multi else "identity"),
        base_scores=[0.0] * (3 if multi else 1))
    leaves = ([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]] if multi else [10.0, 20.0, 30.0])
    b.start_tree()
    b.start_node(0)
    b.numerical_test(feature_id=0, threshold=t0, default_left=True, opname="<", left_child_key=1,
                     right_child_key=2)
    b.end_node()
    b.start_node(1)
    b.leaf(leaves[0])
    b.end_node()
    b.start_node(2)
    b.numerical_test(feature_id=1, threshold=t1, default_left=True, opname="<", left_child_key=3,
                     right_child_key=4)
    b.end_node()
    for key, value in ((3, leaves[1]), (4, leaves[2])):
        b.start_node(key)
        b.leaf(value)
        b.end_node()
    b.end_tree()
    return b.commit()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The two trees compiled to shared libraries with gcc (about a second each)."""
    import tl2cgen

    root = tmp_path_factory.mktemp("models")
    out = {}
    for kind, t0, t1 in (("values", 100, 50), ("classes", 100, 50), ("reflectance", 1000, 2000)):
        path = root / f"{kind}.so"
        tl2cgen.export_lib(_tree("classes" if kind == "classes" else "values", t0, t1), toolchain="gcc",
                           libpath=str(path), nthread=1)
        out[kind] = path
    return out


def _leaf(f0: np.ndarray, f1: np.ndarray) -> np.ndarray:
    """Which leaf (0, 1, 2) the tree picks: the same rule, in numpy."""
    return np.where(f0 < 100, 0, np.where(f1 < 50, 1, 2))


def inputs(rng: np.random.Generator, t: int = 5):
    a = rng.integers(0, 200, (t, 6, 7)).astype("int16")
    b = rng.integers(0, 100, (t, 6, 7)).astype("int16")
    a[rng.random(a.shape) < 0.1] = -999
    mask = (rng.random(a.shape) < 0.8).astype("uint8")
    return stack({"a": a, "b": b, "veg": mask}, {"a": {"nodata": -999}, "b": {"nodata": -999}})


def test_regression_is_the_median_of_the_model_over_time(rng, models):
    xx = inputs(rng)
    p = resolve_plugin("model-pixel", model_path=str(models["values"]), bands=["a", "b"], ptype="regression",
                       output_band="woody", mask_band="veg")
    out = run_ours(p, xx)["woody"]
    a, b, veg = (xx[k].values for k in ("a", "b", "veg"))
    use = (a != -999) & (veg == 1)
    per_obs = np.where(use, np.array([10.0, 20.0, 30.0])[_leaf(a, b)], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels never predicted
        want = np.nanmedian(per_obs, axis=0)
    np.testing.assert_array_equal(out.values, want.astype("float32"))
    assert out.dtype == np.float32 and np.isnan(p.output_nodata()["woody"])
    assert p.input_bands == ("a", "b", "veg") and p.resampling_for("veg") == "nearest"


def test_classes_are_the_most_frequent_prediction(rng, models):
    xx = inputs(rng, t=7)
    p = resolve_plugin("model-pixel", model_path=str(models["classes"]), bands=["a", "b"],
                       output_classes={0: 111, 1: 112, 2: 215})
    out = run_ours(p, xx)["predict_output"].values
    a, b = xx["a"].values, xx["b"].values
    leaf = np.where(a != -999, _leaf(a, b), -1)
    for y, x in np.ndindex(out.shape):
        counts = np.bincount(leaf[:, y, x][leaf[:, y, x] >= 0], minlength=3)
        want = [111, 112, 215][counts.argmax()] if counts.sum() else 255
        assert out[y, x] == want, (y, x, counts)
    assert out.dtype == np.uint8 and p.output_nodata() == {"predict_output": 255}
    assert p.categorical_bands == ("predict_output",)


class Halves:
    """A model in plain Python: class 1 where the first feature is above 100."""

    def __init__(self, path: str):
        self.threshold = float(open(path).read())

    def predict(self, features: np.ndarray) -> np.ndarray:
        return (features[:, :1] > self.threshold).astype("float32")


def test_model_loader_opens_any_format(rng, tmp_path):
    path = tmp_path / "threshold.txt"
    path.write_text("100")
    p = resolve_plugin("model-pixel", model_path=str(path), model_loader=f"{__name__}.Halves", bands=["a"])
    assert isinstance(p.predictor, Predictor) and isinstance(p, ModelPlugin)
    xx = inputs(rng, t=1)
    out = run_ours(p, xx)["predict_output"].values
    a = xx["a"].values[0]
    assert (out == np.where(a == -999, 255, (a > 100).astype("uint8"))).all()


def test_configuration_errors_name_the_model(models, tmp_path):
    with pytest.raises(ConfigError, match="needs plugin_config key"):
        resolve_plugin("model-pixel", bands=["a"])
    with pytest.raises(ConfigError, match="nowhere.so.*no such file"):
        resolve_plugin("model-pixel", model_path=str(tmp_path / "nowhere.so"), bands=["a"])
    odd = tmp_path / "model.pkl"
    odd.write_bytes(b"x")
    with pytest.raises(ConfigError, match="unknown model format '.pkl'.*model_loader"):
        resolve_plugin("model-pixel", model_path=str(odd), bands=["a"])
    broken = tmp_path / "broken.so"
    broken.write_bytes(b"not a library")
    with pytest.raises(ConfigError, match="broken.so.*cannot load"):
        load_predictor(broken)
    flat = tmp_path / "broken.tflite"  # the TFLite opener is ai-edge-litert's Interpreter
    flat.write_bytes(b"not a flatbuffer")
    with pytest.raises(ConfigError, match="broken.tflite.*cannot load"):
        load_predictor(flat)
    with pytest.raises(ConfigError, match="ptype"):
        resolve_plugin("model-pixel", model_path=str(models["values"]), bands=["a"], ptype="probability")
    p = resolve_plugin("model-pixel", model_path=str(models["values"]), bands=["a"], ptype="regression")
    with pytest.raises(InputError, match="takes 2 features, got 1"):
        p.predict(np.zeros((3, 1), "float32"))


def test_odc_stats_run_with_a_model_on_generated_landsat(models, tmp_path_factory, tmp_path):
    """``odc-stats run --plugin model-pixel``: the model opens in the task's worker process
    and every pixel of the COG is the median of the tree's answers over the observations."""
    import rasterio
    from datacube.storage import BandInfo

    from statscore.run import TaskReader

    from .test_ndvi_median import _on_tile, ard_task, run_cli

    db = ard_task(tmp_path_factory)
    cfg = {"model_path": str(models["reflectance"]), "bands": ["nbart_red", "nbart_nir"], "ptype": "regression",
           "output_band": "woody"}
    r = run_cli(db, "model-pixel", cfg, tmp_path / "out")
    assert r.returncode == 0, r.stderr[-3000:]
    (item,) = (tmp_path / "out").rglob("*.stac-item.json")
    with rasterio.open(str(item)[: -len(".stac-item.json")] + "_woody.tif") as src:
        assert src.dtypes[0] == "float32"
        got = src.read(1)
    reader = TaskReader(str(db))
    (tile, ids), = reader.tasks.items()
    gbox = reader.gridspec.tile_geobox((tile.x, tile.y))
    dss = sorted((reader.cache.get(u) for u in ids), key=lambda ds: ds.center_time)
    red, nir = (np.stack([_on_tile(BandInfo(ds, b).uri, gbox) for ds in dss]) for b in ("nbart_red", "nbart_nir"))
    leaf = np.where(red < 1000, 0, np.where(nir < 2000, 1, 2))
    per_obs = np.where((red != -999) & (nir != -999), np.array([10.0, 20.0, 30.0])[leaf], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanmedian(per_obs, axis=0).astype("float32")
    np.testing.assert_array_equal(got, want)
    assert len(np.unique(got[np.isfinite(got)])) >= 3  # the tree's branches all show up
