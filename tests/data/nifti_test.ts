import assert from "node:assert/strict";
import * as nifti from "nifti-reader-js";
import { gunzip, gzip, readNifti, writeNifti } from "../../data/nifti.ts";
import { makeVolume, type VoxelArray } from "../../data/volume.ts";

const dir = await Deno.makeTempDir({ prefix: "lorapt-nifti-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* already gone */ }
});
let counter = 0;
const tmp = (ext: string) => `${dir}/f${counter++}${ext}`;

/** A NIfTI-1 header built field by field from nifti1.h offsets. */
function header(fields: {
  le?: boolean;
  dims: number[];
  code: number;
  bitpix: number;
  pixdim?: number[];
  voxOffset?: number;
  slope?: number;
  inter?: number;
  qformCode?: number;
  sformCode?: number;
  quatern?: number[];
  qoffset?: number[];
  srow?: number[][];
  magic?: string;
}): Uint8Array {
  const le = fields.le ?? true;
  const out = new Uint8Array(352);
  const v = new DataView(out.buffer);
  v.setInt32(0, 348, le);
  [fields.dims.length, ...fields.dims, 1, 1, 1, 1, 1, 1, 1].slice(0, 8)
    .forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
  v.setInt16(70, fields.code, le);
  v.setInt16(72, fields.bitpix, le);
  (fields.pixdim ?? [1, 1, 1, 1]).forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
  v.setFloat32(108, fields.voxOffset ?? 352, le);
  v.setFloat32(112, fields.slope ?? 0, le);
  v.setFloat32(116, fields.inter ?? 0, le);
  v.setInt16(252, fields.qformCode ?? 0, le);
  v.setInt16(254, fields.sformCode ?? 0, le);
  (fields.quatern ?? [0, 0, 0]).forEach((q, i) => v.setFloat32(256 + 4 * i, q, le));
  (fields.qoffset ?? [0, 0, 0]).forEach((q, i) => v.setFloat32(268 + 4 * i, q, le));
  (fields.srow ?? [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]).forEach((row, r) =>
    row.forEach((x, c) => v.setFloat32(280 + 16 * r + 4 * c, x, le))
  );
  out.set(new TextEncoder().encode(fields.magic ?? "n+1\0"), 344);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function assertAffineClose(actual: number[][], expected: number[][], tol = 1e-5) {
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      assert.ok(
        Math.abs(actual[r][c] - expected[r][c]) <= tol,
        `affine[${r}][${c}] = ${actual[r][c]}, expected ${expected[r][c]}`,
      );
    }
  }
}

// An oblique, left-handed affine: R · diag(0.9, 1.5, −0.8) + t with R a 40°
// rotation about the axis (1, 2, 2)/3. (Rotations near 180° lose ~1e-4 in a
// float32 qform, a limit of the format, so the test avoids them.)
function rotation(axis: number[], angle: number): number[][] {
  const [x, y, z] = axis, c = Math.cos(angle), s = Math.sin(angle), C = 1 - c;
  return [
    [c + x * x * C, x * y * C - z * s, x * z * C + y * s],
    [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
    [z * x * C - y * s, z * y * C + x * s, c + z * z * C],
  ];
}
const R40 = rotation([1 / 3, 2 / 3, 2 / 3], (40 * Math.PI) / 180);
const oblique = [
  ...R40.map((row, r) => [...row.map((x, c) => x * [0.9, 1.5, -0.8][c]), [12.5, -20, 7.25][r]]),
  [0, 0, 0, 1],
];

Deno.test("writeNifti/readNifti round-trip a .nii.gz float32 volume with header fields", async () => {
  const shape: [number, number, number] = [5, 4, 3];
  const data = Float32Array.from({ length: 60 }, (_, i) => i * 0.5 - 7);
  const path = tmp(".nii.gz");
  await writeNifti(path, makeVolume(data, shape, { affine: oblique }));

  const raw = await gunzip(await Deno.readFile(path));
  const buf = raw.buffer as ArrayBuffer;
  assert.equal(raw.length, 352 + 60 * 4);
  const h = nifti.readHeader(buf) as nifti.NIFTI1;
  assert.equal(h.magic, "n+1");
  assert.deepEqual(h.dims.slice(0, 5), [3, 5, 4, 3, 1]);
  assert.equal(h.datatypeCode, 16);
  assert.equal(h.numBitsPerVoxel, 32);
  assert.equal(h.vox_offset, 352);
  assert.equal(h.sform_code, 2);
  assert.equal(h.qform_code, 2);
  assert.equal(h.xyzt_units & 7, 2);
  assert.equal(h.pixDims[0], -1); // left-handed grid → qfac −1
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(h.pixDims[i + 1] - [0.9, 1.5, 0.8][i]) < 1e-6);
  }
  // The qform alone (nifti-reader-js computes it when qform_code > sform_code)
  // must describe the same affine as the sform.
  new DataView(buf).setInt16(254, 0, true);
  const hq = nifti.readHeader(buf) as nifti.NIFTI1;
  assertAffineClose(hq.affine, oblique);
  const qOnly = tmp(".nii");
  await Deno.writeFile(qOnly, raw);
  assertAffineClose((await readNifti(qOnly)).affine, oblique);

  const back = await readNifti(path);
  assert.deepEqual(back.shape, shape);
  assert.equal(back.datatype, "float32");
  assert.deepEqual(back.data, data);
  assertAffineClose(back.affine, oblique);
  back.spacing.forEach((s, i) => assert.ok(Math.abs(s - [0.9, 1.5, 0.8][i]) < 1e-6));
});

