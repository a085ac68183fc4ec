// Shared helpers for the benchmarks: timing, statistics, processes, ports, temp dirs.
// Plain ESM JavaScript run by Node against the built code in dist/ (see bench/run.js).
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export { performance, sleep };

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dist = (rel) => new URL(`../../dist/${rel}`, import.meta.url).href;
export const devDist = (rel) => new URL(`../../dist-dev/${rel}`, import.meta.url).href;

/** BENCH_SMOKE=1: tiny sizes, proves the benches run; no figure is meaningful and none is asserted. */
export const SMOKE = process.env.BENCH_SMOKE === '1';

export function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model?.trim() ?? 'unknown',
    cores: c.length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
  };
}

/** Nearest-rank percentile of an unsorted list. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}
export const median = (values) => percentile(values, 50);
export const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

export const ms = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : 'n/a');
export const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
export const ratio = (a, b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a');

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A private temp dir; every one made is removed by cleanupTmpDirs() (run.js calls it, even on failure). */
const tmpDirs = new Set();
export function makeTmpDir(prefix = 'release-bot-bench-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tmpDirs.add(dir);
  return dir;
}
export function removeTmpDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tmpDirs.delete(dir);
}
export function cleanupTmpDirs() {
  for (const dir of tmpDirs) removeTmpDir(dir);
}

/** Fields of /proc/<pid>/status in bytes: VmRSS, VmHWM, ... (Linux only). */
export function procStatus(pid = 'self') {
  const out = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(Vm\w+|Rss\w+):\s+(\d+) kB$/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}

/** A sink for logs the benches do not read. */
export const nullStream = () => new Writable({ write: (_c, _e, cb) => cb() });

/** Every child a bench started, so run.js can stop leftovers after a failure. */
const children = new Set();

/** Starts a process (no shell); output is kept for error messages. */
export function startProcess(file, args, options = {}) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => (children.delete(child), resolve({ code, signal }))));
  child.once('error', (err) => (output += `\nspawn error: ${err.message}`));
  return { child, output: () => output, exited };
}

/** SIGTERM, then SIGKILL if it lingers after 5 s. */
export async function stopProcess(proc) {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return proc.exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  const result = await proc.exited;
  clearTimeout(timer);
  return result;
}

export async function stopAllProcesses() {
  await Promise.all([...children].map((child) => stopProcess({ child, exited: new Promise((r) => child.once('exit', r)) })));
}

/** Runs a process to its end; resolves with its exit code and output, rejects on a non-zero exit. */
export async function runProcess(file, args, options = {}) {
  const started = performance.now();
  const proc = startProcess(file, args, options);
  let stdout = '';
  proc.child.stdout.on('data', (d) => (stdout += String(d)));
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${file} ${args.join(' ')} exited with ${code ?? signal}:\n${proc.output().slice(-2000)}`);
  return { stdout, output: proc.output(), wallMs };
}

/** Runs a bench child script (node bench/<script>) and parses the JSON line it prints last. */
export async function runNodeJson(script, args = [], options = {}) {
  const { stdout, wallMs } = await runProcess(
    process.execPath,
    [...(options.nodeArgs ?? []), path.join(repoRoot, 'bench', script), ...args],
    options,
  );
  const last = stdout.trim().split('\n').pop() ?? '';
  return { ...JSON.parse(last), wallMs };
}

export async function waitForHttp(url, proc, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null)
      throw new Error(`process exited with ${proc.child.exitCode} before ${url} answered:\n${proc.output().slice(-2000)}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status < 500) return res.status;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms${proc ? `:\n${proc.output().slice(-2000)}` : ''}`);
}

/** Interleaves the variants round by round (A B, B A, A B, ...) so drift on a shared machine hits each alike. */
export async function interleaved(rounds, variants) {
  const results = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) results[v.name].push(await v.run(r));
  }
  return results;
}

/**
 * Runs a process to its end while sampling its VmHWM from /proc every few milliseconds: the peak
 * RSS of a program we cannot instrument (sha256sum, cp). The last sample before exit is kept.
 */
export async function runProcessWithPeak(file, args, options = {}) {
  const started = performance.now();
  const proc = startProcess(file, args, options);
  let stdout = '';
  proc.child.stdout.on('data', (d) => (stdout += String(d)));
  let peakRss = 0;
  const sample = () => {
    try {
      peakRss = Math.max(peakRss, procStatus(proc.child.pid).VmHWM ?? 0);
    } catch {
      // exited between two samples
    }
  };
  sample();
  const timer = setInterval(sample, 5);
  const { code, signal } = await proc.exited;
  clearInterval(timer);
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${file} ${args.join(' ')} exited with ${code ?? signal}:\n${proc.output().slice(-2000)}`);
  return { stdout, wallMs, peakRss };
}

/** Waits until a started process prints a line matching `pattern` (e.g. its "ready" line). */
export async function waitForOutput(proc, pattern, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(proc.output())) return;
    if (proc.child.exitCode !== null) throw new Error(`process exited with ${proc.child.exitCode}:\n${proc.output().slice(-2000)}`);
    await sleep(20);
  }
  throw new Error(`process did not print ${pattern} within ${timeoutMs} ms:\n${proc.output().slice(-2000)}`);
}

/** Writes `size` bytes of random data (incompressible, not sparse: every block is on disk). */
export function writeRandomFile(file, size) {
  const chunk = Buffer.alloc(8 * 2 ** 20);
  const fd = openSync(file, 'wx', 0o600);
  try {
    for (let left = size; left > 0; left -= chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(left, chunk.length));
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const mibps = (bytes, millis) => bytes / 2 ** 20 / (millis / 1000);
