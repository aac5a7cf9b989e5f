'use strict';
// Node.js child_process.fork, measured for the Isolates quick benchmarks (tools/Isolates.Benchmarks, Quick/ProcessFigure.cs).
// usage: node child_process.js SPAWNS ROUND_TRIPS
// Prints one JSON object on stdout: spawnMs (fork of this script until the reply to its first process.send, the
// child's exit untimed), roundTripUs (one process.send to a running forked echo child until its reply, one at a time).
// Messages cross the IPC channel Node sets up for fork (a Unix domain socket, JSON-serialized by default).
// Every figure is warmed up first and checked (a wrong echo stops the run with an error on stderr).
const { fork } = require('node:child_process');

function check(expected, actual) {
  if (expected !== actual) {
    throw new Error(`expected ${expected} but the benchmark got ${actual}`);
  }
}

// Resolves with the child's next message; one listener per child.
function replies(child) {
  let resolve = null;
  let reject = null;
  child.on('message', (value) => { const r = resolve; resolve = null; r(value); });
  child.on('error', (error) => { if (reject) { reject(error); } });
  return () => new Promise((res, rej) => { resolve = res; reject = rej; });
}

function stop(child) {
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.disconnect(); // the echo child has nothing else to keep it alive
  });
}

async function spawnOnce() {
  const start = process.hrtime.bigint();
  const child = fork(__filename, ['child'], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] });
  const next = replies(child);
  const reply = next();
  child.send(42);
  check(42, await reply);
  const end = process.hrtime.bigint();
  await stop(child);
  return Number(end - start) / 1e6;
}

async function roundTrips(count) {
  const child = fork(__filename, ['child'], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] });
  const next = replies(child);
  const samples = [];
  for (let i = -Math.max(100, Math.floor(count / 10)); i < count; i++) {
    const start = process.hrtime.bigint();
    const reply = next();
    child.send(i);
    check(i, await reply);
    const end = process.hrtime.bigint();
    if (i >= 0) {
      samples.push(Number(end - start) / 1e3);
    }
  }

  await stop(child);
  return samples;
}

async function main() {
  const [spawns, roundTripCount] = process.argv.slice(2).map(Number);
  if (![spawns, roundTripCount].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('usage: node child_process.js SPAWNS ROUND_TRIPS (positive integers)');
  }

  const spawnMs = [];
  for (let i = -Math.max(2, Math.floor(spawns / 10)); i < spawns; i++) {
    const ms = await spawnOnce();
    if (i >= 0) {
      spawnMs.push(ms);
    }
  }

  const roundTripUs = await roundTrips(roundTripCount);
  process.stdout.write(JSON.stringify({ runtime: `Node.js ${process.version}`, spawnMs, roundTripUs }) + '\n');
}

if (process.argv[2] === 'child') {
  process.on('message', (value) => process.send(value));
} else {
  main().catch((error) => { process.stderr.write(`${error.stack || error}\n`); process.exit(1); });
}
