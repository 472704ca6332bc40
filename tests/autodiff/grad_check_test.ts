import { checkGrad } from "../../mod.ts";
import { COMPOSITE_CASES, GRAD_CASES } from "./grad_cases.ts";

for (const [op, cases] of Object.entries(GRAD_CASES)) {
  for (const c of cases) {
    Deno.test(`gradient of ${op}: ${c.name} matches finite differences in float64`, async () => {
      await checkGrad(c.f, c.inputs(), c.opts);
    });
  }
}

for (const c of COMPOSITE_CASES) {
  Deno.test(`gradient of composite ${c.name} matches finite differences in float64`, async () => {
    await checkGrad(c.f, c.inputs(), c.opts);
  });
}
