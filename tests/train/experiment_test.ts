/**
 * The experiment grids, shards, results file, tables and Fig. 3 plot of
 * train/experiment.ts, checked against hand-counted grids and hand-computed
 * means and standard deviations.
 */
import assert from "node:assert/strict";
import {
  appendResult,
  configDifferences,
  expandGrid,
  fig3Svg,
  gridAxes,
  GridError,
  parseResults,
  parseShard,
  readResults,
  type ResultRecord,
  resultsTable,
  shardCells,
  summarizeResults,
} from "../../train/mod.ts";

/** A results line with the fields the tables read; the rest filled with plausible values. */
function rec(o: Partial<ResultRecord> & Pick<ResultRecord, "dataset" | "method" | "seed">): ResultRecord {
  const base = {
    experiment: "table2",
    rank: null,
    trainSize: 5,
    params: 1_000_000,
    totalParams: 2_000_000,
    nTest: 4,
    missed: 0,
    dice: 0.5,
    diceSd: null,
    hd95: 5,
    hd95Sd: null,
    hdMax: 6,
    hdMaxSd: null,
    assd: 1,
    assdSd: null,
    seconds: 1,
    finished: "2026-01-01T00:00:00.000Z",
    runDir: "r",
    config: {},
    versions: {},
    backend: "cpu",
  };
  const r = { ...base, ...o } as ResultRecord;
  r.key = `${r.experiment}/${r.dataset}/${r.method}${
    r.rank === null ? "" : `-r${r.rank}`
  }/n${r.trainSize}/seed${r.seed}`;
  return r;
}

Deno.test("grids: cell counts of every experiment, and flag overrides", () => {
  const count = (e: "table1" | "table2" | "table3" | "fig3", datasets: string[], o = {}) =>
    expandGrid(e, datasets, gridAxes(e, o)).length;
  assert.equal(count("table1", ["eadc"]), 5 * 6); // 5 ranked methods × r ∈ {1,2,4,8,16,32}
  assert.equal(count("table2", ["eadc", "lpba40", "hfh"]), 3 * 8);
  assert.equal(count("table3", ["eadc", "lpba40", "hfh"], { seeds: "1,2,3" }), 3 * 8 * 3);
  assert.equal(count("fig3", ["eadc"]), 4 * 8); // sizes 5, 10, 20, 40
  assert.equal(count("fig3", ["eadc"], { trainSizes: "5,10", methods: "full,lora-pt" }), 2 * 2);
  // A method without a rank appears once in the rank sweep; a pinned rank leaves the sweep.
  assert.equal(count("table1", ["eadc"], { methods: "full,lora-pt" }), 1 + 6);
  assert.equal(count("table1", ["eadc"], { methods: "full,lora-pt:4" }), 2);
  assert.equal(count("table2", ["eadc"], { ranks: "1,2" }), 3 + 5 * 2); // full, linear-probe, ssf + 5 × 2

  const t2 = gridAxes("table2").methods.map((m) => `${m.method}:${m.rank}`);
  assert.deepEqual(t2, [
    "full:null",
    "linear-probe:null",
    "lora:32",
    "adapter:32",
    "ssf:null",
    "lotr:2",
    "pissa:2",
    "lora-pt:1",
  ]);
  assert.deepEqual(gridAxes("table3").trainSizes, [10]);
  assert.deepEqual(gridAxes("table2").seeds, [1000]);

  const cells = expandGrid("table2", ["a", "b"], gridAxes("table2", { seeds: "1,2" }));
  assert.equal(new Set(cells.map((c) => c.key)).size, cells.length, "keys are unique");
  assert.deepEqual(cells.map((c) => c.index), cells.map((_, i) => i));
  assert.equal(cells[0].key, "table2/a/full/n5/seed1");
  assert.equal(cells[5].key, "table2/a/lora-r32/n5/seed2");
  assert.equal(cells[16].key, "table2/b/full/n5/seed1");
});

