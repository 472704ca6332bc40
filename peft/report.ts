/**
 * The trainable-parameter report of an adapted model: every trainable
 * tensor with its shape and count, the total, and its share of the base
 * model. Counts come from the constructed modules' shapes, so they work on
 * shape-only (meta) models.
 * @module
 */
import type { Tensor } from "../tensor/mod.ts";
import type { PeftMethod } from "./config.ts";

/** One trainable tensor. */
export interface PeftReportEntry {
  /** Dotted parameter name. */
  name: string;
  /** Shape. */
  shape: number[];
  /** Number of elements. */
  count: number;
}

/** What {@link applyPeft} reports. */
export interface PeftReport {
  /** The method. */
  method: PeftMethod;
  /** `"method"`, `"method r=…"` or `"lora-pt r=… (paper)"`: how to cite the row. */
  label: string;
  /** Trainable tensors in model order. */
  entries: PeftReportEntry[];
  /** Sum of the entries' counts. */
  total: number;
  /** Parameters of the base model before adaptation. */
  baseTotal: number;
  /** 100 · total / baseTotal. */
  percent: number;
}

/** Builds the report from the trainable tensors. */
export function buildReport(
  method: PeftMethod,
  label: string,
  trainable: ReadonlyMap<string, Tensor>,
  baseTotal: number,
): PeftReport {
  const entries = [...trainable].map(([name, t]) => ({ name, shape: [...t.shape], count: t.size }));
  const total = entries.reduce((n, e) => n + e.count, 0);
  return { method, label, entries, total, baseTotal, percent: (100 * total) / baseTotal };
}

/**
 * The report as text: one line per trainable tensor (or, with `summary`,
 * one line per module prefix up to the block index), then the total.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatReport } from "./mod.ts";
 * const text = formatReport({
 *   method: "lora", label: "lora r=1", total: 10, baseTotal: 1000, percent: 1,
 *   entries: [{ name: "fc.lora_A", shape: [1, 4], count: 4 }, { name: "fc.lora_B", shape: [6, 1], count: 6 }],
 * });
 * assert.match(text, /total 10 of 1,000 \(1\.0000 %\)/);
 * ```
 */
export function formatReport(report: PeftReport, opts: { summary?: boolean } = {}): string {
  const fmt = (n: number) => n.toLocaleString("en-US");
  let rows: [string, string, number][];
  if (opts.summary) {
    const groups = new Map<string, number>();
    for (const e of report.entries) {
      const key = e.name.replace(/\.\d+\..*$/, ".*").replace(/^(decoder\d)\..*$/, "$1");
      groups.set(key, (groups.get(key) ?? 0) + e.count);
    }
    rows = [...groups].map(([k, n]) => [k, "", n]);
  } else {
    rows = report.entries.map((e) => [e.name, `[${e.shape.join(",")}]`, e.count]);
  }
  const w = Math.max(0, ...rows.map(([n]) => n.length));
  const lines = rows.map(([n, s, c]) => `${n.padEnd(w)}  ${s.padEnd(16)} ${fmt(c).padStart(12)}`);
  lines.push(
    `${report.label}: total ${fmt(report.total)} of ${fmt(report.baseTotal)} (${report.percent.toFixed(4)} %)`,
  );
  return lines.join("\n");
}
