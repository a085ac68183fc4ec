import { createHash } from 'node:crypto';
import path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import type { ProjectConfig } from '../../src/config/load.js';
import { hubSignature, verifyHubSignature } from '../../handlers/jenkins/hmac.js';
import { hashUrlToken, projectForUrlToken } from '../../handlers/jenkins/url-token.js';
import { repoRoot } from '../support/cli.js';
import { requireBinary } from '../support/require-binary.js';
import { WEBHOOK_SECRET } from './helpers/tokens.js';

describe('X-Hub-Signature-256', () => {
  const body = Buffer.from('{"project":"conjur-cli"}');

  it('accepts the HMAC of the exact body (hex in any case)', () => {
    const sig = hubSignature(body, WEBHOOK_SECRET);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(() => verifyHubSignature(body, sig, WEBHOOK_SECRET)).not.toThrow();
    expect(() => verifyHubSignature(body, `sha256=${sig.slice(7).toUpperCase()}`, WEBHOOK_SECRET)).not.toThrow();
  });

  it('refuses another body, another secret, a malformed or missing header', () => {
    const sig = hubSignature(body, WEBHOOK_SECRET);
    const cases: [Buffer, string | undefined, string][] = [
      [Buffer.from('{"project":"conjur-cli" }'), sig, WEBHOOK_SECRET],
      [body, hubSignature(body, `${WEBHOOK_SECRET}x`), WEBHOOK_SECRET],
      [body, `sha1=${'0'.repeat(40)}`, WEBHOOK_SECRET],
      [body, sig.slice(0, -2), WEBHOOK_SECRET],
      [body, `sha256=${'z'.repeat(64)}`, WEBHOOK_SECRET],
      [body, undefined, WEBHOOK_SECRET],
    ];
    for (const [b, header, secret] of cases) {
      expect(() => verifyHubSignature(b, header, secret)).toThrow(expect.objectContaining({ code: ErrorCode.WebhookUnauthenticated }));
    }
  });
});

describe('Notification URL tokens', () => {
  const tokenA = 'a'.repeat(16) + 'A1b2C3d4E5f6G7h8';
  const tokenB = 'b'.repeat(40);
  const project = (name: string, token?: string) =>
    ({ name, notification_token_sha256: token === undefined ? undefined : hashUrlToken(token) }) as unknown as ProjectConfig;
  const projects = [project('no-token'), project('conjur-cli', tokenA), project('secretless', tokenB)];

  it('hashes as sha256 hex of the token, as `printf %s "$TOKEN" | sha256sum` does', () => {
    expect(hashUrlToken(tokenA)).toBe(createHash('sha256').update(tokenA).digest('hex'));
  });

  it('finds the project whose hash matches, and nothing for an unknown or malformed token', () => {
    expect(projectForUrlToken(tokenA, projects)?.name).toBe('conjur-cli');
    expect(projectForUrlToken(tokenB, projects)?.name).toBe('secretless');
    expect(projectForUrlToken('c'.repeat(40), projects)).toBeUndefined();
    expect(projectForUrlToken('short', projects)).toBeUndefined();
    expect(projectForUrlToken(`${tokenA}/../x`, projects)).toBeUndefined();
    expect(projectForUrlToken('', projects)).toBeUndefined();
  });
});

describe('deploy/jenkins/new-notification-token.sh', () => {
  it('prints a URL whose token the bot maps to the project through the printed sha256', async () => {
    requireBinary('openssl', 'openssl');
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(
      'sh',
      [path.join(repoRoot, 'deploy/jenkins/new-notification-token.sh'), 'conjur-cli', 'https://release.example.com/'],
      { encoding: 'utf8' },
    );
    const url = /^ {2}(https:\/\/release\.example\.com\/webhooks\/jenkins\/([0-9a-f]{64}))$/m.exec(out);
    const digest = /^ {2}notification_token_sha256: ([0-9a-f]{64})$/m.exec(out)?.[1];
    expect(url).not.toBeNull();
    const configured = { name: 'conjur-cli', notification_token_sha256: digest } as unknown as ProjectConfig;
    expect(projectForUrlToken(url?.[2] as string, [configured])?.name).toBe('conjur-cli');
  });
});
