/**
 * Opens a local HTML page in headless Chromium (driven by playwright-core),
 * waits until `document.body.dataset.status` leaves `"loading"`, saves a
 * screenshot of `#gl`, and prints one JSON line: the final status, console
 * errors, requests to anything but file:, data: or blob: URLs, and the time.
 *
 * Usage: `deno run -A tests/viz/browser_check.ts PAGE.html SHOT.png`.
 * It runs as its own process because playwright-core reads /proc and the
 * home folder, which needs `-A`, more than the test task grants.
 * @module
 */
import { chromium } from "playwright-core";

const [page, shotPath] = Deno.args;
if (!page || !shotPath) {
  console.error("usage: browser_check.ts PAGE.html SHOT.png");
  Deno.exit(2);
}
const started = performance.now();
const profile = await Deno.makeTempDir({ prefix: "lorapt-chromium-" });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium",
  headless: true,
  viewport: { width: 900, height: 700 },
  timeout: 30_000,
  args: [
    ...["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    ...["--disable-component-update", "--disable-sync", "--no-first-run"],
  ],
});
const result = { status: "unknown", consoleErrors: [] as string[], remote: [] as string[], ms: 0 };
try {
  const tab = await context.newPage();
  tab.on("console", (m) => m.type() === "error" && result.consoleErrors.push(m.text()));
  tab.on("pageerror", (e) => result.consoleErrors.push(`pageerror: ${e.message}`));
  tab.on("request", (r) => !/^(file|data|blob):/.test(r.url()) && result.remote.push(r.url()));
  await tab.goto(new URL(page, `file://${Deno.cwd()}/`).href);
  // Page-side expressions as strings: this file is type-checked without the DOM library.
  await tab.waitForFunction('document.body.dataset.status !== "loading"', null, { timeout: 30_000 });
  result.status = String(await tab.evaluate("document.body.dataset.status"));
  await tab.locator("#gl").screenshot({ path: shotPath });
} catch (e) {
  result.consoleErrors.push(`browser_check: ${(e as Error).message}`);
} finally {
  await context.close();
  await Deno.remove(profile, { recursive: true });
}
result.ms = Math.round(performance.now() - started);
console.log(JSON.stringify(result));
