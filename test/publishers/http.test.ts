import { httpError, retryAfterSeconds } from '../../publishers/http.js';
import { Redactor } from '../../src/redact.js';

describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  const h = (init: Record<string, string>) => new Headers(init);

  test('reads Retry-After as seconds or as an HTTP date, never negative', () => {
    expect(retryAfterSeconds(h({ 'Retry-After': '2' }), now)).toBe(2);
    expect(retryAfterSeconds(h({ 'Retry-After': 'Wed, 25 Nov 2026 12:01:30 GMT' }), now)).toBe(90);
    expect(retryAfterSeconds(h({ 'Retry-After': 'Wed, 25 Nov 2026 11:00:00 GMT' }), now)).toBe(0);
    expect(retryAfterSeconds(h({ 'Retry-After': 'soon' }), now)).toBeUndefined();
    expect(retryAfterSeconds(h({}), now)).toBeUndefined();
  });

  test("falls back to GitHub's x-ratelimit-reset only when the quota is used up", () => {
    const reset = String(now / 1000 + 45);
    expect(retryAfterSeconds(h({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': reset }), now)).toBe(45);
    expect(retryAfterSeconds(h({ 'X-RateLimit-Remaining': '12', 'X-RateLimit-Reset': reset }), now)).toBeUndefined();
    expect(retryAfterSeconds(h({ 'Retry-After': '5', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': reset }), now)).toBe(5);
  });
});

describe('httpError', () => {
  it("redacts the service's answer before shortening it: a token cut at the edge leaves no piece", () => {
    const redactor = new Redactor();
    const token = 'Zq9xCanaryTokenForHttp';
    redactor.add(token);
    const ctx = { redact: (t: string) => redactor.redact(t) };
    // Every offset around the 300-character cut, so some cut leaves fewer characters than any rule could recognise.
    for (let at = 290; at < 300; at++) {
      const err = httpError(
        ctx,
        { name: 'Registry', credential: 'NPM_TOKEN' },
        'PUT /pkg',
        400,
        new Headers(),
        `${'x'.repeat(at)}${token} trailing`,
      );
      expect(err.message).not.toContain(`${token.slice(0, 300 - at)}…`);
    }
  });
});
