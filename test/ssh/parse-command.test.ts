import { parseSshCommand } from '../../handlers/ssh/parse-command.js';
import { ErrorCode } from '../../src/errors.js';

describe('parseSshCommand (SSH_ORIGINAL_COMMAND of the forced command)', () => {
  it('accepts publish <project> <version>, and nothing more', () => {
    expect(parseSshCommand('publish conjur-cli 4.2.0')).toEqual({ command: 'publish', project: 'conjur-cli', version: '4.2.0' });
    expect(parseSshCommand('publish conjur-cli 4.2.0-rc.1+build.7')).toEqual({
      command: 'publish',
      project: 'conjur-cli',
      version: '4.2.0-rc.1+build.7',
    });
  });

  it('accepts yank <project> <version> <reason words>, with no option and no shell syntax in the reason', () => {
    expect(parseSshCommand('yank conjur-cli 4.2.0 broken build 123')).toEqual({
      command: 'yank',
      project: 'conjur-cli',
      version: '4.2.0',
      reason: 'broken build 123',
    });
    expect(() => parseSshCommand('yank conjur-cli 4.2.0')).toThrow('yank: missing <reason>');
    expect(() => parseSshCommand('yank conjur-cli 4.2.0 --no-lock broken')).toThrow('yank: unexpected option "--no-lock"');
    expect(() => parseSshCommand('yank conjur-cli 4.2.0 broken; rm -rf /')).toThrow(expect.objectContaining({ code: ErrorCode.BadInput }));
  });

  it('accepts stage with its build options', () => {
    expect(
      parseSshCommand(
        'stage conjur-cli 4.2.0 --build-number 123 --build-url https://jenkins.example:8443/job/conjur-cli/123/ --commit 9fceb02',
      ),
    ).toEqual({
      command: 'stage',
      project: 'conjur-cli',
      version: '4.2.0',
      buildNumber: 123,
      buildUrl: 'https://jenkins.example:8443/job/conjur-cli/123/',
      commit: '9fceb02',
    });
    expect(parseSshCommand('stage conjur-cli 4.2.0')).toMatchObject({
      command: 'stage',
      buildNumber: undefined,
      buildUrl: undefined,
      commit: undefined,
    });
  });

  it('accepts status with and without a version', () => {
    expect(parseSshCommand('status conjur-cli')).toEqual({ command: 'status', project: 'conjur-cli', version: undefined });
    expect(parseSshCommand('status conjur-cli 4.2.0')).toEqual({ command: 'status', project: 'conjur-cli', version: '4.2.0' });
  });

  const refused: [string | undefined, RegExp][] = [
    [undefined, /no command given: interactive logins are not allowed/],
    ['', /no command given/],
    ['bash', /unknown command "bash"/],
    ['sh -c id', /unknown command "sh"/],
    ['scp -t /tmp', /unknown command "scp"/],
    ['rsync --server -e.Lsfx . /tmp', /unknown command "rsync"/],
    ['internal-sftp', /unknown command "internal-sftp"/],
    ['PUBLISH conjur-cli 4.2.0', /unknown command "PUBLISH"/],
    ['publish x; rm -rf /', /shell syntax is not accepted: ";" at position 10/],
    ['publish conjur-cli 4.2.0 && id', /shell syntax is not accepted: "&" at position 26/],
    ['publish conjur-cli 4.2.0 | sh', /shell syntax is not accepted: "\|"/],
    ['publish conjur-cli $(id)', /shell syntax is not accepted: "\$"/],
    ['publish conjur-cli `id`', /shell syntax is not accepted: "`"/],
    ["publish 'conjur-cli' 4.2.0", /shell syntax is not accepted: "'"/],
    ['publish "conjur-cli" 4.2.0', /shell syntax is not accepted: """/],
    ['publish conjur-cli 4.2.0 > /etc/passwd', /shell syntax is not accepted: ">"/],
    ['publish conjur-cli 4.2.0 < /dev/null', /shell syntax is not accepted: "<"/],
    ['publish conjur-cli 4.2.0\nid', /shell syntax is not accepted: a newline at position 25/],
    ['publish conjur-cli 4.2.0\rid', /a carriage return/],
    ['publish\tconjur-cli 4.2.0', /a tab/],
    ['publish conjur-* 4.2.0', /shell syntax is not accepted: "\*"/],
    ['publish conjur-cli 4.2.?', /shell syntax is not accepted: "\?"/],
    ['publish conjur-cli {4.2.0,4.3.0}', /shell syntax is not accepted: "\{"/],
    ['publish ~/x 4.2.0', /shell syntax is not accepted: "~"/],
    ['publish conjur-cli 4.2.0 # comment', /shell syntax is not accepted: "#"/],
    ['publish conjur-cli 4.2.0\\', /shell syntax is not accepted: "\\"/],
    ['FOO=bar publish conjur-cli 4.2.0', /shell syntax is not accepted: "="/],
    ['publish conjur-cli 4.2.0\u0000', /U\+0000 at position 25 is not accepted/],
    ['publish cönjur 4.2.0', /U\+00F6 at position 10 is not accepted/],
    ['publish conjur-cli 4.2.0 extra', /publish: unexpected extra argument "extra"/],
    ['publish conjur-cli', /publish: missing <version>/],
    ['publish', /publish: missing <project> and <version>/],
    [
      'publish conjur-cli 4.2.0 --as root',
      /publish: unexpected extra argument "--as": over ssh, publish takes exactly <project> <version>/,
    ],
    // The CLI's publish options are not part of the forced command's contract.
    [
      'publish conjur-cli 4.2.0 --dry-run',
      /publish: unexpected extra argument "--dry-run": over ssh, publish takes exactly <project> <version>/,
    ],
    ['publish conjur-cli 4.2.0 --resume', /publish: unexpected extra argument "--resume"/],
    ['publish conjur-cli 4.2.0 --resume --dry-run', /publish: unexpected extra argument "--resume"/],
    ['publish conjur-cli 4.2.0 --json', /publish: unexpected extra argument "--json"/],
    ['publish  conjur-cli 4.2.0', /separate words with single spaces/],
    [' publish conjur-cli 4.2.0', /separate words with single spaces/],
    ['publish conjur-cli 4.2.0 ', /separate words with single spaces/],
    ['publish ../etc 4.2.0', /invalid project name/],
    ['publish conjur-cli ../../4.2.0', /invalid version/],
    ['publish --dry-run conjur-cli 4.2.0', /publish: missing <project> and <version>/],
    ['status conjur-cli 4.2.0 more', /status: unexpected extra argument "more"/],
    ['status conjur-cli --json', /status: unknown option or extra argument "--json"/],
    ['stage conjur-cli 4.2.0 --build-number', /--build-number needs a value/],
    ['stage conjur-cli 4.2.0 --build-number 12a', /--build-number must be a whole number/],
    ['stage conjur-cli 4.2.0 --build-url ftp://x/', /--build-url must be an http\(s\) URL/],
    ['stage conjur-cli 4.2.0 --build-url https://jenkins.example:99999/job/x/', /--build-url must be an http\(s\) URL/],
    ['stage conjur-cli 4.2.0 --build-url', /--build-url needs a value/],
    ['stage conjur-cli 4.2.0 --build-number --commit abcdef1', /--build-number needs a value/],
    ['stage conjur-cli 4.2.0 --build-number 1234567890', /--build-number must be a whole number/],
    ['stage conjur-cli 4.2.0 --build-number 12 extra', /stage: unknown option or extra argument "extra"/],
    ['stage conjur-cli 4.2.0 extra', /stage: unexpected extra argument "extra"/],
    ['stage conjur-cli', /stage: missing <version>/],
    ['stage conjur-cli 4.2.0 --dry-run', /stage: unknown option or extra argument "--dry-run"/],
    ['stage conjur-cli 4.2.0 --build-number=12', /shell syntax is not accepted: "="/],
    ['stage ../x 4.2.0', /invalid project name/],
    ['stage conjur-cli 4.2.0 --commit HEAD', /--commit must be a commit hash/],
    ['stage conjur-cli 4.2.0 --commit abcdef1 --commit abcdef1', /--commit given twice/],
    ['stage conjur-cli 4.2.0 --image registry/x', /stage: unknown option or extra argument "--image"/],
    [`publish conjur-cli ${'1'.repeat(600)}`, /longer than 512 characters/],
  ];

  it.each(refused)('refuses %j', (command, message) => {
    let caught: unknown;
    try {
      parseSshCommand(command);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: ErrorCode.BadInput });
    expect((caught as Error).message).toMatch(message);
  });

  it('says which commands the key runs when it refuses', () => {
    expect(() => parseSshCommand('bash')).toThrow(
      'This key runs only: publish <project> <version> | stage <project> <version> [--build-number N] [--build-url URL] [--commit SHA] | status <project> [version]',
    );
    expect(() => parseSshCommand('publish conjur-cli 4.2.0 --dry-run')).toThrow('This key runs only: publish <project> <version> | stage');
  });
});
