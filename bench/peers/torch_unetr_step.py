"""PyTorch peer of bench/unetr_step.ts: one training step of unetr-small.

Plain torch only (no MONAI, no safetensors package): the UNETR below is
written out to match models/unetr.ts and spec/unetr.md (MONAI 1.3.0 names),
loads the weights and the batch the Deno side wrote as safetensors, and runs
forward, softmax_dice2, backward and Adam(AMSGrad, lr 1e-3, wd 1e-5).

Two eval-mode steps first (dropout off: the first loss checks the forward,
the second backward and Adam against the Deno side), one training-mode
warm-up, then --steps timed training-mode steps.

With --forward, also times --steps inference forwards of batch 1 (eval mode, no grad).
Reports the process's peak resident memory (VmHWM) after the training steps.

Usage: python3 torch_unetr_step.py STATE.safetensors [--steps N] [--threads T] [--forward] [--json]
"""
import argparse
import json
import resource
import struct
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    if "--json" in sys.argv:
        print(json.dumps({"skip": "python3 has no torch (Debian: apt-get install python3-torch)"}))
    else:
        print("skip: python3 has no torch (Debian: apt-get install python3-torch)")
    sys.exit(0)

# unetr-small (models/unetr.ts UNETR_CONFIGS)
CFG = dict(in_channels=1, out_channels=2, img_size=64, patch_size=16, feature_size=8, hidden_size=96,
           mlp_dim=384, num_heads=4, num_layers=12, dropout_rate=0.1, qkv_bias=False)
DICE_EPS = 1e-5


def read_safetensors(path):
    """Minimal reader of the public format: u64 LE header length, JSON header, raw LE data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {info['dtype']} (only F32 expected)")
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(blob[base + a:base + b]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"]).clone()
    return out


class Conv(nn.Module):
    """MONAI Convolution (conv_only): the only child is `conv`."""

    def __init__(self, cin, cout, k=3, s=1, transposed=False, bias=False):
        super().__init__()
        if transposed:  # k2 s2: pad 0, output padding 0
            self.conv = nn.ConvTranspose3d(cin, cout, k, stride=s, bias=bias)
        else:
            self.conv = nn.Conv3d(cin, cout, k, stride=s, padding=(k - s + 1) // 2, bias=bias)

    def forward(self, x):
        return self.conv(x)


class UnetResBlock(nn.Module):
    def __init__(self, cin, cout, k=3, s=1):
        super().__init__()
        self.conv1 = Conv(cin, cout, k, s)
        self.conv2 = Conv(cout, cout, k, 1)
        self.lrelu = nn.LeakyReLU(0.01)
        self.norm1 = nn.InstanceNorm3d(cout, affine=False)
        self.norm2 = nn.InstanceNorm3d(cout, affine=False)
        self.downsample = cin != cout or s != 1
        if self.downsample:
            self.conv3 = Conv(cin, cout, 1, s)
            self.norm3 = nn.InstanceNorm3d(cout, affine=False)

    def forward(self, x):
        h = self.lrelu(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        r = self.norm3(self.conv3(x)) if self.downsample else x
        return self.lrelu(h + r)


class UnetrBasicBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.layer = UnetResBlock(cin, cout)

    def forward(self, x):
        return self.layer(x)


class UnetrPrUpBlock(nn.Module):
    def __init__(self, cin, cout, num_layer):
        super().__init__()
        self.transp_conv_init = Conv(cin, cout, 2, 2, transposed=True)
        self.blocks = nn.ModuleList(
            [nn.Sequential(Conv(cout, cout, 2, 2, transposed=True), UnetResBlock(cout, cout)) for _ in range(num_layer)])

    def forward(self, x):
        x = self.transp_conv_init(x)
        for blk in self.blocks:
            x = blk(x)
        return x


class UnetrUpBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.transp_conv = Conv(cin, cout, 2, 2, transposed=True)
        self.conv_block = UnetResBlock(2 * cout, cout)

    def forward(self, x, skip):
        return self.conv_block(torch.cat([self.transp_conv(x), skip], dim=1))


class UnetOutBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = Conv(cin, cout, 1, 1, bias=True)

    def forward(self, x):
        return self.conv(x)


class SABlock(nn.Module):
    def __init__(self, d, heads, p, qkv_bias):
        super().__init__()
        self.out_proj = nn.Linear(d, d)
        self.qkv = nn.Linear(d, 3 * d, bias=qkv_bias)
        self.drop_output = nn.Dropout(p)
        self.drop_weights = nn.Dropout(p)
        self.heads, self.dh = heads, d // heads
        self.scale = self.dh ** -0.5

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        w = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)
        att = (self.drop_weights(w) @ v).permute(0, 2, 1, 3).reshape(b, n, d)
        return self.drop_output(self.out_proj(att))


class MLPBlock(nn.Module):
    def __init__(self, d, mlp, p):
        super().__init__()
        self.linear1 = nn.Linear(d, mlp)
        self.linear2 = nn.Linear(mlp, d)
        self.fn = nn.GELU()
        self.drop1 = nn.Dropout(p)
        self.drop2 = nn.Dropout(p)

    def forward(self, x):
        return self.drop2(self.linear2(self.drop1(self.fn(self.linear1(x)))))


class TransformerBlock(nn.Module):
    def __init__(self, d, mlp, heads, p, qkv_bias):
        super().__init__()
        self.mlp = MLPBlock(d, mlp, p)
        self.norm1 = nn.LayerNorm(d)
        self.attn = SABlock(d, heads, p, qkv_bias)
        self.norm2 = nn.LayerNorm(d)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbeddingBlock(nn.Module):
    def __init__(self, cin, img, patch, d, p):
        super().__init__()
        n = (img // patch) ** 3
        self.position_embeddings = nn.Parameter(torch.zeros(1, n, d))
        self.patch_embeddings = nn.Conv3d(cin, d, patch, stride=patch)
        self.dropout = nn.Dropout(p)

    def forward(self, x):
        t = self.patch_embeddings(x).flatten(2).transpose(1, 2)
        return self.dropout(t + self.position_embeddings)


class ViT(nn.Module):
    def __init__(self, c):
        super().__init__()
        p = c["dropout_rate"]
        self.patch_embedding = PatchEmbeddingBlock(c["in_channels"], c["img_size"], c["patch_size"],
                                                   c["hidden_size"], p)
        self.blocks = nn.ModuleList([
            TransformerBlock(c["hidden_size"], c["mlp_dim"], c["num_heads"], p, c["qkv_bias"])
            for _ in range(c["num_layers"])
        ])
        self.norm = nn.LayerNorm(c["hidden_size"])

    def forward(self, x):
        x = self.patch_embedding(x)
        hs = []
        for blk in self.blocks:
            x = blk(x)
            hs.append(x)
        return self.norm(x), hs


class UNETR(nn.Module):
    def __init__(self, c):
        super().__init__()
        f, d = c["feature_size"], c["hidden_size"]
        self.c = c
        self.g = c["img_size"] // c["patch_size"]
        self.vit = ViT(c)
        self.encoder1 = UnetrBasicBlock(c["in_channels"], f)
        self.encoder2 = UnetrPrUpBlock(d, 2 * f, 2)
        self.encoder3 = UnetrPrUpBlock(d, 4 * f, 1)
        self.encoder4 = UnetrPrUpBlock(d, 8 * f, 0)
        self.decoder5 = UnetrUpBlock(d, 8 * f)
        self.decoder4 = UnetrUpBlock(8 * f, 4 * f)
        self.decoder3 = UnetrUpBlock(4 * f, 2 * f)
        self.decoder2 = UnetrUpBlock(2 * f, f)
        self.out = UnetOutBlock(f, c["out_channels"])

    def proj(self, z):
        g = self.g
        return z.reshape(z.shape[0], g, g, g, self.c["hidden_size"]).permute(0, 4, 1, 2, 3)

    def forward(self, x_in):
        x, hs = self.vit(x_in)
        L = self.c["num_layers"]
        s2, s3, s4 = L // 4, L // 2, (3 * L) // 4
        enc1 = self.encoder1(x_in)
        enc2 = self.encoder2(self.proj(hs[s2]))
        enc3 = self.encoder3(self.proj(hs[s3]))
        enc4 = self.encoder4(self.proj(hs[s4]))
        dec3 = self.decoder5(self.proj(x), enc4)
        dec2 = self.decoder4(dec3, enc3)
        dec1 = self.decoder3(dec2, enc2)
        dec0 = self.decoder2(dec1, enc1)
        return torch.softmax(self.out(dec0), dim=1)


def peak_rss_mb():
    """VmHWM of this process: ru_maxrss would carry the spawning process's peak across exec on Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def soft_dice(p, g):
    return 2 * (p * g).sum() / (p.sum() + g.sum() + DICE_EPS)


