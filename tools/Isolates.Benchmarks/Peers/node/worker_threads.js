'use strict';
// Node.js worker_threads, measured for the Isolates quick benchmarks (tools/Isolates.Benchmarks, Quick/PeersFigure.cs).
// usage: node worker_threads.js SPAWNS ROUND_TRIPS MESSAGES REPETITIONS
// Prints one JSON object on stdout: spawnMs (new Worker until the reply to its first message), roundTripUs (one
// postMessage to a running echo worker until its reply, one at a time), streamingMsgPerSec (the main thread posts
// MESSAGES ints to a counting worker; timed until the worker reports it has counted the last one).
// Every figure is warmed up first and checked (a wrong echo or sum stops the run with an error on stderr).
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

function runWorker() {
  if (workerData.mode === 'echo') {
    parentPort.on('message', (value) => parentPort.postMessage(value));
    return;
  }

  // Counting worker: says it is ready (so its start-up is not timed), then sums until the expected count.
  const expected = workerData.messages;
  let sum = 0;
  let count = 0;
  parentPort.on('message', (value) => {
    sum += value;
    if (++count === expected) {
      parentPort.postMessage(sum);
    }
  });
  parentPort.postMessage('ready');
}

function check(expected, actual) {
  if (expected !== actual) {
    throw new Error(`expected ${expected} but the benchmark got ${actual}`);
  }
}

// Resolves with the worker's next message; one listener per worker, so awaiting a reply allocates one promise.
function replies(worker) {
  let resolve = null;
  let reject = null;
  worker.on('message', (value) => { const r = resolve; resolve = null; r(value); });
  worker.on('error', (error) => { if (reject) { reject(error); } });
  return () => new Promise((res, rej) => { resolve = res; reject = rej; });
}

async function spawnOnce() {
  const start = process.hrtime.bigint();
  const worker = new Worker(__filename, { workerData: { mode: 'echo' } });
  const next = replies(worker);
  const reply = next();
  worker.postMessage(42);
  check(42, await reply);
  const end = process.hrtime.bigint();
  await worker.terminate();
  return Number(end - start) / 1e6;
}

async function roundTrips(count) {
  const worker = new Worker(__filename, { workerData: { mode: 'echo' } });
  const next = replies(worker);
  const samples = [];
  for (let i = -Math.max(100, Math.floor(count / 10)); i < count; i++) {
    const start = process.hrtime.bigint();
    const reply = next();
    worker.postMessage(i);
    check(i, await reply);
    const end = process.hrtime.bigint();
    if (i >= 0) {
      samples.push(Number(end - start) / 1e3);
    }
  }

  await worker.terminate();
  return samples;
}

async function streamOnce(messages) {
  const worker = new Worker(__filename, { workerData: { mode: 'count', messages } });
  const next = replies(worker);
  check('ready', await next());
  const done = next();
  const start = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) {
    worker.postMessage(i);
  }

  const sum = await done;
  const end = process.hrtime.bigint();
  check((messages * (messages - 1)) / 2, sum);
  await worker.terminate();
  return messages / (Number(end - start) / 1e9);
}

async function main() {
  const [spawns, roundTripCount, messages, repetitions] = process.argv.slice(2).map(Number);
  if (![spawns, roundTripCount, messages, repetitions].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('usage: node worker_threads.js SPAWNS ROUND_TRIPS MESSAGES REPETITIONS (positive integers)');
  }

  const spawnMs = [];
  for (let i = -Math.max(3, Math.floor(spawns / 10)); i < spawns; i++) {
    const ms = await spawnOnce();
    if (i >= 0) {
      spawnMs.push(ms);
    }
  }

  const roundTripUs = await roundTrips(roundTripCount);
  const streamingMsgPerSec = [];
  for (let r = -1; r < repetitions; r++) {
    const rate = await streamOnce(messages);
    if (r >= 0) {
      streamingMsgPerSec.push(rate);
    }
  }

  process.stdout.write(JSON.stringify({ runtime: `Node.js ${process.version}`, spawnMs, roundTripUs, streamingMsgPerSec }) + '\n');
}

if (isMainThread) {
  main().catch((error) => { process.stderr.write(`${error.stack || error}\n`); process.exit(1); });
} else {
  runWorker();
}
