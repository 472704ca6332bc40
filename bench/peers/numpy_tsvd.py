"""Peer for bench/talgebra.ts: the truncated t-SVD with numpy, same data, same run.

Usage: numpy_tsvd.py A.f32 n1 n2 n3 out_prefix r1,r2,... [f64]

Reads a float32 tensor A (C order, n1×n2×n3; float64 when the last argument
is f64, and then the principal parts are written as float64 too), then times the full per-slice
decomposition the way numpy code does it: np.fft.fft along mode 3 and
np.linalg.svd of every one of the n3 Fourier slices. From those SVDs it
writes the principal part U_r*S_r*V_rᵀ = ifft(Û_r Ŝ_r V̂_rᴴ).real for each r
to out_prefix_r<r>.f32 (float32, C order). Prints one JSON object:
{"full": seconds, "numpy": version, "dtype": dtype of the Fourier slices}.
"""
import json
import sys
import time

import numpy as np


def main():
    path, n1, n2, n3, prefix, ranks = sys.argv[1:7]
    f64 = len(sys.argv) > 7 and sys.argv[7] == "f64"
    out_dtype = np.float64 if f64 else np.float32
    n1, n2, n3 = int(n1), int(n2), int(n3)
    a = np.fromfile(path, dtype=out_dtype).reshape(n1, n2, n3)
    t0 = time.perf_counter()
    f = np.fft.fft(a, axis=2)
    svds = [np.linalg.svd(f[:, :, k], full_matrices=False) for k in range(n3)]
    full = time.perf_counter() - t0
    for r in (int(x) for x in ranks.split(",")):
        p = np.empty((n1, n2, n3), dtype=f.dtype)
        for k, (u, s, vh) in enumerate(svds):
            p[:, :, k] = (u[:, :r] * s[:r]) @ vh[:r]
        np.fft.ifft(p, axis=2).real.astype(out_dtype).tofile(f"{prefix}_r{r}.f32")
    print(json.dumps({"full": full, "numpy": np.__version__, "dtype": str(f.dtype)}))


main()