def softmax_dice2(probs, target):
    """train/losses.ts softmaxDice2: (1 − Dice(p0, 1 − g)) + (1 − Dice(p1, g))."""
    return (1 - soft_dice(probs[:, 0], 1 - target)) + (1 - soft_dice(probs[:, 1], target))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="last stdout line is a JSON summary")
    ap.add_argument("--forward", action="store_true", help="also time batch-1 inference forwards")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    tensors = read_safetensors(a.state)
    x = tensors.pop("bench.input")
    y = tensors.pop("bench.target")
    model = UNETR(CFG)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-5,
                           amsgrad=True)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = softmax_dice2(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    model.eval()
    check = [step(), step()]
    model.train()
    step()  # warm-up
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - t0) * 1000)
        if loss != loss:
            raise SystemExit("loss is NaN")
    ms = sum(times) / len(times)
    peak_mb = peak_rss_mb()
    fwd = []
    if a.forward:
        model.eval()
        x1 = x[:1].contiguous()
        with torch.no_grad():
            model(x1)  # warm-up
            for _ in range(a.steps):
                t0 = time.perf_counter()
                model(x1)
                fwd.append((time.perf_counter() - t0) * 1000)
    log = sys.stderr if a.json else sys.stdout
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(tensors)} tensors loaded", file=log)
    print(f"check losses (eval): step 1 {check[0]:.7f}, step 2 {check[1]:.7f}", file=log)
    print(f"train step: {ms:.0f} ms/step ({', '.join(f'{t:.0f}' for t in times)})", file=log)
    if a.json:
        out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "checkLosses": check,
               "msPerStep": ms, "stepMs": times, "peakRssMb": peak_mb}
        if fwd:
            out["forwardMs"] = fwd
        print(json.dumps(out))


if __name__ == "__main__":
    main()
