"""Numba kernels: geometric median (Weiszfeld + Vardi-Zhang) and MADs of image stacks.

The geomedian iterates :data:`PIXEL_LANES` pixels at once, one per SIMD lane: their
valid observations sit in an (obs, band, lane) float32 buffer (about 100 KiB: L2) and
every inner loop runs over the lanes, so each operation of an iteration is a few vector
instructions with no horizontal sums. Each pixel keeps its own stopping rule; a lane
whose pixel has converged takes the next pixel at once. The MADs and the count of a
pixel are computed when it leaves its lane, on its observations (one pixel at a time,
vectorised over observations). The stack is read from memory once. Rows are shared
between threads with ``prange``. Every pixel starts from the mean of its own valid
observations, so results do not depend on pixel order, lanes or block boundaries.

Units: all values inside the kernels are "reflectance": ``DN * scale + offset`` for
integer input, the raw value for float input. ``eps`` is in the same units.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic

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


@intrinsic
def _sqrt(typingctx, x):
    """``llvm.sqrt`` itself: numba's ``np.sqrt`` calls libm's ``sqrtf``, which LLVM does
    not vectorise (it may set errno)."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.sqrt", [args[0].type])
        return builder.call(fn, args)

    return x(x), codegen


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


@njit(cache=True, nogil=True, error_model="numpy")
def _gather_lane(X, r, c, nodata, has_nodata, is_float, scale, offset, weight, xs, wv, l,
                 ok, conv):
    """:func:`_gather` straight into lane ``l`` of ``xs`` (obs, band, lane), weights into
    ``wv[:, l]``; returns ``(nv, k)``. Slots after the previous occupant's ``nv`` keep
    zero weight; the caller zeroes those between the new and the old ``nv``.

    Two passes: validity and conversion of every value, branch-free and vectorised over
    time (``ok`` (time,) and ``conv`` (band, time) are work buffers), then the valid
    dates copied into the lane.
    """
    p = X.shape[2]
    n = X.shape[3]
    for t in range(n):
        ok[t] = np.uint8(1)
    for j in range(p):
        for t in range(n):
            v = X[r, c, j, t]
            good = np.uint8(math.isfinite(np.float64(v)))
            if has_nodata:
                good &= np.uint8(v != nodata)
            ok[t] &= good
            conv[j, t] = np.float32(v) if is_float else np.float32(v * scale + offset)
    nv = 0
    big = np.float32(0.0)
    for t in range(n):
        if ok[t]:
            for j in range(p):
                f = conv[j, t]
                xs[nv, j, l] = f
                big = max(big, abs(f))
            wv[nv, l] = weight[t]
            nv += 1
    k = 0
    if nv > 0 and (big > _BIG or (big < _SMALL and big > 0.0)):
        k = math.frexp(big)[1]
        f = np.float32(math.ldexp(1.0, -k))
        for i in range(nv):
            for j in range(p):
                xs[i, j, l] = xs[i, j, l] * f
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


#: Pixels iterated together by :func:`gm_mads_rows`, one per SIMD lane: four 512-bit
#: vectors of float32 per band and observation, so the vectorised loops run whole (a
#: single vector's worth leaves LLVM's loops in their scalar remainders); the lanes'
#: observations, (obs, band, lane), take about 100 KiB at 40 dates: L2.
PIXEL_LANES = 64
#: Contiguous runs of rows a call splits its rows into, shared out among the threads;
#: each is one stream of pixels through the lanes (only its end leaves lanes idle).
_STREAMS = 8


@njit(cache=True, nogil=True, fastmath=_FM, error_model="numpy")
def _lanes_step(xs, wv, nmax, y, R, dd, ww, W, eta, rr):
    """One Weiszfeld pass over observations ``0..nmax`` for every lane at once.

    ``xs`` is (obs, band, lane), ``wv`` (obs, lane): lane ``l`` holds one pixel's valid
    observations in ``xs[:nv, :, l]`` and zero weights after them. Accumulates into
    ``R`` (band, lane) the weighted residual sum, ``W`` the weights, ``eta`` the weight
    of observations on the iterate, ``rr`` (float64) ``||R||^2``. Every inner loop runs
    over the lanes (pixels), so it is one vector operation per band: no horizontal sums.
    """
    p = xs.shape[1]
    L = xs.shape[2]
    for j in range(p):
        for l in range(L):
            R[j, l] = np.float32(0.0)
    for l in range(L):
        W[l] = np.float32(0.0)
        eta[l] = np.float32(0.0)
    for i in range(nmax):
        for l in range(L):
            dd[l] = np.float32(0.0)
        for j in range(p):
            for l in range(L):
                t = xs[i, j, l] - y[j, l]
                dd[l] += t * t
        for l in range(L):
            # branch-free (so that it vectorises): an observation on the iterate
            # (d == 0) gets no Weiszfeld weight and counts in eta instead
            di = dd[l]
            wo = wv[i, l]
            on = np.float32(di <= np.float32(0.0))
            wi = (wo - wo * on) / _sqrt(di + on)
            eta[l] += wo * on
            W[l] += wi
            ww[l] = wi
        for j in range(p):
            for l in range(L):
                R[j, l] += (xs[i, j, l] - y[j, l]) * ww[l]
    for l in range(L):
        rr[l] = 0.0
    for j in range(p):
        for l in range(L):
            rr[l] += np.float64(R[j, l]) * R[j, l]


