#!/usr/bin/env node
// Reads one run_cpu_bench.sh results folder (detstream_<precision>.json, build_<precision>.json,
// ort.json) and prints a Markdown table: latency, throughput, plan build time and size, and the
// ratio detstream median / ORT median (below 1.00: detstream is faster than ONNX Runtime).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/report_table.js RESULTS_DIR');
  process.exit(2);
}
const read = (file) => {
  const full = path.join(dir, file);
  return fs.existsSync(full) ? JSON.parse(fs.readFileSync(full, 'utf8')) : null;
};

const ort = read('ort.json');
const precisions = fs.readdirSync(dir)
  .map((f) => /^build_(.+)\.json$/.exec(f))
  .filter(Boolean)
  .map((m) => m[1])
  .sort((a, b) => (a === 'fp32' ? -1 : b === 'fp32' ? 1 : a.localeCompare(b)));

const fixed = (v, digits) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');
// Latencies: two decimals from 1 ms up, three significant digits below (tiny test models).
const ms = (v) => (typeof v === 'number' && Number.isFinite(v) ? (v >= 1 ? v.toFixed(2) : v.toPrecision(3)) : '-');
const ratio = (median) => (ort && typeof median === 'number' ? `${(median / ort.latency_ms.median).toFixed(2)}x` : '-');

const rows = [];
let sample = ort;
for (const precision of precisions) {
  const build = read(`build_${precision}.json`);
  const bench = read(`detstream_${precision}.json`);
  if (bench) sample = sample || bench;
  const engine = `detstream ${bench ? bench.backend : (build && build.backend) || ''}`.trim();
  if (!bench) {
    const why = build && build.error ? build.error : 'bench failed (see its log)';
    rows.push([engine, precision, '-', fixed(build && build.build_s, 2), '-', '-', '-', '-', '-', '-', '-', why]);
    continue;
  }
  const l = bench.latency_ms;
  rows.push([engine, bench.precision, bench.threads, fixed(build && build.build_s, 2),
             fixed(build && build.plan_bytes / (1024 * 1024), 1), fixed(bench.load_ms, 0), ms(l.min),
             ms(l.median), ms(l.mean), ms(l.p99), fixed(bench.throughput_img_s, 1),
             ratio(l.median)]);
}
if (ort) {
  const l = ort.latency_ms;
  rows.push([`ONNX Runtime ${ort.runtime_version} (CPU EP)`, ort.precision,
             ort.threads_default ? `${ort.threads} (default)` : ort.threads, '-', '-', fixed(ort.load_ms, 0),
             ms(l.min), ms(l.median), ms(l.mean), ms(l.p99), fixed(ort.throughput_img_s, 1),
             '1.00x']);
}

const when = new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
if (sample) {
  const shape = sample.inputs && sample.inputs.length ? sample.inputs[0].shape.join('x') : '?';
  console.log(`${path.basename(sample.model)} (input ${shape}), ${when}, ${sample.machine.cpu}, ` +
              `${sample.machine.cores} cores, warmup ${sample.warmup}, ${sample.iterations} iterations`);
  console.log();
}
const header = ['engine', 'precision', 'threads', 'plan build s', 'plan MiB', 'load ms', 'min ms', 'median ms',
                'mean ms', 'p99 ms', 'img/s', 'median / ORT'];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => ' --- ').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log();
console.log('median / ORT = detstream median latency / ONNX Runtime median latency: below 1.00x detstream is faster.');