Deno.test("every supported datatype round-trips through .nii exactly", async () => {
  const cases: VoxelArray[] = [
    Uint8Array.from([0, 1, 255, 7, 8, 9, 10, 11]),
    Int8Array.from([-128, 127, 0, -1, 2, 3, 4, 5]),
    Int16Array.from([-32768, 32767, 0, -1, 2, 3, 4, 5]),
    Uint16Array.from([0, 65535, 1, 2, 3, 4, 5, 6]),
    Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0, -1, 2, 3, 4, 5]),
    Float32Array.from([-1.5, 3.25e30, 0, -0, 1e-30, 3, 4, 5]),
    Float64Array.from([Math.PI, -1e300, 0, 1e-300, 2, 3, 4, 5]),
  ];
  for (const data of cases) {
    const path = tmp(".nii");
    const vol = makeVolume(data, [2, 2, 2], { spacing: [1, 2, 3] });
    await writeNifti(path, vol);
    const back = await readNifti(path);
    assert.equal(back.datatype, vol.datatype);
    assert.deepEqual(back.data, data, vol.datatype);
    assertAffineClose(back.affine, vol.affine);
    assert.deepEqual(back.spacing, [1, 2, 3]);
  }
});

Deno.test("readNifti reads a hand-built big-endian int16 file with scl_slope and a qform", async () => {
  // Quaternion (b,c,d) = (0,0,sin 45°): 90° about z → R = [[0,-1,0],[1,0,0],[0,0,1]].
  const s = Math.SQRT1_2;
  const hdr = header({
    le: false,
    dims: [2, 3, 1],
    code: 4,
    bitpix: 16,
    pixdim: [1, 2, 3, 4],
    slope: 2,
    inter: -1,
    qformCode: 1,
    quatern: [0, 0, s],
    qoffset: [10, 20, 30],
  });
  const body = new Uint8Array(12);
  const values = [-3, 0, 1, 100, 32767, -32768];
  values.forEach((x, i) => new DataView(body.buffer).setInt16(2 * i, x, false));
  const path = tmp(".nii");
  await Deno.writeFile(path, concat(hdr, body));
  const vol = await readNifti(path, { allowSingleton: true });
  assert.deepEqual(vol.shape, [2, 3, 1]);
  assert.equal(vol.datatype, "float32");
  assert.deepEqual([...vol.data], values.map((x) => 2 * x - 1));
  assertAffineClose(vol.affine, [[0, -3, 0, 10], [2, 0, 0, 20], [0, 0, 4, 30], [0, 0, 0, 1]]);
  assert.deepEqual(vol.spacing, [2, 3, 4]);
});

Deno.test("readNifti prefers the sform over a higher-coded qform, and falls back to pixdim", async () => {
  const srow = [[-2, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72]];
  const both = header({
    dims: [1, 1, 1],
    code: 2,
    bitpix: 8,
    pixdim: [1, 2, 2, 2],
    qformCode: 4,
    sformCode: 1,
    qoffset: [5, 5, 5],
    srow,
  });
  const p1 = tmp(".nii");
  await Deno.writeFile(p1, concat(both, new Uint8Array([9])));
  assertAffineClose((await readNifti(p1, { allowSingleton: true })).affine, [...srow, [0, 0, 0, 1]]);

  const neither = header({ dims: [1, 1, 1], code: 2, bitpix: 8, pixdim: [0, 0.5, 0.7, 3] });
  const p2 = tmp(".nii.gz");
  await Deno.writeFile(p2, await gzip(concat(neither, new Uint8Array([9]))));
  const v2 = await readNifti(p2, { allowSingleton: true });
  assertAffineClose(v2.affine, [[0.5, 0, 0, 0], [0, 0.7, 0, 0], [0, 0, 3, 0], [0, 0, 0, 1]]);
  assert.deepEqual([...v2.data], [9]);
});

