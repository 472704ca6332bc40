"""Peer timings for bench/cpu_ops.ts: the same shapes in numpy, same run.

Prints one JSON object: {"matmul": seconds, "conv3d": seconds, "numpy": version}.
conv3d is im2col + BLAS, the usual way numpy code does it.
"""
import json
import sys
import time

import numpy as np


def best(fn, reps):
    fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def conv3d(x, w, pad):
    n, c, d, h, wd = x.shape
    o, _, kd, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad), (pad, pad)))
    cols = np.empty((c, kd, kh, kw, d, h, wd), dtype=x.dtype)
    for a in range(kd):
        for b in range(kh):
            for e in range(kw):
                cols[:, a, b, e] = xp[0, :, a:a + d, b:b + h, e:e + wd]
    return (w.reshape(o, -1) @ cols.reshape(c * kd * kh * kw, -1)).reshape(1, o, d, h, wd)


def main():
    m, k, n = (int(v) for v in sys.argv[1:4])
    c, s = int(sys.argv[4]), int(sys.argv[5])
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    x = rng.standard_normal((1, c, s, s, s), dtype=np.float32)
    w = rng.standard_normal((c, c, 3, 3, 3), dtype=np.float32)
    print(json.dumps({
        "matmul": best(lambda: a @ b, 5),
        "conv3d": best(lambda: conv3d(x, w, 1), 3),
        "numpy": np.__version__,
    }))


main()
