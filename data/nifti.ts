/**
 * NIfTI-1 reading and writing for `.nii` and `.nii.gz` files.
 *
 * Header parsing uses nifti-reader-js; the affine is rebuilt here because the
 * NIfTI-1 standard (nifti1.h, "METHOD 3" before "METHOD 2") prefers the sform
 * when present, while nifti-reader-js prefers whichever code is larger.
 * Field offsets are those of nifti1.h.
 * @module
 */
// Pinned to npm:nifti-reader-js@0.8.0 through deno.json "imports".
import * as nifti from "nifti-reader-js";
import {
  checkAffine,
  type Datatype,
  datatypeOf,
  type Spacing3,
  spacingFromAffine,
  type Volume,
  type VoxelArray,
  voxelCount,
} from "./volume.ts";

/** NIfTI-1 datatype codes (nifti1.h `NIFTI_TYPE_*`) and byte sizes. */
const CODES: Record<Datatype, [code: number, bytes: number]> = {
  uint8: [2, 1],
  int16: [4, 2],
  int32: [8, 4],
  float32: [16, 4],
  float64: [64, 8],
  int8: [256, 1],
  uint16: [512, 2],
};
const BY_CODE = new Map(
  Object.entries(CODES).map(([name, [code]]) => [code, name as Datatype]),
);
const HEADER_BYTES = 348;
const VOX_OFFSET = 352;

/** Options of {@link writeNifti}. */
export interface WriteNiftiOptions {
  /**
   * A volume whose geometry (affine, spacing) is copied into the written
   * header, e.g. the ground truth when writing a prediction. It must
   * have the same shape.
   */
  reference?: Volume;
  /** Header description (up to 79 ASCII characters). */
  description?: string;
}

/**
 * Reads a `.nii` or `.nii.gz` file (detected from its gzip magic, not its
 * name). `scl_slope`/`scl_inter` are applied: a scaled integer image comes
 * back as float32. The affine comes from the sform, else the qform, else the
 * pixdims. Throws an error naming the file for corrupt gzip, a wrong magic,
 * an unsupported datatype or dims that do not match the data size; warns
 * once with the count when a float image contains NaN or Inf.
 */
export async function readNifti(path: string): Promise<Volume> {
  const fail = (msg: string): never => {
    throw new Error(`readNifti: ${path}: ${msg}`);
  };
  let bytes: Uint8Array = await Deno.readFile(path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzip(bytes);
    } catch (e) {
      fail(`truncated or corrupt gzip (${(e as Error).message})`);
    }
  }
  if (bytes.length < HEADER_BYTES) {
    fail(`${bytes.length} bytes is shorter than a NIfTI-1 header (348)`);
  }
  const buf = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.length,
  ) as ArrayBuffer;
  const magic = new TextDecoder().decode(bytes.subarray(344, 347));
  if (nifti.isNIFTI2(buf)) fail("NIfTI-2 files are not supported");
  if (!nifti.isNIFTI1(buf)) {
    fail(`wrong magic "${magic}" (expected "n+1" single-file NIfTI-1)`);
  }
  const view = new DataView(buf);
  const le = view.getInt32(0, true) === HEADER_BYTES;
  if (!le && view.getInt32(0, false) !== HEADER_BYTES) {
    fail("sizeof_hdr is not 348");
  }
  const h = nifti.readHeader(buf) as nifti.NIFTI1;

  const ndim = h.dims[0];
  if (ndim < 1 || ndim > 7) fail(`dim[0] = ${ndim} is not in 1..7`);
  const dims = [1, 2, 3].map((i) => (i <= ndim ? h.dims[i] : 1));
  const extra = h.dims.slice(4, ndim + 1).reduce((a, b) => a * b, 1);
  if (!dims.every((d) => d > 0)) fail(`dims [${dims}] must be positive`);
  if (extra !== 1) fail(`dims [${h.dims.slice(1, ndim + 1)}] are not 3-D`);
  const shape = dims as [number, number, number];

  const datatype = BY_CODE.get(h.datatypeCode);
  if (!datatype) {
    fail(
      `unsupported datatype code ${h.datatypeCode} (${h.getDatatypeCodeString(h.datatypeCode)}); supported: ${
        Object.keys(CODES).join(", ")
      }`,
    );
  }
  const [, size] = CODES[datatype!];
  const n = voxelCount(shape);
  const offset = Math.round(h.vox_offset);
  if (offset < HEADER_BYTES) fail(`vox_offset ${h.vox_offset} is below 348`);
  if (offset + n * size > bytes.length) {
    fail(
      `dims [${shape}] of ${datatype} need ${n * size} bytes after ` +
        `vox_offset ${offset}, the file has ${bytes.length - offset}`,
    );
  }
  const raw = decodeVoxels(view, offset, n, datatype!, le);
  let data: VoxelArray = raw;
  let outType: Datatype = datatype!;
  const slope = h.scl_slope, inter = h.scl_inter;
  if (Number.isFinite(slope) && slope !== 0 && !(slope === 1 && inter === 0)) {
    const scaled = outType === "float64" ? new Float64Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) scaled[i] = raw[i] * slope + inter;
    data = scaled;
    outType = datatypeOf(scaled);
  }
  if (outType === "float32" || outType === "float64") {
    let bad = 0;
    for (let i = 0; i < n; i++) if (!Number.isFinite(data[i])) bad++;
    if (bad > 0) {
      console.warn(`readNifti: ${path}: ${bad} voxels are NaN or Inf`);
    }
  }
  const affine = headerAffine(view, le, h);
  checkAffine(affine, `readNifti: ${path}`);
  const pix = [1, 2, 3].map((i) => Math.abs(h.pixDims[i]));
  const fromAffine = spacingFromAffine(affine);
  const spacing = pix.map((p, i) => p > 0 && Number.isFinite(p) ? p : fromAffine[i]) as Spacing3;
  return { data, shape, affine, spacing, datatype: outType };
}

