/**
 * Named errors. Messages name the op and the shapes involved, for example
 * `matmul: [2,3] @ [4,5]: inner dimensions 3 and 4 differ`.
 * @module
 */

/** An op received inputs whose shapes or dtypes it cannot combine. */
export class ShapeError extends Error {
  /** Creates the error; `message` should start with the op name. */
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/** Reverse-mode differentiation reached an op that has no gradient rule. */
export class NoGradientError extends Error {
  /** The op that has no vector-Jacobian product. */
  readonly op: string;
  /** Creates the error for `op`. */
  constructor(op: string, detail = "") {
    super(`NoGradientError: ${op}${detail ? `: ${detail}` : ""}`);
    this.name = "NoGradientError";
    this.op = op;
  }
}

/** Formats a shape as `[2,3,4]` for messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}
