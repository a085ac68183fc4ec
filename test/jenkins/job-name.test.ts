import { jobAllowed, jobFullName } from '../../handlers/jenkins/job-name.js';

describe('jobFullName', () => {
  it.each([
    ['conjur-cli', 'conjur-cli'],
    ['team/conjur-cli', 'team/conjur-cli'],
    ['https://jenkins.example/job/conjur-cli/', 'conjur-cli'],
    ['https://jenkins.example/job/team/job/conjur-cli/', 'team/conjur-cli'],
    ['https://jenkins.example/jenkins/job/team/job/conjur-cli', 'team/conjur-cli'],
    ['https://jenkins.example/view/All/job/conjur-cli/', 'conjur-cli'],
    ['job/team/job/conjur-cli/', 'team/conjur-cli'],
    ['https://jenkins.example/job/my%20job/', 'my job'],
  ])('%s is %s', (ref, name) => {
    expect(jobFullName(ref)).toBe(name);
  });

  it.each([
    '',
    'team//conjur-cli',
    '../conjur-cli',
    'team/../conjur-cli',
    'https://jenkins.example/',
    'https://jenkins.example/job/conjur-cli/123/', // a build URL, not a job URL
    'https://jenkins.example/job/a%2Fb/', // a slash smuggled into one name
    'https://jenkins.example/job/%E0%A4%A/',
    'https://jenkins.example/job/x/?job=y',
    'conjur\ncli',
  ])('%j names no job', (ref) => {
    expect(jobFullName(ref)).toBeUndefined();
  });
});

describe('jobAllowed', () => {
  it('compares full names: a same-named job in another folder is another job', () => {
    expect(jobAllowed('conjur-cli', 'https://jenkins.example/job/conjur-cli/')).toBe(true);
    expect(jobAllowed('team/conjur-cli', 'https://jenkins.example/job/team/job/conjur-cli/')).toBe(true);
    expect(jobAllowed('conjur-cli', 'https://jenkins.example/job/evil/job/conjur-cli/')).toBe(false);
    expect(jobAllowed('team/conjur-cli', 'conjur-cli')).toBe(false);
    expect(jobAllowed('conjur-cli', 'conjur-cli-fork')).toBe(false);
    expect(jobAllowed('conjur-cli', 'Conjur-CLI')).toBe(false);
  });

  it('allows any direct child of a folder or multibranch job with /*', () => {
    expect(jobAllowed('conjur-cli/*', 'https://jenkins.example/job/conjur-cli/job/v4.2.0/')).toBe(true);
    expect(jobAllowed('conjur-cli/*', 'conjur-cli/main')).toBe(true);
    expect(jobAllowed('conjur-cli/*', 'conjur-cli')).toBe(false);
    expect(jobAllowed('conjur-cli/*', 'conjur-cli/a/b')).toBe(false);
    expect(jobAllowed('conjur-cli/*', 'conjur-cli-evil/main')).toBe(false);
  });
});
