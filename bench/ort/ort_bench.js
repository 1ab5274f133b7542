#!/usr/bin/env node
// ONNX Runtime (CPU execution provider, onnxruntime-node) peer of `detstream bench`: loads the same
// ONNX model, feeds the same fixed pseudo-random input (the xorshift32 sequence of
// app/commands/bench.cpp, values in [0,1)), runs warmup + N timed iterations and reports the same
// statistics (percentiles interpolate linearly between ranks, as app/latency_stats.cpp does) with
// the same JSON fields, so bench/run_cpu_bench.sh can compare the two directly.
//
// Each timed iteration is one `await session.run(feeds)`: that includes onnxruntime-node's
// JavaScript binding and output-tensor allocation (tens of microseconds), which detstream's timed
// execute() does not have; at YOLO latencies (milliseconds) it is well under 1%.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const USAGE = `usage: node bench/ort/ort_bench.js --model M.onnx [options]
  --model FILE        ONNX model (required)
  --warmup N          untimed runs first (default 10)
  --iterations N      timed runs, at least this many (default 100)
  --duration-s S      keep running until at least S seconds have passed
  --threads N         intra-op threads (default: ONNX Runtime's own, one per physical core)
  --batch N           batch for a model with a symbolic batch dimension (default 1)
  --imgsz N           H and W for symbolic spatial dimensions (default 640)
  --opt-level L       graph optimisation: disabled|basic|extended|all (default all)
  --json FILE         also write the results as JSON`;

function parseArgs(argv) {
  const options = { warmup: 10, iterations: 100, durationS: 0, threads: 0, batch: 1, imgsz: 640, optLevel: 'all' };
  const numeric = { '--warmup': 'warmup', '--iterations': 'iterations', '--duration-s': 'durationS',
                    '--threads': 'threads', '--batch': 'batch', '--imgsz': 'imgsz' };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') { console.log(USAGE); process.exit(0); }
    const value = argv[i + 1];
    if (value === undefined) fail(`${flag} needs a value\n${USAGE}`, 2);
    ++i;
    if (flag === '--model') options.model = value;
    else if (flag === '--json') options.json = value;
    else if (flag === '--opt-level') options.optLevel = value;
    else if (flag in numeric) {
      const number = Number(value);
      if (!Number.isFinite(number) || number < 0) fail(`${flag} needs a non-negative number, got '${value}'`, 2);
      options[numeric[flag]] = number;
    } else fail(`unknown option ${flag}\n${USAGE}`, 2);
  }
  if (!options.model) fail(`--model is required\n${USAGE}`, 2);
  if (options.iterations < 1) fail('--iterations must be at least 1', 2);
  return options;
}

function fail(message, code = 1) {
  console.error(`ort_bench: error: ${message}`);
  process.exit(code);
}

// Same generator and seed as InputPattern in app/commands/bench.cpp.
function makePattern() {
  let state = 0x2545f491;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state >>> 8) / 16777216;
  };
}

function percentileOfSorted(sorted, percent) {
  const rank = (Math.min(Math.max(percent, 0), 100) / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}

function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  const variance = sorted.reduce((sum, v) => sum + (v - mean) ** 2, 0) / sorted.length;
  return {
    min: sorted[0], median: percentileOfSorted(sorted, 50), mean, p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99), max: sorted[sorted.length - 1], stddev: Math.sqrt(variance),
  };
}

// Symbolic dimensions: the first takes --batch, the rest --imgsz (YOLO's N x 3 x H x W).
function concreteShape(shape, options) {
  return shape.map((dim, axis) => (typeof dim === 'number' && dim > 0 ? dim : axis === 0 ? options.batch : options.imgsz));
}

function makeFeeds(ort, session, options) {
  const next = makePattern();
  const feeds = {};
  const inputs = [];
  for (const meta of session.inputMetadata) {
    const shape = concreteShape(meta.shape, options);
    const count = shape.reduce((a, b) => a * b, 1);
    let data;
    if (meta.type === 'float32') {
      data = new Float32Array(count);
      for (let i = 0; i < count; ++i) data[i] = next();
    } else if (meta.type === 'uint8') {
      data = new Uint8Array(count);
      for (let i = 0; i < count; ++i) data[i] = Math.floor(next() * 256);
    } else {
      fail(`input '${meta.name}' is ${meta.type}; this peer feeds float32 or uint8 inputs only`);
    }
    feeds[meta.name] = new ort.Tensor(meta.type, data, shape);
    inputs.push({ name: meta.name, dtype: meta.type, shape });
  }
  return { feeds, inputs };
}

function machine() {
  const cpus = os.cpus();
  return { cpu: cpus.length ? cpus[0].model.trim() : 'unknown', cores: cpus.length };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(options.model)) fail(`model file not found: '${options.model}'`);
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node (${e.message}): run 'npm install --ignore-scripts' in ${__dirname}`);
  }
  const ortVersion = require('onnxruntime-node/package.json').version;

  const sessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: options.optLevel };
  if (options.threads > 0) {
    sessionOptions.intraOpNumThreads = options.threads;
    sessionOptions.interOpNumThreads = 1;
  }
  const loadStart = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(options.model, sessionOptions);
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;

  const { feeds, inputs } = makeFeeds(ort, session, options);
  for (let i = 0; i < options.warmup; ++i) await session.run(feeds);
  const samples = [];
  const loopStart = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - loopStart) / 1e6;
  while (samples.length < options.iterations || elapsedMs() < options.durationS * 1000) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const measuredS = elapsedMs() / 1000;

  const latency = summarize(samples);
  const batch = inputs.length && inputs[0].shape.length ? inputs[0].shape[0] : 1;
  const host = machine();
  const result = {
    tool: 'onnxruntime-node',
    runtime_version: ortVersion,
    model: options.model,
    backend: 'ort-cpu',
    precision: 'fp32',
    batch,
    // 0 requested: ONNX Runtime's default of one intra-op thread per physical core, reported as
    // the logical core count (equal on the machines we bench; see bench/README.md).
    threads: options.threads > 0 ? options.threads : host.cores,
    threads_default: options.threads === 0,
    graph_optimization_level: options.optLevel,
    warmup: options.warmup,
    iterations: samples.length,
    inputs,
    load_ms: loadMs,
    latency_ms: latency,
    throughput_img_s: (batch * 1000) / latency.mean,
    machine: host,
  };

  const f = (v) => v.toFixed(3);
  console.log(`ort_bench: ${options.model}`);
  console.log(`  onnxruntime-node ${ortVersion}, CPU EP, optimisation ${options.optLevel}, batch ${batch}, ` +
              `threads ${options.threads > 0 ? options.threads : 'default'}`);
  console.log(`  inputs: ${inputs.map((i) => `${i.name} ${i.dtype} ${i.shape.join('x')}`).join(', ')}`);
  console.log(`  session ready in ${loadMs.toFixed(1)} ms`);
  console.log(`  machine: ${host.cpu}, ${host.cores} cores`);
  console.log(`  warmup ${options.warmup}, measured ${samples.length} iterations in ${measuredS.toFixed(2)} s`);
  console.log(`Latency (ms): min ${f(latency.min)}  median ${f(latency.median)}  mean ${f(latency.mean)}  ` +
              `p99 ${f(latency.p99)}  max ${f(latency.max)}`);
  console.log(`Throughput: ${result.throughput_img_s.toFixed(2)} img/s (batch ${batch} x 1000 / mean latency)`);
  if (options.json) {
    fs.mkdirSync(path.dirname(path.resolve(options.json)), { recursive: true });
    fs.writeFileSync(options.json, JSON.stringify(result, null, 2) + '\n');
  }
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
