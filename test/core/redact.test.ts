import { Redactor, REDACTED } from '../../src/redact.js';

describe('Redactor', () => {
  it('redacts a secret in its plain, base64, URL-encoded and JSON-escaped forms', () => {
    const r = new Redactor();
    const secret = 'p@ss/word+"quoted"=1';
    r.add(secret);
    for (const form of [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'), encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) {
      expect(r.redact(`before ${form} after`)).toBe(`before ${REDACTED} after`);
    }
  });

  it('redacts each long line of a multi-line secret on its own', () => {
    const r = new Redactor();
    const key = '-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQC\nZZZZB3NzaC1yc2EAAAADAQABAAABAQC\n-----END KEY-----';
    r.add(key);
    expect(r.redact('line: ZZZZB3NzaC1yc2EAAAADAQABAAABAQC')).toBe(`line: ${REDACTED}`);
    expect(r.redact('-----END KEY-----')).toBe('-----END KEY-----');
  });

  it('redacts inside nested values', () => {
    const r = new Redactor();
    r.add('canary-value-123');
    expect(r.redactDeep({ a: ['x canary-value-123 y'], b: { c: 'canary-value-123' } })).toEqual({ a: [`x ${REDACTED} y`], b: { c: REDACTED } });
  });

  it('keeps only the newest generations of a rotating secret, so the pattern stays bounded', () => {
    const r = new Redactor();
    for (let i = 0; i < 100; i++) r.rotate('token', [`token-generation-${i}`]);
    expect(r.redact('token-generation-99 token-generation-98')).toBe(`${REDACTED} ${REDACTED}`);
    expect(r.redact('token-generation-50')).toBe('token-generation-50');
    expect(r.size).toBeLessThan(20);
  });

  it('leaves text alone when nothing is registered', () => {
    expect(new Redactor().redact('hello')).toBe('hello');
  });
});
