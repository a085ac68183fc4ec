import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { canonicalJson } from '../../src/audit/canonical.js';
import { AuditLog, MAX_AUDIT_DATA_BYTES } from '../../src/audit/log.js';
import { Redactor } from '../../src/redact.js';
import { startBot, type Bot } from '../jenkins/helpers/bot.js';
import { botReport } from '../jenkins/helpers/reports.js';
import { token } from '../jenkins/helpers/tokens.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
/** An answer that lists 20 problems and counts the rest stays far below this. */
const ANSWER_LIMIT = 16 * 1024;

/**
 * Bounds on what one report can make the bot do: a huge tree or a huge report is refused with a
 * bounded answer and a bounded audit entry, and the event loop keeps serving meanwhile.
 */
describe('bounds on a report (release-bot serve, signed webhook)', () => {
  let bot: Bot;
  const post = (version: string, artifacts: unknown) =>
    bot.post('/webhooks/jenkins', botReport({ version, artifacts }), { authorization: `Bearer ${token()}` });
  const lastAudit = () => bot.running.app.audit.list({ limit: 1 })[0];

  beforeAll(async () => {
    bot = await startBot();
  });
  afterAll(async () => {
    await bot.stop();
  });

  it('4,000 unreported long-named files: refused with a bounded answer and audit entry, the event loop never blocked', async () => {
    const dir = bot.stageFiles('conjur-cli', '6.0.0', { 'conjur-cli-6.0.0.gem': 'gem' });
    for (let d = 0; d < 40; d++) {
      const sub = path.join(dir, `d${d}`);
      mkdirSync(sub);
      for (let i = 0; i < 100; i++) writeFileSync(path.join(sub, `${'long-name-'.repeat(20)}${i}`), 'x');
    }
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const r = await post('6.0.0', [{ path: 'conjur-cli-6.0.0.gem', sha256: sha('gem') }]);
    delay.disable();
    expect(r.status).toBe(422);
    expect(r.raw.length).toBeLessThan(ANSWER_LIMIT);
    expect(r.json).toMatchObject({
      code: 'ARTIFACT_MISMATCH',
      error: expect.stringContaining('more than 1000 files and directories (staging.max_files)'),
    });
    const entry = lastAudit();
    expect(entry).toMatchObject({ type: 'stage-refused', version: '6.0.0' });
    expect(Buffer.byteLength(canonicalJson(entry?.data))).toBeLessThanOrEqual(MAX_AUDIT_DATA_BYTES);
    // Generous: Slack's acknowledgement limit is 3 s; a blocked loop showed ~3 s here before the bounds.
    expect(delay.max / 1e6).toBeLessThan(1000);
    expect(bot.running.app.staged.current('conjur-cli', '6.0.0')).toBeUndefined();
  }, 120_000);

  it('a report listing 4,000 artifacts is refused before the disk is read, with a bounded answer', async () => {
    bot.stageFiles('conjur-cli', '6.1.0', { 'conjur-cli-6.1.0.gem': 'gem' });
    const artifacts = Array.from({ length: 4000 }, (_, i) => ({ path: `${'p'.repeat(200)}-${i}`, sha256: sha(String(i)) }));
    const r = await post('6.1.0', artifacts);
    expect([400, 413, 422]).toContain(r.status);
    expect(r.raw.length).toBeLessThan(ANSWER_LIMIT);
    expect(Buffer.byteLength(canonicalJson(lastAudit()?.data ?? {}))).toBeLessThanOrEqual(MAX_AUDIT_DATA_BYTES);
    expect(bot.running.app.staged.current('conjur-cli', '6.1.0')).toBeUndefined();
  });

  it('names with control characters, a leading "-" or invalid UTF-8 are refused, each named', async () => {
    const dir = bot.stageFiles('conjur-cli', '6.2.0', { 'conjur-cli-6.2.0.gem': 'gem', '-rf': 'x', 'evil\nname': 'x' });
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]), 'x');
    const r = await post('6.2.0', [{ path: 'conjur-cli-6.2.0.gem', sha256: sha('gem') }]);
    expect(r.status).toBe(422);
    const error = String(r.json.error);
    expect(error).toContain('"-rf": a name starting with "-"');
    expect(error).toContain('control characters in a name');
    expect(error).toContain('not valid UTF-8 (6261642dfffe2e747874 in hex)');
    expect(bot.running.app.staged.current('conjur-cli', '6.2.0')).toBeUndefined();
  });

  it('names with invisible or text-direction characters are refused (they disguise a name in Slack and the audit)', async () => {
    const disguised = ['zero\u200bwidth.gem', 'rlo-\u202egem.exe', 'isolate\u2066x\u2069.gem', 'line\u2028sep', '\ufeffbom.gem'];
    bot.stageFiles('conjur-cli', '6.4.0', Object.fromEntries([['conjur-cli-6.4.0.gem', 'gem'], ...disguised.map((n) => [n, 'x'])]));
    const r = await post('6.4.0', [{ path: 'conjur-cli-6.4.0.gem', sha256: sha('gem') }]);
    expect(r.status).toBe(422);
    const error = String(r.json.error);
    expect(error.match(/invisible or text-direction character U\+[0-9A-F]{4} in a name/g)).toHaveLength(disguised.length);
    expect(error).toContain('U+202E');
    expect(bot.running.app.staged.current('conjur-cli', '6.4.0')).toBeUndefined();
  });

  it('a reported path with a text-direction character is refused before the disk is read', async () => {
    bot.stageFiles('conjur-cli', '6.5.0', { 'conjur-cli-6.5.0.gem': 'gem' });
    const r = await post('6.5.0', [{ path: 'conjur-cli-6.5.0\u202e.gem', sha256: sha('gem') }]);
    expect(r.status).toBe(400);
    expect(String(r.json.error)).toContain('U+202E');
  });

  it('a path deeper than 16 levels or longer than 255 bytes is refused', async () => {
    const deep = Array.from({ length: 17 }, (_, i) => `l${i}`).join('/');
    const long = `${'n'.repeat(250)}/${'m'.repeat(10)}`;
    bot.stageFiles('conjur-cli', '6.3.0', { 'conjur-cli-6.3.0.gem': 'gem', [deep]: 'x', [long]: 'y' });
    const r = await post('6.3.0', [{ path: 'conjur-cli-6.3.0.gem', sha256: sha('gem') }]);
    expect(r.status).toBe(422);
    expect(String(r.json.error)).toContain('deeper than staging.max_depth (16)');
    expect(String(r.json.error)).toContain('longer than staging.max_path_bytes (255 bytes)');
  });

  it("an audit entry's data is capped at 64 KiB, keeping its small fields and the size and digest of the rest", () => {
    // Another writer of the same log (as the CLI is): the serving app's own is read-only to its handlers.
    const entry = new AuditLog(bot.running.app.db, new Redactor()).append({
      type: 'stage-refused',
      actor: { via: 'test' },
      data: { code: 'X', reportedBy: 'test', build: { url: 'h'.repeat(200_000) } },
    });
    expect(Buffer.byteLength(canonicalJson(entry.data))).toBeLessThanOrEqual(MAX_AUDIT_DATA_BYTES);
    expect(entry.data).toMatchObject({
      code: 'X',
      truncated: { limit: MAX_AUDIT_DATA_BYTES, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect((entry.data.truncated as { bytes: number }).bytes).toBeGreaterThan(200_000);
  });
});
