import { createHash } from 'node:crypto';
import { ErrorCode } from '../../src/errors.js';
import type { ProjectConfig } from '../../src/config/load.js';
import { hubSignature, verifyHubSignature } from '../../handlers/jenkins/hmac.js';
import { hashUrlToken, projectForUrlToken } from '../../handlers/jenkins/url-token.js';
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
  const project = (name: string, token?: string) => ({ name, notification_token_sha256: token === undefined ? undefined : hashUrlToken(token) }) as unknown as ProjectConfig;
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
