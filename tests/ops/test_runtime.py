"""The runtime model: least squares with non-negative coefficients, per plugin and thread count."""

from __future__ import annotations

import pytest

from statscore.errors import ConfigError
from statscore.ops.runtime import RuntimeModel, TimedTask, default_model, fit, load_model


def _points(a: float, b: float, c: float) -> list[TimedTask]:
    sizes = [(65_536, 40), (262_144, 40), (1_048_576, 40), (65_536, 12), (1_048_576, 25)]
    return [TimedTask(pixels=px, observations=px * d, seconds=a + b * px * d + c * px) for px, d in sizes]


def test_fit_recovers_the_coefficients():
    a, b, c = fit(_points(1.5, 2e-7, 3e-6))
    assert (a, b, c) == pytest.approx((1.5, 2e-7, 3e-6), rel=1e-6)


def test_fit_keeps_coefficients_non_negative():
    # time falls with pixels: no negative slope, the best non-negative fit instead
    pts = [TimedTask(pixels=p, observations=p * 10, seconds=s) for p, s in ((1e4, 5.0), (1e5, 4.0), (1e6, 3.0))]
    a, b, c = fit(pts)
    assert a >= 0 and b >= 0 and c >= 0
    assert a == pytest.approx(4.0)  # the mean: a constant is the best fit with slopes >= 0


def test_one_point_gives_a_constant_and_none_is_an_error():
    assert fit([TimedTask(pixels=10, observations=100, seconds=2.5)]) == (2.5, 0.0, 0.0)
    with pytest.raises(ConfigError):
        fit([])


def test_written_model_reads_back_and_picks_the_nearest_thread_count(tmp_path):
    m = RuntimeModel.fitted("pq", 2, _points(1.0, 1e-7, 0.0), {"host": "here"})
    m = RuntimeModel.fitted("pq", 8, _points(0.5, 3e-8, 0.0), {"host": "here"}, base=m)
    m.write(tmp_path / "m.yaml", header="# test")
    back = load_model(tmp_path / "m.yaml")
    assert back.get("pq", 2).intercept == pytest.approx(1.0) and len(back.get("pq", 2).points) == 5
    assert back.get("pq", 3).threads == 2 and back.get("pq", 6).threads == 8 and back.get("pq", 16).threads == 8
    with pytest.raises(ConfigError, match="no calibration for plugin 'gm-ls'"):
        back.get("gm-ls", 2)
    assert RuntimeModel.from_mapping(back.coefficients()).get("pq", 8).per_observation == pytest.approx(3e-8)


def test_the_shipped_model_covers_gm_s2_and_pq():
    m = default_model()
    for plugin in ("gm-s2", "pq"):
        pm = m.get(plugin, 2)
        assert pm.threads == 2 and len(pm.points) >= 2 and pm.calibrated["cpu"]
        assert pm.seconds(1_048_576, 40 * 1_048_576) > pm.seconds(65_536, 40 * 65_536) > 0