/**
 * Writes a volume as single-file NIfTI-1 (gzip-compressed when the path ends
 * in `.gz`): 348-byte header, 4 zero extension bytes, data at vox_offset 352,
 * little-endian, xyzt_units mm. The affine is stored as an sform and as a
 * qform (its rotation part orthogonalised), both with code 2 (aligned).
 */
export async function writeNifti(
  path: string,
  volume: Volume,
  options: WriteNiftiOptions = {},
): Promise<void> {
  const where = `writeNifti: ${path}`;
  const n = voxelCount(volume.shape);
  if (volume.data.length !== n) {
    throw new RangeError(
      `${where}: shape [${volume.shape}] needs ${n} voxels, data has ${volume.data.length}`,
    );
  }
  const ref = options.reference;
  if (ref && ref.shape.some((d, i) => d !== volume.shape[i])) {
    throw new RangeError(
      `${where}: reference shape [${ref.shape}] differs from volume shape [${volume.shape}]`,
    );
  }
  const affine = ref?.affine ?? volume.affine;
  const spacing = ref?.spacing ?? volume.spacing;
  checkAffine(affine, where);
  const datatype = datatypeOf(volume.data);
  const [code, size] = CODES[datatype];
  const out = new Uint8Array(VOX_OFFSET + n * size);
  const v = new DataView(out.buffer);
  v.setInt32(0, HEADER_BYTES, true);
  out[38] = "r".charCodeAt(0); // regular = 'r' (ignored, as nibabel writes)
  const dim = [3, ...volume.shape, 1, 1, 1, 1];
  dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, true));
  v.setInt16(70, code, true);
  v.setInt16(72, size * 8, true);
  const { quatern, offset, qfac } = affineToQuaternion(affine);
  const pixdim = [qfac, ...spacing, 1, 1, 1, 1];
  pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, true));
  v.setFloat32(108, VOX_OFFSET, true);
  v.setFloat32(112, 1, true); // scl_slope
  v.setFloat32(116, 0, true); // scl_inter
  out[123] = 2; // xyzt_units: NIFTI_UNITS_MM
  const desc = new TextEncoder().encode(
    (options.description ?? "@lorapt/core").slice(0, 79),
  );
  out.set(desc, 148);
  v.setInt16(252, 2, true); // qform_code: NIFTI_XFORM_ALIGNED_ANAT
  v.setInt16(254, 2, true); // sform_code
  quatern.forEach((q, i) => v.setFloat32(256 + 4 * i, q, true));
  offset.forEach((q, i) => v.setFloat32(268 + 4 * i, q, true));
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) {
      v.setFloat32(280 + 16 * r + 4 * c, affine[r][c], true);
    }
  }
  out.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0"
  encodeVoxels(v, VOX_OFFSET, volume.data, datatype);
  const bytes = path.endsWith(".gz") ? await gzip(out) : out;
  await Deno.writeFile(path, bytes);
}

function decodeVoxels(
  view: DataView,
  offset: number,
  n: number,
  datatype: Datatype,
  le: boolean,
): VoxelArray {
  const [, size] = CODES[datatype];
  const bytes = view.buffer.slice(offset, offset + n * size) as ArrayBuffer;
  const hostLe = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (le !== hostLe && size > 1) {
    const b = new Uint8Array(bytes);
    for (let i = 0; i < b.length; i += size) b.subarray(i, i + size).reverse();
  }
  switch (datatype) {
    case "uint8":
      return new Uint8Array(bytes);
    case "int8":
      return new Int8Array(bytes);
    case "int16":
      return new Int16Array(bytes);
    case "uint16":
      return new Uint16Array(bytes);
    case "int32":
      return new Int32Array(bytes);
    case "float32":
      return new Float32Array(bytes);
    case "float64":
      return new Float64Array(bytes);
  }
}

