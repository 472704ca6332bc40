"""Peer timings for the benchmarks in bench/: the same shapes in numpy, same run.

Arguments are specs: "mm:M,K,N" (float32 matmul) and "conv:C,S" (conv3d
1×C×S³, 3×3×3, C→C, pad 1, done as im2col + BLAS, the usual numpy way).
Prints one JSON object mapping each spec to its best time in seconds, plus
"numpy": version and "blas": the BLAS core in use (if threadpoolctl is there).
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
    _, c, d, h, wd = x.shape
    o, _, kd, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad), (pad, pad)))
    cols = np.empty((c, kd, kh, kw, d, h, wd), dtype=x.dtype)
    for a in range(kd):
        for b in range(kh):
            for e in range(kw):
                cols[:, a, b, e] = xp[0, :, a:a + d, b:b + h, e:e + wd]
    return (w.reshape(o, -1) @ cols.reshape(c * kd * kh * kw, -1)).reshape(1, o, d, h, wd)


def main():
    rng = np.random.default_rng(0)
    out = {"numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info
        out["blas"] = ";".join(f"{i.get('internal_api')}:{i.get('architecture')}" for i in threadpool_info())
    except ImportError:
        out["blas"] = "unknown"
    for spec in sys.argv[1:]:
        kind, dims = spec.split(":")
        v = [int(x) for x in dims.split(",")]
        if kind == "mm":
            a = rng.standard_normal((v[0], v[1]), dtype=np.float32)
            b = rng.standard_normal((v[1], v[2]), dtype=np.float32)
            out[spec] = best(lambda: a @ b, 5)
        elif kind == "conv":
            c, s = v
            x = rng.standard_normal((1, c, s, s, s), dtype=np.float32)
            w = rng.standard_normal((c, c, 3, 3, 3), dtype=np.float32)
            out[spec] = best(lambda: conv3d(x, w, 1), 3)
    print(json.dumps(out))


main()