Deno.test("grids: a bad axis names the flag and the value", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => gridAxes("table2", { methods: "full,lora-pt,magic" }), /^--methods: unknown method "magic"/],
    [() => gridAxes("table2", { methods: "full:4" }), /^--methods: full takes no rank, got "full:4"$/],
    [() => gridAxes("table2", { methods: "lora:0" }), /^--methods: rank "0" of lora is not ≥ 1$/],
    [() => gridAxes("table2", { methods: "lora,lora" }), /^--methods: lora is listed twice$/],
    [() => gridAxes("table2", { methods: " , " }), /^--methods: the list is empty$/],
    [
      () => gridAxes("table1", { methods: "lora:4", ranks: "1,2" }),
      /^--methods lora:4 and --ranks 1,2 both set lora's rank; give one of them$/,
    ],
    [() => gridAxes("table2", { methods: "full,ssf", ranks: "2" }), /^--ranks 2: none of the methods \(full, ssf\)/],
    [() => gridAxes("table2", { trainSizes: "5,0" }), /^--train-sizes: "0" is not an integer ≥ 1$/],
    [() => gridAxes("table2", { trainSizes: "5,5" }), /^--train-sizes: 5 is listed twice$/],
    [() => gridAxes("table2", { seeds: "1.5" }), /^--seeds: "1\.5" is not an integer ≥ 0$/],
    [() => gridAxes("nope" as "table1"), /^unknown experiment "nope"/],
    [() => expandGrid("table2", ["a", "a"], gridAxes("table2")), /^--data: dataset name "a" is given twice$/],
    [() => expandGrid("table2", ["a b"], gridAxes("table2")), /^--data: dataset name "a b" may hold only/],
  ];
  for (const [fn, pattern] of cases) {
    assert.throws(fn, (e: unknown) => e instanceof GridError && pattern.test(e.message), String(pattern));
  }
});

