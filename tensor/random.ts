/**
 * Seeded pseudo-random numbers. Every random choice in @lorapt/core comes from
 * an {@link Rng}, so a run with the same seed is reproducible bit for bit.
 *
 * The generator is xoshiro128** (Blackman & Vigna, 2018), seeded through
 * splitmix32 so that nearby seeds give unrelated streams.
 * @module
 */

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

/**
 * A seeded random generator (xoshiro128**).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "@lorapt/core";
 * const a = new Rng(42), b = new Rng(42);
 * assert.ok(a.uniform() === b.uniform());
 * ```
 */
export class Rng {
  #s = new Uint32Array(4);

  /** Creates a generator from an integer seed. */
  constructor(seed: number) {
    let st = Math.trunc(seed) | 0;
    for (let i = 0; i < 4; i++) {
      let v: number;
      [st, v] = splitmix32(st);
      this.#s[i] = v;
    }
  }

  /** The next 32-bit unsigned integer. */
  next(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.next() >>> 5; // 27 bits
    const lo = this.next() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A float uniform in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** An integer uniform in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    if (!(hi >= lo)) throw new RangeError(`Rng.int: empty range [${lo}, ${hi}]`);
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  /** A standard normal sample (Box–Muller). */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** A new generator whose stream is derived from this one. */
  fork(): Rng {
    return new Rng(this.next());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

let globalRng = new Rng(0);

/** Reseeds the global generator used when no explicit {@link Rng} is given. */
export function seed(n: number): void {
  globalRng = new Rng(n);
}

/** The global generator (seeded with 0 until {@link seed} is called). */
export function defaultRng(): Rng {
  return globalRng;
}
