// The release thread of `serve` (see release-thread.ts): builds the core again from the same
// configuration, with its own database connection, and runs the releases it is sent.
import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { toReleaseBotError } from '../src/errors.js';
import type { Redactor } from '../src/redact.js';
import { AppendsOnTheirWay, forwardBus } from './bus-bridge.js';
import { createApp } from './create.js';
import { toThreadError, type FromReleaseThread, type ReleaseThreadInit, type ToReleaseThread } from './release-thread.js';

/** sysexits.h: an internal software error. */
const EX_SOFTWARE = 70;

const port = parentPort;
if (!port) throw new Error('release-worker.js runs as a worker thread of serve');
const init = workerData as ReleaseThreadInit;
const post = (m: FromReleaseThread) => port.postMessage(m);

const logDestination = new Writable({
  write(chunk: Buffer | string, _encoding, done) {
    post({ type: 'log', line: chunk.toString() });
    done();
  },
});
// Entries this thread appends are the serving process's own (its audit watcher and forwarders listen):
// counted up before the commit, down by the serving thread once its bus carried them (bus-bridge.ts).
const appending = new AppendsOnTheirWay(init.appending);
const app = createApp({
  env: init.env,
  audit: { appendsOnTheirWay: appending },
  logDestination,
  ...(init.logFormat ? { logFormat: init.logFormat } : {}),
  ...(init.retryBaseMs !== undefined ? { retryBaseMs: init.retryBaseMs } : {}),
});
// Conjur calls are counted where /metrics is served.
app.metrics.conjurCall = (operation, seconds, errorCode) => post({ type: 'conjur-call', operation, seconds, errorCode });
// The credentials this thread fetches are known to its redactor only: what leaves the thread is redacted here.
forwardBus(app.bus, (message) => {
  try {
    post({ type: 'bus', message: redacted(message, app.redactor) });
  } catch {
    // Never left counted: the serving thread would stop reading the log for other processes' work.
    if (message.name === 'audit-appended') appending.down();
  }
});

// An error nothing caught ends the thread: its last word (redacted with the credentials only this
// thread knows) tells serve why, and serve stops for its supervisor to restart it (release-thread.ts).
process.on('uncaughtException', (err) => {
  post({ type: 'dying', error: redacted(toThreadError(toReleaseBotError(err)), app.redactor) });
  process.exit(EX_SOFTWARE);
});

port.on('message', (m: ToReleaseThread) => {
  switch (m.type) {
    case 'release':
      app.core.release(m.project, m.version, m.requester, m.options).then(
        (summary) => post({ type: 'result', id: m.id, summary: redacted(summary, app.redactor) }),
        (err: unknown) => post({ type: 'result', id: m.id, error: redacted(toThreadError(toReleaseBotError(err)), app.redactor) }),
      );
      return;
    case 'policy':
      app.core.replaceConfig(m.config);
      return;
    case 'drain':
      void app.core.drain(m.timeoutMs).finally(() => post({ type: 'drained', id: m.id }));
      return;
    case 'record-message':
      app.core.recordMessage(m.releaseId, m.channel, m.ts).then(
        () => post({ type: 'result', id: m.id }),
        (err: unknown) => post({ type: 'result', id: m.id, error: redacted(toThreadError(toReleaseBotError(err)), app.redactor) }),
      );
      return;
  }
});
post({ type: 'ready' });

/** A copy of a message's data with every string redacted (plain objects, arrays and maps; anything else as is). */
function redacted<T>(value: T, redactor: Redactor): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactor.redact(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, walk(x)]));
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}
