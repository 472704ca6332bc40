"""Peer for bench/data.ts: HD95 with scipy's exact EDT, the way MONAI computes it.

Usage: scipy_hd95.py A.u8 B.u8 X Y Z SX SY SZ  (raw uint8 masks, x fastest).
Prints JSON {"seconds": best of 3, "hd95": value, "scipy": version}.
"""
import json
import sys
import time

import numpy as np
import scipy
from scipy import ndimage


def hd95(a, b, spacing):
    st = ndimage.generate_binary_structure(3, 1)
    sa = a & ~ndimage.binary_erosion(a, st)
    sb = b & ~ndimage.binary_erosion(b, st)
    da = ndimage.distance_transform_edt(~sb, sampling=spacing)[sa]
    db = ndimage.distance_transform_edt(~sa, sampling=spacing)[sb]
    return max(np.percentile(da, 95), np.percentile(db, 95))


def main():
    x, y, z = (int(v) for v in sys.argv[3:6])
    spacing = [float(v) for v in sys.argv[6:9]]
    # Files are x fastest; numpy's C order wants the slowest axis first.
    a = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(z, y, x).astype(bool)
    b = np.fromfile(sys.argv[2], dtype=np.uint8).reshape(z, y, x).astype(bool)
    sp = spacing[::-1]
    times, value = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        value = hd95(a, b, sp)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": min(times), "hd95": float(value), "scipy": scipy.__version__}))


main()