@njit(cache=True, nogil=True)
def _lanes_update(y, R, W, eta, rr, step2, fac, active):
    """Move every active lane's iterate by its step (Weiszfeld over-relaxed, or
    Vardi-Zhang when it sits on observations); ``step2`` gets the step's squared length."""
    p = y.shape[0]
    L = y.shape[1]
    for l in range(L):
        step2[l] = 0.0
        if active[l] and W[l] > 0:
            if eta[l] > 0:
                r = math.sqrt(rr[l])
                f = max(0.0, 1.0 - eta[l] / r) if r > 0 else 0.0
            else:
                f = RELAX
            fac[l] = np.float32(f / W[l])
        else:
            fac[l] = np.float32(0.0)
    for j in range(p):
        for l in range(L):
            st = np.float32(R[j, l] * fac[l])
            y[j, l] += st
            step2[l] += np.float64(st) * st


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

    The rows are cut into a few runs that the threads share; in each run
    :data:`PIXEL_LANES` pixels iterate together, one per SIMD lane, and a lane whose
    pixel has converged (by its own stopping rule: a step shorter than ``eps``, or
    ``maxiters``) takes the run's next pixel at once, so no lane waits for the slowest.
    """
    ny, nx, p, n = X.shape
    nrun = min(ny, _STREAMS)
    for q in prange(nrun):
        r0 = ny * q // nrun
        r1 = ny * (q + 1) // nrun
        _gm_stream(X, r0 * nx, r1 * nx, nodata, has_nodata, is_float, scale, offset, weight,
                   eps, maxiters, want_mads, gm, mads, count, iters)


@njit(cache=True, nogil=True)
def _gm_stream(X, q0, q1, nodata, has_nodata, is_float, scale, offset, weight, eps, maxiters,
               want_mads, gm, mads, count, iters):
    """Pixels ``q0 .. q1`` (flat, row-major) of ``X`` through the lanes."""
    ny, nx, p, n = X.shape
    L = PIXEL_LANES
    nb = max(n, 1)
    npad = (nb + _LANES - 1) // _LANES * _LANES
    # one pixel's observations (band, obs), as gathered; MAD work buffers
    tmp = np.empty((p, npad), dtype=np.float32)
    tw = np.empty(npad, dtype=np.float32)
    sm = np.empty(npad, dtype=np.float32)
    em = np.empty(npad, dtype=np.float32)
    bc = np.empty(npad, dtype=np.float32)
    den = np.empty(nb, dtype=np.float32)
    xx = np.empty(nb, dtype=np.float32)
    rank = np.empty(npad, dtype=np.int32)
    o3 = np.empty(3, dtype=np.float32)
    ypix = np.empty(p, dtype=np.float32)
    # lane state: zero-filled so that unused slots are finite with zero weight
    xs = np.zeros((nb, p, L), dtype=np.float32)
    wv = np.zeros((nb, L), dtype=np.float32)
    y = np.zeros((p, L), dtype=np.float32)
    R = np.zeros((p, L), dtype=np.float32)
    dd = np.zeros(L, dtype=np.float32)
    ww = np.zeros(L, dtype=np.float32)
    W = np.zeros(L, dtype=np.float32)
    eta = np.zeros(L, dtype=np.float32)
    fac = np.zeros(L, dtype=np.float32)
    rr = np.zeros(L, dtype=np.float64)
    step2 = np.zeros(L, dtype=np.float64)
    eps2 = np.zeros(L, dtype=np.float64)
    pix = np.full(L, -1, dtype=np.int64)
    lnv = np.zeros(L, dtype=np.int64)
    lk = np.zeros(L, dtype=np.int64)
    lit = np.zeros(L, dtype=np.int64)
    active = np.zeros(L, dtype=np.bool_)
    acc = np.zeros(p, dtype=np.float64)
    ok = np.empty(nb, dtype=np.uint8)
    conv = np.empty((p, nb), dtype=np.float32)
    nxt = q0
    for l in range(L):
        nxt = _lanes_fill(X, nxt, q1, l, nodata, has_nodata, is_float, scale, offset, weight,
                          eps, maxiters, want_mads, gm, mads, count, iters, tmp, tw, sm, em, bc,
                          den, xx, rank, o3, ypix, xs, wv, y, eps2, pix, lnv, lk, lit, active, acc, ok, conv)
    while True:
        nmax = 0
        for l in range(L):
            if active[l] and lnv[l] > nmax:
                nmax = lnv[l]
        if nmax == 0:
            break
        _lanes_step(xs, wv, nmax, y, R, dd, ww, W, eta, rr)
        _lanes_update(y, R, W, eta, rr, step2, fac, active)
        for l in range(L):
            if not active[l]:
                continue
            lit[l] += 1
            if W[l] > 0 and step2[l] >= eps2[l] and lit[l] < maxiters:
                continue
            for j in range(p):
                ypix[j] = y[j, l]
            nv = lnv[l]
            if want_mads:  # the MADs take the pixel's observations back out of its lane
                for i in range(nv):
                    for j in range(p):
                        tmp[j, i] = xs[i, j, l]
            c = pix[l] % nx
            _finish(pix[l] // nx, c, nv, lk[l], lit[l], ypix, tmp, want_mads, gm, mads, count,
                    iters, sm, em, bc, den, xx, rank, o3)
            active[l] = False
            nxt = _lanes_fill(X, nxt, q1, l, nodata, has_nodata, is_float, scale, offset,
                              weight, eps, maxiters, want_mads, gm, mads, count, iters, tmp,
                              tw, sm, em, bc, den, xx, rank, o3, ypix, xs, wv, y, eps2, pix,
                              lnv, lk, lit, active, acc, ok, conv)


@njit(cache=True, nogil=True)
def _finish(r, c, nv, k, it, ypix, tmp, want_mads, gm, mads, count, iters,
            sm, em, bc, den, xx, rank, o3):
    """Write pixel (r, c)'s results from its iterate ``ypix`` (scaled by ``2**-k``)."""
    p = ypix.shape[0]
    count[r, c] = nv
    iters[r, c] = it
    if nv == 0:
        for j in range(p):
            gm[r, c, j] = np.nan
        if want_mads:
            for q in range(3):
                mads[r, c, q] = np.nan
        return
    back = math.ldexp(1.0, k)
    for j in range(p):
        gm[r, c, j] = np.float32(ypix[j] * back) if k != 0 else ypix[j]
    if want_mads:
        _mads(tmp, nv, ypix, k, sm, em, bc, den, xx, rank, o3)
        for q in range(3):
            mads[r, c, q] = np.float32(o3[q])