function encodeVoxels(
  view: DataView,
  offset: number,
  data: VoxelArray,
  datatype: Datatype,
): void {
  const [, size] = CODES[datatype];
  const src = new Uint8Array(data.buffer, data.byteOffset, data.length * size);
  const hostLe = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const dst = new Uint8Array(view.buffer, offset, src.length);
  dst.set(src);
  if (!hostLe && size > 1) {
    for (let i = 0; i < dst.length; i += size) {
      dst.subarray(i, i + size).reverse();
    }
  }
}

/** The voxel-to-world affine: sform, else qform, else pixdim (nifti1.h). */
function headerAffine(view: DataView, le: boolean, h: nifti.NIFTI1): number[][] {
  const affine = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]];
  if (h.sform_code > 0) {
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 4; c++) {
        affine[r][c] = view.getFloat32(280 + 16 * r + 4 * c, le);
      }
    }
    return affine;
  }
  const dx = h.pixDims[1], dy = h.pixDims[2], dz = h.pixDims[3];
  if (h.qform_code > 0) {
    const [b, c, d] = [h.quatern_b, h.quatern_c, h.quatern_d];
    const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
    const qfac = h.pixDims[0] < 0 ? -1 : 1;
    const R = [
      [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
      [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
      [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c],
    ];
    const scale = [dx, dy, qfac * dz];
    for (let r = 0; r < 3; r++) {
      for (let k = 0; k < 3; k++) affine[r][k] = R[r][k] * scale[k];
    }
    affine[0][3] = h.qoffset_x;
    affine[1][3] = h.qoffset_y;
    affine[2][3] = h.qoffset_z;
    return affine;
  }
  affine[0][0] = dx;
  affine[1][1] = dy;
  affine[2][2] = dz;
  return affine;
}

/**
 * The qform parameters of an affine, following nifti1_io.c
 * `nifti_mat44_to_quatern`: column norms become pixdims, a negative
 * determinant flips the third column (qfac = −1), the rotation is the polar
 * factor (nearest orthogonal matrix) and is converted to a unit quaternion
 * with a ≥ 0.
 */
function affineToQuaternion(affine: number[][]): {
  quatern: [number, number, number];
  offset: [number, number, number];
  qfac: number;
} {
  const norms = spacingFromAffine(affine).map((s) => (s > 0 ? s : 1));
  let M = [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r][c] / norms[c]));
  let qfac = 1;
  if (det3(M) < 0) {
    qfac = -1;
    for (let r = 0; r < 3; r++) M[r][2] = -M[r][2];
  }
  // Polar decomposition by Newton iteration Q <- (Q + Q^-T) / 2.
  for (let it = 0; it < 50; it++) {
    const inv = inv3(M);
    if (!inv) break;
    const next = M.map((row, r) => row.map((x, c) => 0.5 * (x + inv[c][r])));
    const delta = next.flat().reduce((s, x, i) => s + Math.abs(x - M.flat()[i]), 0);
    M = next;
    if (delta < 1e-12) break;
  }
  const [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = M;
  let a = r11 + r22 + r33 + 1, b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = 0.25 * (r32 - r23) / a;
    c = 0.25 * (r13 - r31) / a;
    d = 0.25 * (r21 - r12) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = 0.25 * (r12 + r21) / b;
      d = 0.25 * (r13 + r31) / b;
      a = 0.25 * (r32 - r23) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = 0.25 * (r12 + r21) / c;
      d = 0.25 * (r23 + r32) / c;
      a = 0.25 * (r13 - r31) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = 0.25 * (r13 + r31) / d;
      c = 0.25 * (r23 + r32) / d;
      a = 0.25 * (r21 - r12) / d;
    }
    if (a < 0) [b, c, d] = [-b, -c, -d];
  }
  return {
    quatern: [b, c, d],
    offset: [affine[0][3], affine[1][3], affine[2][3]],
    qfac,
  };
}

function det3(m: number[][]): number {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

function inv3(m: number[][]): number[][] | null {
  const det = det3(m);
  if (Math.abs(det) < 1e-12) return null;
  const cof = (r: number, c: number) => {
    const rows = [0, 1, 2].filter((i) => i !== r);
    const cols = [0, 1, 2].filter((i) => i !== c);
    const v = m[rows[0]][cols[0]] * m[rows[1]][cols[1]] -
      m[rows[0]][cols[1]] * m[rows[1]][cols[0]];
    return (r + c) % 2 === 0 ? v : -v;
  };
  // inverse = adjugate / det; adjugate[r][c] = cofactor[c][r]
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => cof(c, r) / det));
}

async function pipeThrough(
  bytes: Uint8Array,
  stream: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const body = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(stream);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** Decompresses gzip bytes (throws on truncated or corrupt input). */
export function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  return pipeThrough(bytes, new DecompressionStream("gzip"));
}

/** Compresses bytes with gzip. */
export function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return pipeThrough(bytes, new CompressionStream("gzip"));
}
