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

# Over-relaxation of the Weiszfeld step, y + RELAX * (T - y): Ostresh (1978, Oper. Res.
# 26:597) shows every step length in [1, 2] still decreases the objective; 1.3 cut the
# mean iterations on reflectance stacks by ~28% (13.4 -> 9.7 at eps 1e-5) with smaller
# final errors; larger values start to oscillate.
RELAX = 1.3
_LANES = 16  # float32 lanes of a 512-bit vector; buffers are padded to a multiple
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

    Starts from the weighted mean. Each step is Weiszfeld's, over-relaxed by ``RELAX``;
    when the iterate sits on observations it is the Vardi-Zhang step instead: observations that coincide with the iterate are left out of the
    Weiszfeld average and pull it back by their weight, so the iteration neither
    divides by zero nor sticks at a non-optimal observation. Stops when the step's
    Euclidean length is below ``eps`` or after ``maxiters`` steps.
    """
    p = xs.shape[0]
    wsum = 0.0
    for i in range(nv):
        wsum += wobs[i]
    # pad to a multiple of the SIMD width with zero-weight observations at the origin:
    # they add nothing to any sum, and the loops below run without scalar remainders
    npad = min((nv + _LANES - 1) // _LANES * _LANES, xs.shape[1])
    for i in range(nv, npad):
        wobs[i] = np.float32(0.0)
        for j in range(p):
            xs[j, i] = np.float32(0.0)
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
        for i in range(npad):
            d[i] = np.float32(0.0)
        for j in range(p):
            yj = y[j]
            for i in range(npad):
                t = xs[j, i] - yj
                d[i] += t * t
        W = np.float32(0.0)
        eta = np.float32(0.0)
        for i in range(npad):
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
            for i in range(npad):
                s += (xs[j, i] - yj) * w[i]
            R[j] = s
            rr += np.float64(s) * s
        if eta > 0:  # Vardi-Zhang: iterate on an observation
            r = math.sqrt(rr)
            fac = max(0.0, 1.0 - eta / r) if r > 0 else 0.0
        else:
            fac = RELAX
        fac = fac / W
        step2 = 0.0
        for j in range(p):
            st = np.float32(R[j] * fac)
            y[j] += st
            step2 += np.float64(st) * st
        if step2 < eps2:
            break
    return it


@njit(cache=True, nogil=True)
def _select(a, n, k):
    """Reorder ``a[:n]`` so that ``a[k]`` is the k-th smallest (Hoare's quickselect,
    median-of-three pivot); everything before it is <= and after it >=."""
    lo = 0
    hi = n - 1
    while hi > lo:
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@njit(cache=True, nogil=True)
def _nanmedian_small(a, n, rank):
    """Median of the non-NaN values in ``a[:n]`` (mean of the middle two for an even
    count, as ``np.nanmedian``); reorders ``a``. NaN when none.

    ``a`` must have room for ``n`` rounded up to a multiple of ``_LANES``.
    Up to 64 values, by counting ranks: every pair is compared without branches
    (vectorised), which beats a quickselect's unpredictable branches at these sizes.
    """
    m = 0
    for i in range(n):
        if not math.isnan(a[i]):
            a[m] = a[i]
            m += 1
    if m == 0:
        return np.nan
    h = m // 2
    if m > 64:
        _select(a, m, h)
        hi = a[h]
        if m % 2 == 1:
            return np.float64(hi)
        lo = a[0]  # the largest of a[:h], all <= a[h]
        for i in range(1, h):
            if a[i] > lo:
                lo = a[i]
        return 0.5 * (np.float64(lo) + np.float64(hi))
    mpad = (m + _LANES - 1) // _LANES * _LANES  # a has room: buffers are padded
    for j in range(m, mpad):
        a[j] = np.inf  # never below a value, ties lose on position
    # rank[i] = #{j: a[j] < a[i], or equal and j < i}: vectorised over i (no horizontal
    # sums), four j per pass (the +inf padding makes any j beyond m count nothing)
    for i in range(mpad):
        rank[i] = np.int32(0)
    for j in range(0, m, 4):
        a0 = a[j]
        a1 = a[j + 1]
        a2 = a[j + 2]
        a3 = a[j + 3]
        for i in range(mpad):
            ai = a[i]
            rank[i] += (np.int32((a0 < ai) | ((a0 == ai) & (j < i)))
                        + np.int32((a1 < ai) | ((a1 == ai) & (j + 1 < i)))
                        + np.int32((a2 < ai) | ((a2 == ai) & (j + 2 < i)))
                        + np.int32((a3 < ai) | ((a3 == ai) & (j + 3 < i))))
    hi = np.float32(0.0)
    lo = np.float32(0.0)
    for i in range(m):
        if rank[i] == h:
            hi = a[i]
        if rank[i] == h - 1:
            lo = a[i]
    if m % 2 == 1:
        return np.float64(hi)
    return 0.5 * (np.float64(lo) + np.float64(hi))


@njit(cache=True, nogil=True, fastmath=_FM)
def _mads(xs, nv, m, k, sm, em, bc, den, xx, rank, out):
    """smad, emad, bcmad of ``xs[:, :nv]`` around ``m`` into ``out[0:3]``.

    Per observation: smad 1 - cos(x, m); emad ||x - m|| (undoing the ``2**-k``
    scaling); bcmad sum|x - m| / sum|x + m|. Each MAD is the median over observations
    (undefined ratios, e.g. a zero vector, are skipped like NaN). The sums run over
    bands for all observations at once (vectorised, float32: MADs need ~1e-6).
    """
    p = xs.shape[0]
    mm = 0.0
    for j in range(p):
        mm += np.float64(m[j]) * m[j]
    mnorm = np.float32(math.sqrt(mm))
    back = np.float32(math.ldexp(1.0, k))
    for i in range(nv):
        sm[i] = np.float32(0.0)  # x . m
        em[i] = np.float32(0.0)  # ||x - m||^2
        bc[i] = np.float32(0.0)  # sum |x - m|
    for i in range(nv):
        den[i] = np.float32(0.0)  # sum |x + m|
        xx[i] = np.float32(0.0)  # ||x||^2
    for j in range(p):
        mj = m[j]
        for i in range(nv):
            x = xs[j, i]
            e = x - mj
            sm[i] += x * mj
            em[i] += e * e
            bc[i] += abs(e)
            den[i] += abs(x + mj)
            xx[i] += x * x
    for i in range(nv):
        nrm = np.sqrt(xx[i]) * mnorm
        sm[i] = np.float32(1.0) - sm[i] / nrm if nrm > 0 else np.float32(np.nan)
        em[i] = np.sqrt(em[i]) * back
        bc[i] = bc[i] / den[i] if den[i] > 0 else np.float32(np.nan)
    out[0] = _nanmedian_small(sm, nv, rank)
    out[1] = _nanmedian_small(em, nv, rank)
    out[2] = _nanmedian_small(bc, nv, rank)


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
        npad = (max(n, 1) + _LANES - 1) // _LANES * _LANES
        xs = np.empty((p, npad), dtype=np.float32)
        wv = np.empty(npad, dtype=np.float32)
        d = np.empty(npad, dtype=np.float32)
        w = np.empty(npad, dtype=np.float32)
        sm = np.empty(npad, dtype=np.float32)
        em = np.empty(npad, dtype=np.float32)
        bc = np.empty(npad, dtype=np.float32)
        y = np.empty(p, dtype=np.float32)
        R = np.empty(p, dtype=np.float32)
        den = np.empty(max(n, 1), dtype=np.float32)
        xx = np.empty(max(n, 1), dtype=np.float32)
        rank = np.empty(npad, dtype=np.int32)  # _nanmedian_small ranks the padded lanes too
        o3 = np.empty(3, dtype=np.float32)
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
                _mads(xs, nv, y, k, sm, em, bc, den, xx, rank, o3)
                for q in range(3):
                    mads[r, c, q] = np.float32(o3[q])


@njit(cache=True, nogil=True, parallel=True)
def mads_rows(X, G, nodata, has_nodata, is_float, scale, offset, mads):
    """smad, emad, bcmad (y, x, 3) of ``X`` around a given geomedian ``G`` (y, x, band)
    in reflectance units; NaN where no observation is valid."""
    ny, nx, p, n = X.shape
    ones = np.ones(max(n, 1), dtype=np.float32)
    for r in prange(ny):
        npad = (max(n, 1) + _LANES - 1) // _LANES * _LANES
        xs = np.empty((p, max(n, 1)), dtype=np.float32)
        wv = np.empty(max(n, 1), dtype=np.float32)
        sm = np.empty(npad, dtype=np.float32)
        em = np.empty(npad, dtype=np.float32)
        bc = np.empty(npad, dtype=np.float32)
        m = np.empty(p, dtype=np.float32)
        den = np.empty(max(n, 1), dtype=np.float32)
        xx = np.empty(max(n, 1), dtype=np.float32)
        rank = np.empty(npad, dtype=np.int32)  # _nanmedian_small ranks the padded lanes too
        o3 = np.empty(3, dtype=np.float32)
        for c in range(nx):
            nv, k = _gather(X, r, c, nodata, has_nodata, is_float, scale, offset, ones, xs, wv)
            f = math.ldexp(1.0, -k)
            for j in range(p):
                m[j] = np.float32(G[r, c, j] * f)
            _mads(xs, nv, m, k, sm, em, bc, den, xx, rank, o3)
            for q in range(3):
                mads[r, c, q] = np.float32(o3[q])


@njit(cache=True, nogil=True, parallel=True)
def copy_rows(src, dst):
    """dst[r, t, :] = src[t, r, :] for a (time, rows, x) block, rows in parallel."""
    nt, ny, nx = src.shape
    for r in prange(ny):
        for t in range(nt):
            for c in range(nx):
                dst[r, t, c] = src[t, r, c]
