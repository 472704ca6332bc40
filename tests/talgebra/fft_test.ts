import assert from "node:assert/strict";
import { complex, fft3, ifft3, imag, irfft3, real, rfft3, Rng, ShapeError, type Tensor, tensor } from "../../mod.ts";
import { assertClose } from "../helpers.ts";

/** Random float64 tensor, uniform in [−1, 1). */
function rand64(shape: number[], rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float64Array.from({ length: n }, () => rng.uniformIn(-1, 1)), shape);
}

/** The O(n²) DFT along the last axis of [tubes, n] complex data (interleaved), from the definition. */
function directDft(x: ArrayLike<number>, tubes: number, n: number, inverse: boolean): Float64Array {
  const out = new Float64Array(tubes * n * 2), sign = inverse ? 1 : -1;
  for (let t = 0; t < tubes; t++) {
    for (let k = 0; k < n; k++) {
      let sr = 0, si = 0;
      for (let l = 0; l < n; l++) {
        const a = (sign * 2 * Math.PI * ((k * l) % n)) / n;
        const xr = x[(t * n + l) * 2], xi = x[(t * n + l) * 2 + 1];
        sr += xr * Math.cos(a) - xi * Math.sin(a);
        si += xr * Math.sin(a) + xi * Math.cos(a);
      }
      out[(t * n + k) * 2] = inverse ? sr / n : sr;
      out[(t * n + k) * 2 + 1] = inverse ? si / n : si;
    }
  }
  return out;
}

const asComplex = (x: ArrayLike<number>) =>
  Float64Array.from({ length: x.length * 2 }, (_, i) => (i % 2 ? 0 : x[i / 2]));

Deno.test("fft3 equals the direct O(n²) DFT along mode 3 for n3 ∈ {1,2,3,5,7,12,13,48} and Bluestein lengths", async () => {
  const rng = new Rng(1);
  for (const n of [1, 2, 3, 5, 7, 12, 13, 48, 37, 97, 202]) {
    const a = rand64([3, 2, n], rng);
    const want = directDft(asComplex(await a.data()), 6, n, false);
    assertClose(await fft3(a).data(), want, { atol: 1e-12 * n, rtol: 0, what: `fft3 n3=${n}` });
    const z = rand64([2, 2, n, 2], rng);
    assertClose(await fft3(z).data(), directDft(await z.data(), 4, n, false), { atol: 1e-12 * n, rtol: 0 });
    assertClose(await ifft3(z).data(), directDft(await z.data(), 4, n, true), { atol: 1e-12, rtol: 0 });
  }
});

Deno.test("ifft3 inverts fft3 and fft3 inverts ifft3", async () => {
  const rng = new Rng(2);
  for (const n of [4, 9, 48]) {
    const z = rand64([2, 3, n, 2], rng);
    assertClose(await ifft3(fft3(z)).data(), await z.data(), { atol: 1e-13, rtol: 0 });
    assertClose(await fft3(ifft3(z)).data(), await z.data(), { atol: 1e-13, rtol: 0 });
  }
});

Deno.test("a real tensor's DFT is conjugate-symmetric and rfft3 keeps slices 0..⌊n3/2⌋", async () => {
  const rng = new Rng(3);
  for (const n of [1, 2, 5, 6, 12]) {
    const a = rand64([2, 3, n], rng), h = Math.floor(n / 2) + 1;
    const full = await fft3(a).array() as number[][][][];
    const half = await rfft3(a).array() as number[][][][];
    assert.deepEqual(rfft3(a).shape, [2, 3, h, 2]);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        for (let k = 0; k < n; k++) {
          const mirror = full[i][j][(n - k) % n];
          assertClose(full[i][j][k], [mirror[0], -mirror[1]], { atol: 1e-12, what: "conjugate symmetry" });
          if (k < h) assertClose(half[i][j][k], full[i][j][k], { atol: 1e-12, what: "rfft3 slice" });
        }
      }
    }
    assertClose(await irfft3(rfft3(a), n).data(), await a.data(), { atol: 1e-13, rtol: 0, what: `irfft3 n3=${n}` });
  }
});

Deno.test("irfft3 takes the real part of the Hermitian completion, like numpy's irfft", async () => {
  const rng = new Rng(4);
  const n = 6, half = rand64([2, 2, 4, 2], rng);
  const h = await half.data(), full = new Float64Array(2 * 2 * n * 2);
  for (let t = 0; t < 4; t++) {
    for (let k = 0; k < n; k++) {
      const j = k < 4 ? k : n - k, s = k < 4 ? 1 : -1, realOnly = k === 0 || k === 3;
      full[(t * n + k) * 2] = h[(t * 4 + j) * 2];
      full[(t * n + k) * 2 + 1] = realOnly ? 0 : s * h[(t * 4 + j) * 2 + 1];
    }
  }
  const want = directDft(full, 4, n, true).filter((_, i) => i % 2 === 0);
  assertClose(await irfft3(half, n).data(), want, { atol: 1e-13, rtol: 0 });
});

Deno.test("fft3 keeps float32 in float32 and matches float64 to single precision", async () => {
  const rng = new Rng(5);
  const a = rand64([4, 3, 12], rng);
  const a32 = a.cast("float32");
  const f32 = fft3(a32);
  assert.equal(f32.dtype, "float32");
  assertClose(await f32.data(), await fft3(a).data(), { atol: 1e-5, rtol: 1e-5 });
});

Deno.test("complex(), real(), imag() round-trip and name bad shapes", async () => {
  const rng = new Rng(6);
  const re = rand64([2, 2, 3], rng), im = rand64([2, 2, 3], rng);
  const z = complex(re, im);
  assertClose(await real(z).data(), await re.data(), { atol: 0 });
  assertClose(await imag(z).data(), await im.data(), { atol: 0 });
  assert.throws(() => real(re), ShapeError);
  assert.throws(() => complex(re, rand64([2, 3], rng)), /complex: real part \[2,2,3\] and imaginary part \[2,3\]/);
  assert.throws(() => fft3(rand64([2, 3], rng)), /fft3: expects a real \[n1,n2,n3\] or complex \[n1,n2,n3,2\]/);
  assert.throws(
    () => irfft3(rfft3(re), 5),
    /irfft3: n3 = 5 needs a complex \[n1,n2,3,2\] half spectrum, got \[2,2,2,2\]/,
  );
});
