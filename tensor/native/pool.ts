/**
 * Reuse of the native backend's freed float32 arrays. A fresh typed array
 * is zero-filled memory that the kernel then faults in page by page: for a
 * 4 MiB product that costs about a fifth of the sgemm itself (measured on
 * 1024³: 275 GFLOP/s into a reused array, 224 into a fresh one). Storage
 * that a tensor frees (its last reference gone, so nothing can read it any
 * more) goes back to a pool keyed by length, and kernels that overwrite
 * every element of their output take from it.
 *
 * Only arrays that own their whole buffer are pooled, never views. The
 * pool holds at most {@link POOL_BYTES}; past that a freed array is left to
 * the garbage collector. Contents of a taken array are unspecified, so only
 * kernels that write every element may call {@link takeFloat32}.
 * @module
 */

/** Largest total size of pooled arrays. */
export const POOL_BYTES = 256 * 2 ** 20;
/** Smaller arrays are not worth pooling: a fresh one costs little. */
const MIN_LENGTH = 1 << 14;

const pool = new Map<number, Float32Array[]>();
let pooledBytes = 0;

/** Gives a freed float32 array back, when it owns its buffer and fits the pool. */
export function recycle(a: unknown): void {
  if (!(a instanceof Float32Array) || a.length < MIN_LENGTH) return;
  if (a.byteOffset !== 0 || a.buffer.byteLength !== a.byteLength || a.buffer instanceof SharedArrayBuffer) return;
  if (pooledBytes + a.byteLength > POOL_BYTES) return;
  let list = pool.get(a.length);
  if (!list) pool.set(a.length, list = []);
  list.push(a);
  pooledBytes += a.byteLength;
}

/** A float32 array of `n` elements with unspecified contents: the caller must write every element. */
export function takeFloat32(n: number): Float32Array {
  const list = n >= MIN_LENGTH ? pool.get(n) : undefined;
  const a = list?.pop();
  if (!a) return new Float32Array(n);
  pooledBytes -= a.byteLength;
  return a;
}

/** Drops every pooled array (for tests and for callers that want the memory back now). */
export function clearNativePool(): void {
  pool.clear();
  pooledBytes = 0;
}

/** Bytes held by the pool now. */
export function nativePoolBytes(): number {
  return pooledBytes;
}
