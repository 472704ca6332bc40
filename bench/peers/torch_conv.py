"""PyTorch peer of bench/native_conv.ts: conv3d forward, input gradient and
weight gradient (autograd, as a training step runs them) per shape.

Usage: python3 torch_conv.py SPECS_JSON [--threads T] [--reps R]
SPECS_JSON is a list of {"name", "x": [N,C,D,H,W], "w": [...], "stride",
"padding", "transposed"}; prints one JSON object {"torch", "threads",
"times": {name: {"forward", "input", "weight"}}} with best seconds.
"""
import json
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print(json.dumps({"skip": "python3 has no torch (Debian: apt-get install python3-torch)"}))
    sys.exit(0)


def best(fn, reps):
    fn()
    b = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t)
    return b


def main():
    specs = json.loads(sys.argv[1])
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 3
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    times = {}
    for s in specs:
        x = torch.randn(*s["x"], requires_grad=True)
        w = torch.randn(*s["w"], requires_grad=True)
        conv = F.conv_transpose3d if s.get("transposed") else F.conv3d
        kw = {"stride": s.get("stride", 1), "padding": s.get("padding", 0)}
        with torch.no_grad():
            fwd = best(lambda: conv(x, w, **kw), reps)
        y = conv(x, w, **kw)
        g = torch.randn_like(y)
        dx = best(lambda: torch.autograd.grad(y, x, g, retain_graph=True), reps)
        dw = best(lambda: torch.autograd.grad(y, w, g, retain_graph=True), reps)
        times[s["name"]] = {"forward": fwd, "input": dx, "weight": dw}
    print(json.dumps({"torch": torch.__version__, "threads": threads, "times": times}))


main()
