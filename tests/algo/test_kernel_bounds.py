"""Regression: the rank buffer of the MAD medians must cover the SIMD padding.

With fewer observations than a vector's lanes the median code writes ranks for every
padded lane; a buffer sized to the observations corrupted the heap (a pixel with one
valid observation beside an empty one aborted the process).
"""

import subprocess
import sys
import textwrap


def test_one_observation_beside_an_empty_pixel_does_not_corrupt_memory():
    code = textwrap.dedent("""
        import numpy as np
        from statscore.algo import geomedian_mads, bcmad_pcm, nangeomedian_pcm
        for n_t in (1, 2, 3, 5):
            for _ in range(200):
                X = np.full((3, 4, 6, n_t), 2000, "int16")
                X[0, 0] = -999
                X[1, :, :, 1:] = -999
                g = geomedian_mads(X, scale=1e-4, offset=-1e-4)
                gm = nangeomedian_pcm(X, scale=1e-4, offset=-1e-4)
                bcmad_pcm(X, gm)
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stderr[-2000:])
