/**
 * HD95 on a full 182×218×182 pair (issue target: ≤ 2 s on a development
 * machine), with scipy's exact EDT (MONAI's method) as the peer in the same
 * run, and the two values compared.
 * @module
 */
import { hd95, makePhantom, type Shape3, type Spacing3 } from "../mod.ts";
import { pythonJson } from "./peers/numpy.ts";

const SHAPE: Shape3 = [182, 218, 182];
const SPACING: Spacing3 = [1, 1, 1.2];

function ellipsoid(c: number[], r: number[]): Uint8Array {
  const [X, Y, Z] = SHAPE;
  const m = new Uint8Array(X * Y * Z);
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        const q = ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2;
        if (q <= 1) m[x + X * (y + Y * z)] = 1;
      }
    }
  }
  return m;
}

/** The hippocampus phantom's label against itself shifted by (2, 1, 0) voxels. */
function shifted(m: Uint8Array, d: number[]): Uint8Array {
  const [X, Y, Z] = SHAPE;
  const out = new Uint8Array(m.length);
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        const sx = x - d[0], sy = y - d[1], sz = z - d[2];
        if (sx >= 0 && sy >= 0 && sz >= 0 && sx < X && sy < Y && sz < Z) {
          out[x + X * (y + Y * z)] = m[sx + X * (sy + Y * sz)];
        }
      }
    }
  }
  return out;
}

async function scipyPeer(
  a: Uint8Array,
  b: Uint8Array,
): Promise<{ seconds: number; hd95: number; scipy: string } | null> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/a.u8`, a);
    await Deno.writeFile(`${dir}/b.u8`, b);
    return await pythonJson<{ seconds: number; hd95: number; scipy: string }>("scipy_hd95.py", [
      `${dir}/a.u8`,
      `${dir}/b.u8`,
      ...SHAPE.map(String),
      ...SPACING.map(String),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the HD95 benchmark. */
export async function benchData(): Promise<void> {
  const phantom = makePhantom({ task: "hippocampus", size: SHAPE, seed: 1 });
  const label = phantom.label.data as Uint8Array;
  const cases: [string, Uint8Array, Uint8Array][] = [
    ["hippocampus phantom vs shifted by (2,1,0)", label, shifted(label, [2, 1, 0])],
    [
      "two brain-sized ellipsoids (worst case)",
      ellipsoid([90, 108, 90], [80, 95, 78]),
      ellipsoid([93, 104, 88], [75, 97, 80]),
    ],
  ];
  console.log(`# HD95 on ${SHAPE.join("×")}, spacing ${SPACING.join("×")} mm`);
  for (const [name, a, b] of cases) {
    let best = Infinity, value = NaN;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      value = hd95(a, b, SHAPE, SPACING);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    const peer = await scipyPeer(a, b);
    console.log(
      `${name.padEnd(44)} ours ${best.toFixed(3)} s (hd95 ${value.toFixed(4)})` +
        (peer
          ? `   scipy ${peer.scipy} ${peer.seconds.toFixed(3)} s (hd95 ${peer.hd95.toFixed(4)})   ratio ${
            (peer.seconds / best).toFixed(2)
          }× scipy`
          : "   no scipy peer (python3 with scipy missing)"),
    );
  }
}
