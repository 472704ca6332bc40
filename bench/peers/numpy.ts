/**
 * Runs `bench/peers/numpy_ops.py` when python3 with numpy is present.
 * @module
 */

/** Best times in seconds per spec ("mm:M,K,N", "conv:C,S"), plus numpy's version and BLAS core. */
export type NumpyTimes = Record<string, number> & { numpy: string; blas: string };

/** Times the given specs in numpy; null when python3 or numpy is missing. */
export async function numpyTimes(specs: string[]): Promise<NumpyTimes | null> {
  try {
    const out = await new Deno.Command("python3", {
      args: [new URL("./numpy_ops.py", import.meta.url).pathname, ...specs],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return out.success ? JSON.parse(new TextDecoder().decode(out.stdout)) : null;
  } catch {
    return null;
  }
}
