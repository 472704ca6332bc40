/**
 * Python peers for the benchmarks: run a script beside this file with
 * python3 and read the JSON object it prints.
 * @module
 */

/** Runs `peers/<script>` with python3 and parses its JSON output; null when python3 or its modules are missing. */
export async function pythonJson<T>(script: string, args: string[]): Promise<T | null> {
  try {
    const out = await new Deno.Command("python3", {
      args: [new URL(`./${script}`, import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return out.success ? JSON.parse(new TextDecoder().decode(out.stdout)) as T : null;
  } catch {
    return null;
  }
}

/** Best times in seconds per spec ("mm:M,K,N", "conv:C,S"), plus numpy's version and BLAS core. */
export type NumpyTimes = Record<string, number> & { numpy: string; blas: string };

/** Times the given specs in numpy (`numpy_ops.py`); null when python3 or numpy is missing. */
export function numpyTimes(specs: string[]): Promise<NumpyTimes | null> {
  return pythonJson<NumpyTimes>("numpy_ops.py", specs);
}
