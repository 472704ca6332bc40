/**
 * Scoped memory management: `tidy(fn)` disposes every tensor created inside
 * `fn` that `fn` does not return, so training loops need no manual `dispose`.
 * Tensors flagged `requiresGrad` (parameters) and tensors passed to `keep`
 * survive, as do tensors created outside the scope.
 * @module
 */
import type { Tensor } from "./tensor.ts";

const scopes: Set<Tensor>[] = [];
const kept = new WeakSet<Tensor>();

/** @internal Called by the Tensor constructor. */
export function trackTensor(t: Tensor): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
}

/** Exempts `t` from disposal by enclosing `tidy` scopes. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  return t;
}

function collect(value: unknown, out: Set<Tensor>, seen: Set<unknown>): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if ((value as { isTensor?: boolean }).isTensor === true) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, seen);
  }
}

/**
 * Runs `fn` and disposes the tensors it created, except those it returns
 * (found in arrays, plain objects and Maps), kept ones and parameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor, tidy } from "@lorapt/core";
 * const x = tensor([1, 2, 3]);
 * const y = tidy(() => x.mul(2).add(1)); // the intermediate x*2 is freed
 * assert.ok((await y.data())[2] === 7);
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    throw new Error("tidy: fn returned a Promise; tidy scopes must be synchronous");
  }
  const keepSet = new Set<Tensor>();
  collect(result, keepSet, new Set());
  for (const t of scope) {
    if (keepSet.has(t) || kept.has(t) || t.requiresGrad) {
      if (scopes.length) scopes[scopes.length - 1].add(t);
      continue;
    }
    t.dispose();
  }
  return result;
}