Deno.test("shards: n shards cover every cell exactly once, sizes differ by at most one", () => {
  const cells = expandGrid("table2", ["a", "b", "c"], gridAxes("table2", { seeds: "1,2" })); // 48 cells
  for (let n = 1; n <= 9; n++) {
    const seen = new Map<string, number>();
    const sizes: number[] = [];
    for (let i = 1; i <= n; i++) {
      const part = shardCells(cells, parseShard(`${i}/${n}`));
      sizes.push(part.length);
      for (const c of part) seen.set(c.key, (seen.get(c.key) ?? 0) + 1);
    }
    assert.equal(seen.size, cells.length, `n=${n}`);
    assert.ok([...seen.values()].every((k) => k === 1), `n=${n}: a cell in two shards`);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n}: sizes ${sizes}`);
  }
  // Round robin: shard 2 of 5 takes grid indices 1, 6, 11, …
  assert.deepEqual(shardCells(cells, { index: 2, count: 5 }).slice(0, 3).map((c) => c.index), [1, 6, 11]);
  assert.deepEqual(parseShard(" 3 / 3 "), { index: 3, count: 3 });
  for (
    const [text, pattern] of [
      ["0/3", /--shard 0\/3: I must be in 1\.\.3/],
      ["4/3", /--shard 4\/3: I must be in 1\.\.3/],
      ["1/0", /--shard 1\/0: N must be at least 1/],
      ["3", /--shard "3" is not I\/N/],
      ["a/b", /--shard "a\/b" is not I\/N/],
      ["-1/2", /--shard "-1\/2" is not I\/N/],
    ] as const
  ) assert.throws(() => parseShard(text), pattern);
});

Deno.test("results.jsonl: a truncated last line is ignored (its cell reruns) and the next append stays whole", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/results.jsonl`;
    assert.equal((await readResults(path)).records.size, 0, "a missing file has no records");
    const a = rec({ dataset: "d", method: "full", seed: 1 });
    const b = rec({ dataset: "d", method: "lora-pt", rank: 1, seed: 1 });
    const c = rec({ dataset: "d", method: "ssf", seed: 1 });
    await appendResult(path, a);
    await appendResult(path, b);
    // Kill the writer of b halfway through its line.
    const text = await Deno.readTextFile(path);
    const cut = text.length - Math.floor((JSON.stringify(b).length + 1) / 2);
    await Deno.writeTextFile(path, text.slice(0, cut));

    const cells = expandGrid("table2", ["d"], gridAxes("table2", { methods: "full,lora-pt,ssf", seeds: "1" }));
    let parsed = await readResults(path);
    assert.deepEqual([...parsed.records.keys()], [a.key]);
    assert.deepEqual(parsed.badLines, [2]);
    assert.deepEqual(cells.filter((x) => !parsed.records.has(x.key)).map((x) => x.key), [b.key, c.key]);

    await appendResult(path, b);
    await appendResult(path, c);
    parsed = await readResults(path);
    assert.deepEqual([...parsed.records.keys()], [a.key, b.key, c.key]);
    assert.deepEqual(parsed.badLines, [2], "the fragment stays, on a line of its own");
    assert.deepEqual(parsed.records.get(b.key), b);
    assert.equal(cells.filter((x) => !parsed.records.has(x.key)).length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("results.jsonl: blank lines, non-records and duplicate keys", () => {
  const a = rec({ dataset: "d", method: "full", seed: 1, dice: 0.7 });
  const a2 = { ...a, dice: 0.1 };
  const text = [JSON.stringify(a), "", "[1,2]", '{"key":"x"}', JSON.stringify(a2), ""].join("\n");
  const r = parseResults(text);
  assert.equal(r.records.size, 1);
  assert.equal(r.records.get(a.key)!.dice, 0.7, "the first line of a key counts");
  assert.deepEqual(r.badLines, [3, 4]);
  assert.deepEqual(r.duplicates, [a.key]);
});

Deno.test("concurrent appends from many writers leave whole lines", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/results.jsonl`;
    const records = Array.from({ length: 40 }, (_, i) => rec({ dataset: "d", method: "full", seed: i }));
    await Promise.all(records.map((r) => appendResult(path, r)));
    const parsed = await readResults(path);
    assert.equal(parsed.records.size, 40);
    assert.deepEqual(parsed.badLines, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configDifferences lists each changed setting", () => {
  assert.deepEqual(configDifferences({ epochs: 1000, lr: 1e-3 }, { epochs: 1000, lr: 1e-3 }), []);
  assert.deepEqual(configDifferences({ epochs: 1000, lr: 1e-3, model: "unetr" }, { epochs: 5, lr: 1e-3 }), [
    "epochs: 1000 → 5",
    'model: "unetr" → absent',
  ]);
});

/** Hand-made results: two datasets, two methods, one to three seeds, one cell missing. */
const HAND = [
  // eadc, LoRA-PT r=1, seeds 1000 and 1001: Dice 80, 84 → 82.00 ± √((2² + 2²)/1) = 2.83; HD95 5, 6 → 5.500 ± 0.707.
  rec({ dataset: "eadc", method: "lora-pt", rank: 1, seed: 1000, params: 2_844_488, dice: 0.80, hd95: 5, hdMax: 7 }),
  rec({ dataset: "eadc", method: "lora-pt", rank: 1, seed: 1001, params: 2_844_488, dice: 0.84, hd95: 6, hdMax: 8 }),
  // eadc, Full, one seed: the SD is over its test subjects (diceSd, hd95Sd).
  rec({
    dataset: "eadc",
    method: "full",
    seed: 1000,
    params: 93_011_170,
    dice: 0.75,
    diceSd: 0.05,
    hd95: 7.25,
    hd95Sd: 1.5,
    hdMax: 9,
    hdMaxSd: 2,
  }),
  // lpba40, LoRA-PT, seeds 1000–1002: Dice 70, 72, 74 → 72.00 ± 2.00; HD95 4, 5, 9 → 6.000 ± √(7) = 2.646.
  rec({ dataset: "lpba40", method: "lora-pt", rank: 1, seed: 1000, params: 2_844_488, dice: 0.70, hd95: 4 }),
  rec({ dataset: "lpba40", method: "lora-pt", rank: 1, seed: 1001, params: 2_844_488, dice: 0.72, hd95: 5 }),
  rec({ dataset: "lpba40", method: "lora-pt", rank: 1, seed: 1002, params: 2_844_488, dice: 0.74, hd95: 9, missed: 1 }),
];

Deno.test("summaries: mean ± SD over seeds, or over subjects for a single seed", () => {
  const s = summarizeResults(HAND);
  assert.deepEqual(s.map((x) => `${x.dataset}/${x.method}/${x.seeds}`), [
    "eadc/full/1",
    "eadc/lora-pt/2",
    "lpba40/lora-pt/3",
  ]);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  close(s[0].dice.mean, 0.75);
  close(s[0].dice.sd, 0.05);
  assert.equal(s[0].dice.over, "subjects");
  close(s[1].dice.mean, 0.82);
  close(s[1].dice.sd, Math.sqrt(0.0008));
  assert.equal(s[1].dice.over, "seeds");
  close(s[2].hd95.mean, 6);
  close(s[2].hd95.sd, Math.sqrt(7));
  assert.equal(s[2].missed, 1);
});

Deno.test("table 2 format: Params (M), Dice ↑ and HD95 ↓ per dataset, mean ± SD, best in bold", () => {
  const md = resultsTable(HAND, {
    experiment: "table2",
    expected: 12,
    order: {
      datasets: ["eadc", "lpba40"],
      methods: [{ method: "full", rank: null }, { method: "lora-pt", rank: 1 }],
      trainSizes: [5],
    },
  });
  const lines = md.split("\n");
  assert.equal(lines[0], "## Table 2: 5 training subjects");
  assert.deepEqual(lines.slice(2, 6), [
    "| Method | Params (M) | eadc Dice ↑ | eadc HD95 ↓ | lpba40 Dice ↑ | lpba40 HD95 ↓ |",
    "|---|---:|---:|---:|---:|---:|",
    // Full: 93,011,170 → 93.0112; lpba40 not run → –.
    "| Full tuning | 93.0112 | 75.00 ± 5.00 | 7.250 ± 1.500 | – | – |",
    // Best Dice (max) and best HD95 (min) of eadc in bold; lpba40 has one row, so nothing competes.
    "| LoRA-PT (r=1) | 2.8445 | **82.00** ± 2.83 | **5.500** ± 0.707 | 72.00 ± 2.00 | 6.000 ± 2.646 |",
  ]);
  assert.match(md, /seeds per cell: 1–3\./);
  assert.match(md, /1 test prediction\(s\) were empty/);
  assert.match(md, /6 of 12 cells done; a cell not run yet shows –\./);
  assert.match(md, /HD95 is the paper's definition/);

  const hdMax = resultsTable(HAND, { experiment: "table2", hd: "hdMax" });
  assert.match(hdMax, /\| eadc HDmax ↓ \|/);
  // HDmax of eadc LoRA-PT: 7, 8 → 7.500 ± 0.707; Full: 9 ± 2 (over subjects).
  assert.match(hdMax, /\| Full tuning \| 93\.0112 \| 75\.00 ± 5\.00 \| 9\.000 ± 2\.000 \|/);
  assert.match(hdMax, /\| LoRA-PT \(r=1\) \| 2\.8445 \| \*\*82\.00\*\* ± 2\.83 \| \*\*7\.500\*\* ± 0\.707 \|/);
});

Deno.test("table 1 format: one column per rank, the best rank of each method in bold", () => {
  const t1 = (method: string, rank: number, dice: number, hd95: number) =>
    rec({ experiment: "table1", dataset: "eadc", method, rank, seed: 1000, dice, hd95, params: rank * 1000 });
  const md = resultsTable([
    t1("lora", 1, 0.8428, 5.5),
    t1("lora", 32, 0.8435, 5.334),
    t1("lora-pt", 1, 0.8447, 5.311),
    t1("lora-pt", 32, 0.8369, 5.9),
  ], { experiment: "table1" });
  const lines = md.split("\n");
  assert.equal(lines[0], "## Table 1: Dice by rank");
  const at = lines.indexOf("Dice ↑ (%)");
  assert.deepEqual(lines.slice(at + 2, at + 6), [
    "| Method | r=1 | r=32 |",
    "|---|---:|---:|",
    "| LoRA | 84.28 | **84.35** |",
    "| LoRA-PT | **84.47** | 83.69 |",
  ]);
  const hd = lines.indexOf("HD95 ↓ (mm)");
  assert.deepEqual(lines.slice(hd + 4, hd + 6), ["| LoRA | 5.500 | **5.334** |", "| LoRA-PT | **5.311** | 5.900 |"]);
  const p = lines.indexOf("Params (M)");
  assert.deepEqual(lines.slice(p + 4, p + 6), ["| LoRA | 0.0010 | 0.0320 |", "| LoRA-PT | 0.0010 | 0.0320 |"]);
  assert.ok(lines.includes("### eadc, 5 training subjects"));
});

/** An XML element. */
interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

/** A strict little XML reader: balanced tags, quoted unique attributes, escaped text; throws otherwise. */
function parseXml(src: string): XmlNode {
  const root: XmlNode = { name: "#document", attrs: {}, children: [], text: "" };
  const stack = [root];
  const checkText = (t: string) => {
    if (/[<>]/.test(t) || /&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(t)) throw new Error(`bad text ${JSON.stringify(t)}`);
  };
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf("<", i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    checkText(text);
    stack.at(-1)!.text += text;
    if (lt < 0) break;
    const gt = src.indexOf(">", lt);
    if (gt < 0) throw new Error("unclosed tag");
    const tag = src.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith("/")) {
      const open = stack.pop()!;
      if (open.name !== tag.slice(1).trim()) throw new Error(`</${tag.slice(1)}> closes <${open.name}>`);
      continue;
    }
    const self = tag.endsWith("/");
    const m = /^([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*\/?$/.exec(tag);
    if (!m) throw new Error(`bad tag <${tag}>`);
    const attrs: Record<string, string> = {};
    for (const a of m[2].matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (a[1] in attrs) throw new Error(`duplicate attribute ${a[1]} in <${m[1]}>`);
      checkText(a[2]);
      attrs[a[1]] = a[2];
    }
    const node: XmlNode = { name: m[1], attrs, children: [], text: "" };
    stack.at(-1)!.children.push(node);
    if (!self) stack.push(node);
  }
  if (stack.length !== 1) throw new Error(`<${stack.at(-1)!.name}> is not closed`);
  if (root.children.length !== 1 || root.text.trim() !== "") throw new Error("not one root element");
  return root.children[0];
}

const all = (
  n: XmlNode,
  pred: (x: XmlNode) => boolean,
): XmlNode[] => [...(pred(n) ? [n] : []), ...n.children.flatMap((c) => all(c, pred))];
const texts = (n: XmlNode): string[] => all(n, (x) => x.name === "text").map((x) => x.text);

Deno.test("fig3.svg: a well-formed standalone SVG, two panels per dataset, one series per method, a dot per size", () => {
  const records: ResultRecord[] = [];
  const methods = [["full", null], ["pissa", 2], ["lora-pt", 1]] as const;
  for (const [method, rank] of methods) {
    for (const n of [5, 10, 20, 40]) {
      for (const seed of [1, 2]) {
        // LoRA-PT has no n = 40 point: a series shows only what ran.
        if (method === "lora-pt" && n === 40) continue;
        const dice = 0.8 + n / 1000 + seed / 100;
        records.push(
          rec({ experiment: "fig3", dataset: "eadc", method, rank, trainSize: n, seed, dice, hd95: 6 - n / 20 }),
        );
      }
    }
  }
  const svg = fig3Svg(records);
  const root = parseXml(svg);
  assert.equal(root.name, "svg");
  assert.equal(root.attrs.xmlns, "http://www.w3.org/2000/svg");
  assert.ok(Number(root.attrs.width) > 0 && Number(root.attrs.height) > 0);
  const panels = all(root, (x) => x.attrs.class === "panel");
  assert.deepEqual(panels.map((p) => p.attrs["data-metric"]), ["Dice ↑", "HD95 ↓"]);
  for (const panel of panels) {
    const series = all(panel, (x) => x.attrs.class === "series");
    assert.deepEqual(series.map((s) => s.attrs["data-method"]), ["Full tuning", "PiSSA (r=2)", "LoRA-PT (r=1)"]);
    assert.deepEqual(series.map((s) => all(s, (x) => x.name === "circle").length), [4, 4, 3]);
    assert.deepEqual(series.map((s) => all(s, (x) => x.name === "polyline").length), [1, 1, 1]);
    // Two seeds per point: one ± SD whisker per dot.
    assert.deepEqual(series.map((s) => all(s, (x) => x.name === "line").length), [4, 4, 3]);
    const t = texts(panel);
    for (const label of ["5", "10", "20", "40", "training subjects"]) assert.ok(t.includes(label), label);
  }
  assert.ok(texts(panels[0]).includes("Dice (%)"));
  assert.ok(texts(panels[1]).includes("HD95 (mm)"));
  // Dice rises with n: the Full-tuning dots go up the page (smaller y) from left to right.
  const dots = all(all(panels[0], (x) => x.attrs.class === "series")[0], (x) => x.name === "circle");
  const xs = dots.map((d) => Number(d.attrs.cx)), ys = dots.map((d) => Number(d.attrs.cy));
  assert.deepEqual([...xs].sort((a, b) => a - b), xs);
  assert.deepEqual([...ys].sort((a, b) => b - a), ys);
  // log2 x axis: 5, 10, 20, 40 are evenly spaced.
  assert.ok(Math.abs((xs[1] - xs[0]) - (xs[3] - xs[2])) <= 0.2);
  const legend = all(root, (x) => x.attrs.class === "legend")[0];
  assert.deepEqual(texts(legend), ["Full tuning", "PiSSA (r=2)", "LoRA-PT (r=1)"]);

  const two = parseXml(fig3Svg([...records, ...records.map((r) => ({ ...r, dataset: "hfh", key: r.key + "h" }))]));
  assert.equal(all(two, (x) => x.attrs.class === "panel").length, 4, "two panels per dataset");
  assert.throws(() => parseXml("<svg><g></svg>"), /closes/);
});
