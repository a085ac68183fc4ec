import { parseCommand } from '../../handlers/slack/command-parser.js';

describe('parseCommand (/release text)', () => {
  it.each([
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['  conjur-cli   4.2.0 ', { kind: 'release', project: 'conjur-cli', version: '4.2.0', dryRun: false, resume: false }],
    ['conjur-cli 4.2.0 --dry-run', { kind: 'release', project: 'conjur-cli', version: '4.2.0', dryRun: true, resume: false }],
    ['conjur-cli 4.2.0 \u2014dry-run', { kind: 'release', project: 'conjur-cli', version: '4.2.0', dryRun: true, resume: false }],
    ['conjur-cli 4.2.0-rc.1 resume', { kind: 'release', project: 'conjur-cli', version: '4.2.0-rc.1', dryRun: false, resume: true }],
    [
      'yank conjur-cli 4.2.0 broken   postinstall',
      { kind: 'yank', project: 'conjur-cli', version: '4.2.0', reason: 'broken postinstall', dryRun: false, noLock: false },
    ],
    [
      'yank conjur-cli 4.2.0 broken --dry-run \u2014no-lock',
      { kind: 'yank', project: 'conjur-cli', version: '4.2.0', reason: 'broken', dryRun: true, noLock: true },
    ],
    ['rollback conjur-cli', { kind: 'rollback', project: 'conjur-cli', text: '', dryRun: false, noLock: false }],
    [
      'rollback conjur-cli login is down --no-lock',
      { kind: 'rollback', project: 'conjur-cli', text: 'login is down', dryRun: false, noLock: true },
    ],
    ['list', { kind: 'list', project: undefined }],
    ['list conjur-cli', { kind: 'list', project: 'conjur-cli' }],
    ['status conjur-cli', { kind: 'status', project: 'conjur-cli', version: undefined }],
    ['STATUS conjur-cli 4.2.0', { kind: 'status', project: 'conjur-cli', version: '4.2.0' }],
    ['audit', { kind: 'audit', project: undefined, limit: 10 }],
    ['audit 25', { kind: 'audit', project: undefined, limit: 25 }],
    ['audit conjur-cli', { kind: 'audit', project: 'conjur-cli', limit: 10 }],
    ['audit conjur-cli 3', { kind: 'audit', project: 'conjur-cli', limit: 3 }],
    ['lock conjur-cli  audit   in progress &amp; more', { kind: 'lock', project: 'conjur-cli', reason: 'audit in progress & more' }],
    ['unlock conjur-cli', { kind: 'unlock', project: 'conjur-cli' }],
  ])('%j', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it.each([
    ['conjur-cli', /unknown command/],
    ['frobnicate the thing now please', /unknown command/],
    ['conjur-cli 4.2.0 --force', /unknown option "--force"/],
    ['conjur-cli 4.2.0;rm -rf /', /unknown command/],
    ['conjur-cli 4.2.0;rm', /invalid version/],
    ['conjur-cli $(id)', /invalid version/],
    ['conjur-cli ../../4.2.0', /invalid version/],
    ['../etc 1.0.0', /invalid project name/],
    ['Conjur-CLI 1.0.0', /invalid project name/],
    ['&lt;!channel&gt; 1.0.0', /invalid project name/],
    ['help me', /takes no arguments/],
    ['status', /usage/],
    ['status conjur-cli 4.2.0 extra', /usage/],
    ['audit conjur-cli 0', /from 1 to 50/],
    ['audit conjur-cli 51', /from 1 to 50/],
    ['audit conjur-cli lots', /from 1 to 50/],
    ['lock conjur-cli', /say why/],
    ['unlock', /usage/],
    ['list a b', /usage/],
    [`conjur-cli ${'1'.repeat(600)}`, /characters/],
  ])('refuses %j with a usage line', (text, problem) => {
    const parsed = parseCommand(text);
    expect(parsed.kind).toBe('usage');
    expect(parsed.kind === 'usage' && parsed.problem).toMatch(problem);
  });
});

describe('parseCommand: yank and rollback refuse what they cannot run', () => {
  it.each([
    ['yank conjur-cli 4.2.0', /say why/],
    ['yank conjur-cli 4.2.0 --dry-run', /say why/],
    ['yank conjur-cli', /say why/],
    ['yank ../etc 4.2.0 bad', /invalid project name/],
    ['yank conjur-cli 4.2.0/../x bad', /invalid version/],
    ['rollback', /usage: `\/release rollback/],
  ])('%j', (text, problem) => {
    const parsed = parseCommand(text);
    expect(parsed.kind).toBe('usage');
    expect(parsed.kind === 'usage' && parsed.problem).toMatch(problem);
  });
});
