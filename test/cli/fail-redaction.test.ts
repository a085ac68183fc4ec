import { jest } from '@jest/globals';
import { ConfigError } from '../../src/config/load.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { cliLogs, cliRedactor, fail } from '../../handlers/cli/run.js';

const SECRET = 'cli-fail-canary/+=secret-value';

describe('the CLI error renderer', () => {
  it('redacts every registered secret (plain, base64, URL-encoded) from the error it prints, and exits with the code', () => {
    // Commands create their app with this redactor: what the app registers, fail() knows.
    expect(cliLogs.redactor).toBe(cliRedactor);
    cliRedactor.add(SECRET);
    const written: string[] = [];
    const write = jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    const exit = jest.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    try {
      const forms = [SECRET, Buffer.from(SECRET).toString('base64'), encodeURIComponent(SECRET)];
      expect(() => fail(new ReleaseBotError(ErrorCode.ConjurUnavailable, `Conjur said ${forms.join(' and ')}`))).toThrow('exit 69');
      expect(() => fail(new ConfigError([`CONJUR_APPLIANCE_URL: ${SECRET} is not a URL`]))).toThrow('exit 78');
      const text = written.join('');
      expect(text).toContain('release-bot: Conjur said [REDACTED] and [REDACTED] and [REDACTED] [CONJUR_UNAVAILABLE]');
      expect(text).toContain('CONJUR_APPLIANCE_URL: [REDACTED] is not a URL');
      for (const form of forms) expect(text).not.toContain(form);
    } finally {
      write.mockRestore();
      exit.mockRestore();
    }
  });
});
