import { Readable } from 'node:stream';
import { LogFieldDropper, readNotificationBody } from '../../handlers/jenkins/notification-body.js';
import { notificationWithLog } from './helpers/notification-log.js';

/** Feeds `input` cut at the given positions, as a socket might deliver it. */
function drop(input: string | Buffer, cuts: number[] = []): { text: string; dropped: number } {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const dropper = new LogFieldDropper();
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    dropper.write(bytes.subarray(from, at));
    from = at;
  }
  return { text: dropper.body().toString('utf8'), dropped: dropper.droppedBytes };
}

describe('LogFieldDropper', () => {
  it('drops the text of build.log, escapes included, wherever the chunks are cut', () => {
    const doc =
      '{"name":"a","build":{"number":1,"log":"line \\"one\\"\\n\\\\ \\u003d \\u0027x\\u0027 } ] { [ , :\\n","artifacts":{"log":"kept"}}}';
    const expected = '{"name":"a","build":{"number":1,"log":"","artifacts":{"log":"kept"}}}';
    for (let cut = 0; cut <= doc.length; cut++) expect(drop(doc, [cut]).text).toBe(expected);
    expect(drop(doc, [...Array(doc.length).keys()]).text).toBe(expected);
    expect(JSON.parse(drop(doc).text)).toEqual(JSON.parse(expected));
  });

  it('keeps every other "log": at the top level, deeper, in arrays, as a value, or not a string', () => {
    for (const doc of [
      '{"log":"top","build":{"number":1}}',
      '{"build":{"scm":{"log":"deep"},"parameters":{"log":"param"}}}',
      '{"build":{"changes":["log",{"log":"in array"}],"notes":"log"}}',
      '{"build":{"log":null,"number":2}}',
      '{"other":{"log":"not build"},"build":{}}',
      '{"build":{"\\u006cog":"escaped key: kept, counted against the limit"}}',
    ]) {
      expect(drop(doc).text).toBe(doc);
    }
  });

  it('turns the generated plugin payload into the same report without its log', () => {
    const raw = notificationWithLog('4.2.0', 50_000);
    const { text, dropped } = drop(raw, [100, 777, 4096, 40_000]);
    const original = JSON.parse(raw.toString('utf8')) as { build: Record<string, unknown> };
    expect(JSON.parse(text)).toEqual({ ...original, build: { ...original.build, log: '' } });
    expect(dropped).toBeGreaterThan(50_000);
    expect(text.length).toBeLessThan(1_000);
  });
});

describe('readNotificationBody', () => {
  const stream = (bytes: Buffer, chunk = 64 * 1024) =>
    Readable.from(
      (function* () {
        for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
      })(),
    );

  it('reads a body with a 3 MB log keeping well under 1 MB', async () => {
    const raw = notificationWithLog('4.2.0', 3 * 1024 * 1024);
    const read = await readNotificationBody(stream(raw), { maxKept: 1024 * 1024, maxTotal: 32 * 1024 * 1024 });
    expect(read.kind).toBe('ok');
    if (read.kind !== 'ok') return;
    expect(read.body.length).toBeLessThan(2_000);
    expect(read.droppedBytes).toBeGreaterThan(3 * 1024 * 1024);
  });

  it('refuses what is too large without the log, and a body past the total limit', async () => {
    const notes = notificationWithLog('4.2.0', 10, { notes: 'n'.repeat(2 * 1024 * 1024) });
    await expect(readNotificationBody(stream(notes), { maxKept: 1024 * 1024, maxTotal: 32 * 1024 * 1024 })).resolves.toEqual({
      kind: 'too-large',
      what: 'kept',
    });
    const huge = notificationWithLog('4.2.0', 3 * 1024 * 1024);
    await expect(readNotificationBody(stream(huge), { maxKept: 1024 * 1024, maxTotal: 2 * 1024 * 1024 })).resolves.toEqual({
      kind: 'too-large',
      what: 'total',
    });
  });
});