@njit(cache=True, nogil=True)
def _lanes_fill(X, nxt, q1, l, nodata, has_nodata, is_float, scale, offset, weight, eps,
                maxiters, want_mads, gm, mads, count, iters, tmp, tw, sm, em, bc, den, xx,
                rank, o3, ypix, xs, wv, y, eps2, pix, lnv, lk, lit, active, acc, ok, conv):
    """Put the next pixel (flat index ``nxt`` .. ``q1``) that needs iterating into lane
    ``l`` (pixels that need none, with no or one observation, are finished on the way);
    returns the next flat index. The lane stays inactive when no pixel is left."""
    nx = X.shape[1]
    p = X.shape[2]
    nb = xs.shape[0]
    while nxt < q1:
        r = nxt // nx
        c = nxt % nx
        nxt += 1
        nv, k = _gather_lane(X, r, c, nodata, has_nodata, is_float, scale, offset, weight,
                             xs, wv, l, ok, conv)
        # the weighted mean of the valid observations: the starting point
        wsum = 0.0
        for i in range(nv):
            wsum += wv[i, l]
        for j in range(p):
            acc[j] = 0.0
        for i in range(nv):
            wi = np.float64(wv[i, l])
            for j in range(p):
                acc[j] += np.float64(xs[i, j, l]) * wi
        for j in range(p):
            ypix[j] = np.float32(acc[j] / wsum) if wsum > 0 else np.float32(np.nan)
        if nv <= 1 or not wsum > 0 or maxiters <= 0:
            if nv > lnv[l]:  # lnv: the highest slot that may hold a weight
                lnv[l] = nv
            if want_mads:
                for i in range(nv):
                    for j in range(p):
                        tmp[j, i] = xs[i, j, l]
            _finish(r, c, nv, k, 0, ypix, tmp, want_mads, gm, mads, count, iters,
                    sm, em, bc, den, xx, rank, o3)
            continue
        for i in range(nv, lnv[l]):  # zero weights after this pixel's observations
            wv[i, l] = np.float32(0.0)
        for j in range(p):
            y[j, l] = ypix[j]
        epsk = eps * math.ldexp(1.0, -k)
        eps2[l] = epsk * epsk
        pix[l] = r * nx + c
        lnv[l] = nv
        lk[l] = k
        lit[l] = 0
        active[l] = True
        return nxt
    for i in range(nb):
        wv[i, l] = np.float32(0.0)
    for j in range(p):
        y[j, l] = np.float32(0.0)
    active[l] = False
    return nxt


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