Deno.test("readNifti errors name the file: corrupt gzip, magic, dims, datatype, 4-D", async () => {
  const good = concat(header({ dims: [2, 2, 2], code: 2, bitpix: 8 }), new Uint8Array(8));
  const gz = await gzip(good);
  const cases: [string, Uint8Array, RegExp][] = [
    ["truncated.nii.gz", gz.slice(0, gz.length - 12), /truncated or corrupt gzip/],
    [
      "corrupt.nii.gz",
      (() => {
        const c = gz.slice();
        c[20] ^= 0xff;
        return c;
      })(),
      /truncated or corrupt gzip/,
    ],
    [
      "magic.nii",
      concat(header({ dims: [2, 2, 2], code: 2, bitpix: 8, magic: "xyz\0" }), new Uint8Array(8)),
      /wrong magic "xyz"/,
    ],
    [
      "short.nii",
      concat(header({ dims: [2, 2, 3], code: 2, bitpix: 8 }), new Uint8Array(8)),
      /dims \[2,2,3\] of uint8 need 12 bytes.*has 8/,
    ],
    [
      "rgb.nii",
      concat(header({ dims: [2, 2, 2], code: 128, bitpix: 24 }), new Uint8Array(24)),
      /unsupported datatype code 128/,
    ],
    ["time.nii", concat(header({ dims: [2, 2, 2, 3], code: 2, bitpix: 8 }), new Uint8Array(24)), /not 3-D/],
    ["tiny.nii", new Uint8Array(100), /shorter than a NIfTI-1 header/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const path = `${dir}/${name}`;
    await Deno.writeFile(path, bytes);
    await assert.rejects(readNifti(path), (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(e.message.includes(path), `${e.message} names ${path}`);
      return true;
    });
  }
});

Deno.test("readNifti refuses NaN/Inf voxels with their count, or sets them to 0 with nan: zero", async () => {
  const data = Float32Array.from([1, NaN, 2, Infinity, -Infinity, 3, 4, 5]);
  const path = tmp(".nii.gz");
  await writeNifti(path, makeVolume(data, [2, 2, 2]));
  await assert.rejects(readNifti(path), (e: Error) => {
    assert.match(e.message, /3 voxels are NaN or Inf \(of 8\)/);
    assert.ok(e.message.includes(path));
    return true;
  });
  const zeroed = await readNifti(path, { nan: "zero" });
  assert.deepEqual([...zeroed.data], [1, 0, 2, 0, 0, 3, 4, 5]);
  // A float image whose scl_slope makes a value overflow counts too.
  const hdr = header({ dims: [2, 2, 2], code: 16, bitpix: 32, slope: 1e38 });
  const body = new Float32Array([1, 2, 3, 4, 5, 6, 7, 10]);
  const scaled = tmp(".nii");
  await Deno.writeFile(scaled, concat(hdr, new Uint8Array(body.buffer)));
  await assert.rejects(readNifti(scaled), /5 voxels are NaN or Inf/); // 4e38 … 1e39 overflow float32
  await assert.rejects(readNifti(path, { nan: "keep" as "zero" }), /nan "keep" is not one of refuse, zero/);
});

Deno.test("readNifti refuses a zero voxel size and a singular affine, naming the header field", async () => {
  const body = new Uint8Array(8);
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "zero-pixdim.nii",
      header({ dims: [2, 2, 2], code: 2, bitpix: 8, pixdim: [1, 1, 0, 1] }),
      /affine from pixdim \[1,0,1\] \(no sform or qform\) is singular/,
    ],
    [
      "qform-zero.nii",
      header({ dims: [2, 2, 2], code: 2, bitpix: 8, pixdim: [1, 0, 1, 1], qformCode: 1 }),
      /affine from the qform with pixdim \[0,1,1\] is singular/,
    ],
    [
      "sform-singular.nii",
      header({
        dims: [2, 2, 2],
        code: 2,
        bitpix: 8,
        sformCode: 1,
        srow: [[1, 0, 0, 0], [2, 0, 0, 0], [0, 0, 1, 0]],
      }),
      /affine from the sform \(srow_x, srow_y, srow_z\) is singular/,
    ],
  ];
  for (const [name, hdr, pattern] of cases) {
    const path = `${dir}/${name}`;
    await Deno.writeFile(path, concat(hdr, body));
    await assert.rejects(readNifti(path), (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(e.message.includes(path), `${e.message} names ${path}`);
      return true;
    });
  }
});

