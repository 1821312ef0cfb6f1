"""Numba kernels: per-pixel geometric median (Weiszfeld + Vardi-Zhang) and MADs.

One pixel's valid observations are gathered once into a small (band, obs) float32
buffer that stays in L1; the iteration, the three MADs and the count all run on it,
so the stack is read from memory exactly once. Rows are shared between threads with
``prange``. Every pixel starts from the mean of its own valid observations, so results
do not depend on pixel order or block boundaries.

Units: all values inside the kernels are "reflectance": ``DN * scale + offset`` for
integer input, the raw value for float input. ``eps`` is in the same units.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# Reassociation/contraction let LLVM vectorise the reductions over observations;
# no 'nnan'/'ninf': missing data is detected with NaN tests.
_FM = {"contract", "reassoc", "arcp", "nsz", "afn"}

_BIG = 2.0**40
_SMALL = 2.0**-40


@njit(cache=True, nogil=True, inline="always")
def _is_valid(v, nodata, has_nodata):
    """Not the nodata value and finite (NaN and +-inf are missing in float data)."""
    if has_nodata and v == nodata:
        return False
    return math.isfinite(np.float64(v))


@njit(cache=True, nogil=True)
def _gather(X, r, c, nodata, has_nodata, is_float, scale, offset, weight, xs, wv):
    """Copy pixel (r, c)'s observations with every band valid into ``xs[:, :nv]``.

    Integer data become ``DN * scale + offset``. Returns ``(nv, k)`` where the data in
    ``xs`` were multiplied by ``2**-k`` (k != 0 only for extreme magnitudes, so that
    squared distances neither overflow nor underflow in float32; the power of two keeps
    the scaling exact).
    """
    p = X.shape[2]
    n = X.shape[3]
    nv = 0
    big = 0.0
    for t in range(n):
        ok = True
        for j in range(p):
            if not _is_valid(X[r, c, j, t], nodata, has_nodata):
                ok = False
                break
        if not ok:
            continue
        for j in range(p):
            v = X[r, c, j, t]
            if is_float:
                f = np.float32(v)
            else:
                f = np.float32(v * scale + offset)
            xs[j, nv] = f
            a = abs(f)
            if a > big:
                big = a
        wv[nv] = weight[t]
        nv += 1
    k = 0
    if nv > 0 and (big > _BIG or (big < _SMALL and big > 0.0)):
        k = math.frexp(big)[1]
        f = np.float32(math.ldexp(1.0, -k))
        for j in range(p):
            for i in range(nv):
                xs[j, i] = xs[j, i] * f
    return nv, k


@njit(cache=True, nogil=True, fastmath=_FM)
def _weiszfeld(xs, nv, wobs, eps, maxiters, y, d, w, R):
    """Geometric median of ``xs[:, :nv]`` (weights ``wobs``) into ``y``; returns iterations.

    Starts from the weighted mean. Each step is the Vardi-Zhang modification of
    Weiszfeld's: observations that coincide with the iterate are left out of the
    Weiszfeld average and pull it back by their weight, so the iteration neither
    divides by zero nor sticks at a non-optimal observation. Stops when the step's
    Euclidean length is below ``eps`` or after ``maxiters`` steps.
    """
    p = xs.shape[0]
    wsum = 0.0
    for i in range(nv):
        wsum += wobs[i]
    for j in range(p):
        acc = 0.0
        for i in range(nv):
            acc += np.float64(xs[j, i]) * wobs[i]
        y[j] = np.float32(acc / wsum) if wsum > 0 else np.float32(np.nan)
    if nv <= 1 or not wsum > 0:
        return 0
    eps2 = eps * eps
    it = 0
    while it < maxiters:
        it += 1
        for i in range(nv):
            d[i] = np.float32(0.0)
        for j in range(p):
            yj = y[j]
            for i in range(nv):
                t = xs[j, i] - yj
                d[i] += t * t
        W = np.float32(0.0)
        eta = np.float32(0.0)
        for i in range(nv):
            di = d[i]
            if di > 0:
                wi = wobs[i] / np.sqrt(di)
            else:
                wi = np.float32(0.0)
                eta += wobs[i]
            w[i] = wi
            W += wi
        if not W > 0:  # every observation with weight sits on the iterate
            break
        rr = 0.0
        for j in range(p):
            yj = y[j]
            s = np.float32(0.0)
            for i in range(nv):
                s += (xs[j, i] - yj) * w[i]
            R[j] = s
            rr += np.float64(s) * s
        if eta > 0:  # Vardi-Zhang: iterate on an observation
            r = math.sqrt(rr)
            fac = max(0.0, 1.0 - eta / r) if r > 0 else 0.0
        else:
            fac = 1.0
        fac = fac / W
        step2 = 0.0
        for j in range(p):
            st = np.float32(R[j] * fac)
            y[j] += st
            step2 += np.float64(st) * st
        if step2 < eps2:
            break
    return it


@njit(cache=True, nogil=True, inline="always")
def _insertion_sort(a, n):
    for i in range(1, n):
        v = a[i]
        k = i - 1
        while k >= 0 and a[k] > v:
            a[k + 1] = a[k]
            k -= 1
        a[k + 1] = v


@njit(cache=True, nogil=True)
def _nanmedian_small(a, n):
    """Median of the non-NaN values in ``a[:n]`` (mean of the middle two for an even
    count, as ``np.nanmedian``); reorders ``a``. NaN when none."""
    m = 0
    for i in range(n):
        if not math.isnan(a[i]):
            a[m] = a[i]
            m += 1
    if m == 0:
        return np.nan
    _insertion_sort(a, m)
    h = m // 2
    if m % 2 == 1:
        return np.float64(a[h])
    return 0.5 * (np.float64(a[h - 1]) + np.float64(a[h]))


@njit(cache=True, nogil=True)
def _mads(xs, nv, m, k, sm, em, bc, out, o):
    """smad, emad, bcmad of ``xs[:, :nv]`` around ``m`` into ``out[o:o+3]``.

    Per observation, in float64: smad 1 - cos(x, m); emad ||x - m|| (undoing the
    ``2**-k`` scaling); bcmad sum|x - m| / sum|x + m|. Each MAD is the median over
    observations (undefined ratios, e.g. a zero vector, are skipped like NaN).
    """
    p = xs.shape[0]
    mm = 0.0
    for j in range(p):
        mm += np.float64(m[j]) * m[j]
    mnorm = math.sqrt(mm)
    back = math.ldexp(1.0, k)
    for i in range(nv):
        dot = 0.0
        xx = 0.0
        e2 = 0.0
        num = 0.0
        den = 0.0
        for j in range(p):
            x = np.float64(xs[j, i])
            mj = np.float64(m[j])
            dot += x * mj
            xx += x * x
            e = x - mj
            e2 += e * e
            num += abs(e)
            den += abs(x + mj)
        nrm = math.sqrt(xx) * mnorm
        sm[i] = 1.0 - dot / nrm if nrm > 0 else np.nan
        em[i] = math.sqrt(e2) * back
        bc[i] = num / den if den > 0 else np.nan
    out[o] = _nanmedian_small(sm, nv)
    out[o + 1] = _nanmedian_small(em, nv)
    out[o + 2] = _nanmedian_small(bc, nv)


@njit(cache=True, nogil=True, parallel=True)
def gm_mads_rows(
    X, nodata, has_nodata, is_float, scale, offset, weight, eps, maxiters,
    want_mads, gm, mads, count, iters,
):
    """Geomedian (+ MADs) of every pixel of ``X`` (y, x, band, time; any strides).

    Writes ``gm`` (y, x, band) float32 in reflectance units, NaN where no observation
    is valid; when ``want_mads``, ``mads`` (y, x, 3) float32 = smad, emad (reflectance
    units), bcmad; ``count`` (y, x) valid observations; ``iters`` (y, x) Weiszfeld
    steps taken.
    """
    ny, nx, p, n = X.shape
    for r in prange(ny):
        xs = np.empty((p, max(n, 1)), dtype=np.float32)
        wv = np.empty(max(n, 1), dtype=np.float32)
        d = np.empty(max(n, 1), dtype=np.float32)
        w = np.empty(max(n, 1), dtype=np.float32)
        sm = np.empty(max(n, 1), dtype=np.float64)
        em = np.empty(max(n, 1), dtype=np.float64)
        bc = np.empty(max(n, 1), dtype=np.float64)
        y = np.empty(p, dtype=np.float32)
        R = np.empty(p, dtype=np.float32)
        o3 = np.empty(3, dtype=np.float64)
        for c in range(nx):
            nv, k = _gather(X, r, c, nodata, has_nodata, is_float, scale, offset, weight, xs, wv)
            count[r, c] = nv
            if nv == 0:
                for j in range(p):
                    gm[r, c, j] = np.nan
                iters[r, c] = 0
                if want_mads:
                    for q in range(3):
                        mads[r, c, q] = np.nan
                continue
            epsk = eps * math.ldexp(1.0, -k)
            iters[r, c] = _weiszfeld(xs, nv, wv, epsk, maxiters, y, d, w, R)
            back = math.ldexp(1.0, k)
            for j in range(p):
                gm[r, c, j] = np.float32(y[j] * back) if k != 0 else y[j]
            if want_mads:
                _mads(xs, nv, y, k, sm, em, bc, o3, 0)
                for q in range(3):
                    mads[r, c, q] = np.float32(o3[q])


@njit(cache=True, nogil=True, parallel=True)
def mads_rows(X, G, nodata, has_nodata, is_float, scale, offset, mads):
    """smad, emad, bcmad (y, x, 3) of ``X`` around a given geomedian ``G`` (y, x, band)
    in reflectance units; NaN where no observation is valid."""
    ny, nx, p, n = X.shape
    ones = np.ones(max(n, 1), dtype=np.float32)
    for r in prange(ny):
        xs = np.empty((p, max(n, 1)), dtype=np.float32)
        wv = np.empty(max(n, 1), dtype=np.float32)
        sm = np.empty(max(n, 1), dtype=np.float64)
        em = np.empty(max(n, 1), dtype=np.float64)
        bc = np.empty(max(n, 1), dtype=np.float64)
        m = np.empty(p, dtype=np.float32)
        o3 = np.empty(3, dtype=np.float64)
        for c in range(nx):
            nv, k = _gather(X, r, c, nodata, has_nodata, is_float, scale, offset, ones, xs, wv)
            f = math.ldexp(1.0, -k)
            for j in range(p):
                m[j] = np.float32(G[r, c, j] * f)
            _mads(xs, nv, m, k, sm, em, bc, o3, 0)
            for q in range(3):
                mads[r, c, q] = np.float32(o3[q])
