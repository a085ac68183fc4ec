// A small closed-loop HTTP load generator: `concurrency` workers on keep-alive connections send
// `requests` requests in all and record each one's latency (request written to response fully read).
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { mean, percentile } from './util.js';

function send(agent, url, { method = 'POST', headers, body }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method, agent, headers: { ...headers, 'content-length': Buffer.byteLength(body ?? '') } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }),
      );
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`no answer from ${url} within 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends `requests` requests built by `build(i)` with `concurrency` in flight. Every answer must have
 * the `expect` status (a bench that measures refusals measures nothing); the first other one throws.
 */
export async function runLoad({ url, concurrency, requests, build, expect }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  let next = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests) {
          const i = next++;
          const res = await send(agent, url, build(i));
          if (res.status !== expect)
            throw new Error(`request ${i} to ${url} answered ${res.status}, expected ${expect}: ${res.body.slice(0, 500)}`);
          latencies.push(res.ms);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  const wallMs = performance.now() - started;
  return {
    latencies,
    wallMs,
    rps: requests / (wallMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: mean(latencies),
  };
}
