import { AuditLog, type AuditEntry } from '../../src/audit/log.js';
import { EventBus } from '../../src/events.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase } from '../../src/store/db.js';
import { makeTmpDir } from '../support/tmp.js';

// A report's staged build and its audit entry are one transaction (src/store/staging-commit.ts): the
// forwarders and the chat must hear of the entry only once it is committed, never of one rolled back.
describe('audit entries appended in a transaction', () => {
  const entry = {
    type: 'config-changed' as const,
    actor: { via: 'test' },
    data: { file: 'releases.yml', sha256: 'a'.repeat(64), previousSha256: 'b'.repeat(64), trigger: 'test' },
  };

  function world() {
    const tmp = makeTmpDir();
    const db = openDatabase(tmp.dir);
    const reader = openDatabase(tmp.dir);
    const bus = new EventBus();
    const log = new AuditLog(db, new Redactor(), undefined, { bus });
    const other = new AuditLog(reader, new Redactor());
    const heard: { id: string; committed: boolean }[] = [];
    // What a forwarder does when it hears an entry: read it, here through another connection.
    bus.on('audit-appended', (e: AuditEntry) => heard.push({ id: e.id, committed: other.get(e.id) !== undefined }));
    const close = () => {
      reader.close();
      db.close();
      tmp.cleanup();
    };
    return { db, log, heard, close };
  }

  it('announces the entry after the transaction committed, when another connection can read it', () => {
    const { db, log, heard, close } = world();
    try {
      const written = log.announcingAfter(() =>
        db
          .transaction(() => {
            const e = log.append(entry);
            expect(heard).toEqual([]);
            return e;
          })
          .immediate(),
      );
      expect(heard).toEqual([{ id: written.id, committed: true }]);
    } finally {
      close();
    }
  });

  it('never announces an entry whose transaction rolled back', () => {
    const { db, log, heard, close } = world();
    try {
      expect(() =>
        log.announcingAfter(() =>
          db
            .transaction(() => {
              log.append(entry);
              throw new Error('the write after the entry failed');
            })
            .immediate(),
        ),
      ).toThrow('the write after the entry failed');
      expect(heard).toEqual([]);
      expect(log.entriesAfter(0)).toEqual([]);
      log.append(entry);
      expect(heard).toHaveLength(1);
    } finally {
      close();
    }
  });
});
