import { ErrorCode } from '../../src/errors.js';
import { parseReport } from '../../handlers/jenkins/payload.js';
import { botReport, notification } from './helpers/reports.js';

describe('parseReport: the bot format', () => {
  it('reads project, version, build and artifacts (digests lower-cased, job as a full name)', () => {
    const parsed = parseReport(
      botReport({
        build: { job: 'https://jenkins.example/job/team/job/conjur-cli/', number: 7 },
        artifacts: [{ path: 'a.gem', sha256: 'AB'.repeat(32) }],
      }),
    );
    expect(parsed).toEqual({
      kind: 'report',
      report: expect.objectContaining({
        format: 'release-bot',
        project: 'conjur-cli',
        version: '4.2.0',
        job: 'team/conjur-cli',
        files: [{ path: 'a.gem', sha256: 'ab'.repeat(32) }],
      }),
    });
  });

  it('lists every problem, clipping hostile keys and stripping control characters', () => {
    const hostile = `evil\u001b[31m${'k'.repeat(500)}`;
    const body = { ...botReport({ build: { number: -1, url: 'javascript:alert(1)', commit: 'a b' } }), [hostile]: 1 };
    let err: { code?: string; message?: string; details?: { issues?: string[] } } = {};
    try {
      parseReport(body);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe(ErrorCode.BadInput);
    const issues = err.details?.issues ?? [];
    expect(issues.some((i) => i.startsWith('build.number:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('build.url: must be an http(s) URL'))).toBe(true);
    expect(issues.some((i) => i.startsWith('build.commit:'))).toBe(true);
    expect(err.message).not.toContain('\u001b');
    expect(err.message).not.toContain('k'.repeat(200));
  });

  it('refuses non-objects and bodies of neither format', () => {
    for (const body of [null, [], 'x', 42, { hello: 'world' }])
      expect(() => parseReport(body)).toThrow(expect.objectContaining({ code: ErrorCode.BadInput }));
  });
});

describe('parseReport: the Notification plugin format', () => {
  it('reads a successful final phase: the job from the url (folders included), build facts, parameters', () => {
    const parsed = parseReport(notification({ name: 'conjur-cli', url: 'job/team/job/conjur-cli/' }));
    expect(parsed).toMatchObject({
      kind: 'report',
      report: {
        format: 'notification',
        job: 'team/conjur-cli',
        parameters: { VERSION: '4.2.0' },
        build: { number: 123, url: 'https://jenkins.example/job/conjur-cli/123/', commit: '9fceb02d0ae598e95dc970b74767f19372d61af8' },
      },
    });
    expect(parseReport(notification({ build: { phase: 'FINALIZED' } })).kind).toBe('report');
  });

  it.each([
    [{ phase: 'STARTED', status: 'SUCCESS' }, /phase STARTED with status SUCCESS/],
    [{ phase: 'QUEUED', status: undefined }, /phase QUEUED:/],
    [{ phase: 'COMPLETED', status: 'FAILURE' }, /status FAILURE/],
    [{ phase: 'FINALIZED', status: 'UNSTABLE' }, /status UNSTABLE/],
  ])('ignores %j, saying why', (build, reason) => {
    const parsed = parseReport(notification({ build }));
    expect(parsed.kind).toBe('ignored');
    expect(parsed.kind === 'ignored' && parsed.reason).toMatch(reason);
  });

  it('refuses a name that is not the job at url', () => {
    expect(() => parseReport(notification({ name: 'other', url: 'job/conjur-cli/' }))).toThrow(/name is not the name of the job/);
  });
});
