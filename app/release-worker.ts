// The release thread of `serve` (see release-thread.ts): builds the core again from the same
// configuration, with its own database connection, and runs the releases it is sent.
import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { toReleaseBotError } from '../src/errors.js';
import type { CoreEventMap } from '../src/release/events.js';
import type { Redactor } from '../src/redact.js';
import { createApp } from './create.js';
import { toThreadError, type FromReleaseThread, type ReleaseThreadInit, type ToReleaseThread } from './release-thread.js';

/** Every event a release emits; the announcer, approvals and metrics listen for them on the serving thread. */
const FORWARDED: ReadonlyArray<keyof CoreEventMap> = [
  'release-started',
  'release-state',
  'destination-started',
  'destination-progress',
  'destination-finished',
  'release-finished',
  'release-denied',
  'release-interrupted',
];

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
const app = createApp({
  env: init.env,
  logDestination,
  ...(init.logFormat ? { logFormat: init.logFormat } : {}),
  ...(init.retryBaseMs !== undefined ? { retryBaseMs: init.retryBaseMs } : {}),
});
// Conjur calls are counted where /metrics is served.
app.metrics.conjurCall = (operation, seconds, errorCode) => post({ type: 'conjur-call', operation, seconds, errorCode });
// The credentials this thread fetches are known to its redactor only: what leaves the thread is redacted here.
for (const name of FORWARDED) {
  app.core.events.on(name, (payload: unknown) => post({ type: 'event', name, payload: redacted(payload, app.redactor) }));
}

// Entries this thread appends are the serving process's own (its audit watcher and forwarders listen):
// counted up before the commit, down by the serving thread when it has the message (release-thread.ts).
const appending = new Int32Array(init.appending);
const append = app.core.audit.append.bind(app.core.audit);
app.core.audit.append = (input) => {
  Atomics.add(appending, 0, 1);
  try {
    return append(input);
  } catch (err) {
    Atomics.sub(appending, 0, 1);
    throw err;
  }
};
app.core.audit.onAppend((entry) => {
  try {
    post({ type: 'audit-appended', entry: redacted(entry, app.redactor) });
  } catch {
    // Never left counted: the serving thread would stop reading the log for other processes' work.
    Atomics.sub(appending, 0, 1);
  }
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
