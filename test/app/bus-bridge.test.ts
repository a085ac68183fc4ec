import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AppendsOnTheirWay, forwardBus } from '../../app/bus-bridge.js';
import { AuditLog, type AuditEntry } from '../../src/audit/log.js';
import { BUS_EVENTS, EventBus, type BusEvent, type BusMessage } from '../../src/events.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { repoRoot } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * serve's release thread tells the serving thread what happens through one bus and one function
 * (app/bus-bridge.ts): every event of the thread's bus, as data (postMessage clones it), emitted
 * again on the serving thread's bus. The audit log of the serving thread reads the thread's entries
 * only once its bus carried them, so its watcher never announces them as another process's work.
 */
describe('the event bus between serve and its release thread', () => {
  const tmp = makeTmpDir();
  const dbs: Db[] = [];
  afterAll(() => {
    for (const db of dbs) db.close();
    tmp.cleanup();
  });

  it('carries every kind of event across, each payload as it was emitted', () => {
    const thread = new EventBus();
    const serving = new EventBus();
    // What postMessage does to a message: a structured clone, delivered on the other side.
    forwardBus(thread, (message) => serving.emitMessage(structuredClone(message)));
    const heard: { name: BusEvent; args: unknown[] }[] = [];
    const listen = <K extends BusEvent>(name: K) => serving.on(name, (...args) => heard.push({ name, args }));
    for (const name of Object.values(BUS_EVENTS)) listen(name);
    // Payloads as data (the bridge never looks inside): a nested object per kind, each told apart.
    const sent = Object.values(BUS_EVENTS).map((name) => ({ name, args: [{ kind: name, nested: { list: [1, 2] } }] }));
    // The test's one cast: payloads of any shape, which the bridge never looks inside.
    for (const message of sent) thread.emitMessage(message as unknown as BusMessage);
    expect(heard).toEqual(sent);
  });

  it("reads the log as if the thread's entry were not there until the serving bus carried it", () => {
    const db = openDatabase(path.join(tmp.dir, 'data'));
    dbs.push(db);
    const shared = new SharedArrayBuffer(4);
    const threadBus = new EventBus();
    const servingBus = new EventBus();
    const threadLog = new AuditLog(db, new Redactor(), undefined, { bus: threadBus, appendsOnTheirWay: new AppendsOnTheirWay(shared) });
    const onTheirWay = new AppendsOnTheirWay(shared);
    const servingLog = new AuditLog(db, new Redactor(), undefined, { bus: servingBus, unheardAppends: () => onTheirWay.pending() });
    // The bridge holds the message, as a busy event loop would.
    const inTransit: BusMessage[] = [];
    forwardBus(threadBus, (message) => inTransit.push(structuredClone(message)));
    const own: AuditEntry[] = [];
    servingBus.on('audit-appended', (entry) => own.push(entry));

    const entry = threadLog.append({
      type: 'staged',
      project: 'p',
      version: '1.0.0',
      actor: { via: 'cli:root' },
      data: { reportedBy: 'cli:root' },
    });
    expect(servingLog.entriesAfter(0)).toEqual([]);
    // Delivered: the serving thread's listeners know it as this process's own, then the log shows it.
    for (const message of inTransit.splice(0)) {
      servingBus.emitMessage(message);
      if (message.name === 'audit-appended') onTheirWay.down();
    }
    expect(own.map((e) => e.id)).toEqual([entry.id]);
    expect(servingLog.entriesAfter(0).map((e) => e.id)).toEqual([entry.id]);
  });

  it('a failed commit is never left counted', () => {
    const db = openDatabase(path.join(tmp.dir, 'data-failed'));
    const shared = new SharedArrayBuffer(4);
    const threadLog = new AuditLog(db, new Redactor(), undefined, { appendsOnTheirWay: new AppendsOnTheirWay(shared) });
    db.close();
    expect(() =>
      threadLog.append({ type: 'staged', project: 'p', version: '1.0.0', actor: { via: 'cli:root' }, data: { reportedBy: 'cli:root' } }),
    ).toThrow();
    expect(new AppendsOnTheirWay(shared).pending()).toBe(false);
  });

  it("the serving thread patches no instance's methods and casts no event", () => {
    for (const file of ['app/release-thread.ts', 'app/release-worker.ts', 'app/serve.ts', 'app/bus-bridge.ts']) {
      const source = readFileSync(path.join(repoRoot, file), 'utf8');
      expect([file, source.match(/\.(audit|events)\.\w+\s*=[^=]/g)]).toEqual([file, null]);
      expect([file, source.match(/emit as /g)]).toEqual([file, null]);
    }
  });
});