Deno.test("readNifti refuses 2-D and singleton-axis images unless allowSingleton", async () => {
  const path = tmp(".nii.gz");
  await writeNifti(path, makeVolume(new Float32Array(40 * 40), [40, 40, 1]));
  await assert.rejects(readNifti(path), /dims \[40,40,1\] have an axis of size 1/);
  assert.deepEqual((await readNifti(path, { allowSingleton: true })).shape, [40, 40, 1]);
  const flat = `${dir}/flat.nii`;
  await Deno.writeFile(flat, concat(header({ dims: [3, 4], code: 2, bitpix: 8 }), new Uint8Array(12)));
  await assert.rejects(readNifti(flat), /flat\.nii: dims \[3,4,1\] have an axis of size 1/);
});

Deno.test("readNifti checks the header's voxel count against maxVoxels before inflating the rest", async () => {
  // 64³ uint8 claimed; the bytes after the first 64 KiB of voxels are corrupt. With
  // the bound below 64³ the error is the bound, so inflating stopped at the header.
  const n = 64 ** 3;
  const good = await gzip(concat(header({ dims: [64, 64, 64], code: 2, bitpix: 8 }), new Uint8Array(n)));
  const broken = good.slice(0, 200);
  const path = `${dir}/bomb.nii.gz`;
  await Deno.writeFile(path, concat(broken, new Uint8Array(4096).fill(0xa5)));
  await assert.rejects(readNifti(path, { maxVoxels: n - 1 }), (e: Error) => {
    assert.match(e.message, /dims \[64,64,64\] give 262144 voxels, more than the bound of 262143/);
    assert.match(e.message, /--max-voxels/);
    assert.ok(e.message.includes(path));
    return true;
  });
  // With the bound at 64³ the header passes and the corrupt rest is found.
  await assert.rejects(readNifti(path, { maxVoxels: n }), /truncated or corrupt gzip/);
  const ok = `${dir}/ok.nii.gz`;
  await Deno.writeFile(ok, good);
  assert.equal((await readNifti(ok, { maxVoxels: n })).data.length, n);
  await assert.rejects(readNifti(ok, { maxVoxels: 1000 }), /more than the bound of 1000/);
});

Deno.test("readNifti names vox_offset when it is NaN or lies beyond the file", async () => {
  const cases: [string, number, RegExp][] = [
    ["nan-offset.nii", NaN, /vox_offset is NaN, not a byte offset/],
    ["far-offset.nii", 100000, /vox_offset 100000 lies beyond the file's 360 bytes/],
    ["far-offset.nii.gz", 100000, /vox_offset 100000 lies beyond the file's 360 bytes/],
  ];
  for (const [name, voxOffset, pattern] of cases) {
    const bytes = concat(header({ dims: [2, 2, 2], code: 2, bitpix: 8, voxOffset }), new Uint8Array(8));
    const path = `${dir}/${name}`;
    await Deno.writeFile(path, name.endsWith(".gz") ? await gzip(bytes) : bytes);
    await assert.rejects(readNifti(path), (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(e.message.includes(path));
      return true;
    });
  }
});

Deno.test("writeNifti copies the geometry of a reference and checks its shape", async () => {
  const truth = makeVolume(new Float32Array(24), [2, 3, 4], { affine: oblique });
  const pred = makeVolume(new Uint8Array(24).fill(1), [2, 3, 4]);
  const path = tmp(".nii.gz");
  await writeNifti(path, pred, { reference: truth });
  const back = await readNifti(path);
  assert.equal(back.datatype, "uint8");
  assertAffineClose(back.affine, oblique);
  const wrong = makeVolume(new Float32Array(24), [4, 3, 2]);
  await assert.rejects(
    writeNifti(tmp(".nii"), pred, { reference: wrong }),
    /reference shape \[4,3,2\] differs from volume shape \[2,3,4\]/,
  );
});
