import { execFileSync } from 'node:child_process';
import { Redactor, REDACTED } from '../../src/redact.js';
import { DUMPS } from '../support/hex-dumps.js';

/** The tool's own output where it is installed; the byte-exact stand-in where it is not. */
function dumped(command: string[], dump: (bytes: Buffer) => string, bytes: Buffer): string {
  const installed = execFileSync('sh', ['-c', `command -v ${command[0]} || true`], { encoding: 'utf8' }).trim() !== '';
  return installed ? execFileSync(command[0] as string, command.slice(1), { input: bytes, encoding: 'latin1' }) : dump(bytes);
}

describe('Redactor', () => {
  it('redacts a secret in its plain, base64, URL-encoded and JSON-escaped forms', () => {
    const r = new Redactor();
    const secret = 'p@ss/word+"quoted"=1';
    r.add(secret);
    for (const form of [
      secret,
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
      encodeURIComponent(secret),
      JSON.stringify(secret).slice(1, -1),
    ]) {
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
    expect(r.redactDeep({ a: ['x canary-value-123 y'], b: { c: 'canary-value-123' } })).toEqual({
      a: [`x ${REDACTED} y`],
      b: { c: REDACTED },
    });
  });

  it('keeps only the newest generations of a rotating secret, so the pattern stays bounded', () => {
    const r = new Redactor();
    for (let i = 0; i < 100; i++) r.rotate('token', [`token-generation-${i}`]);
    expect(r.redact('token-generation-99 token-generation-98')).toBe(`${REDACTED} ${REDACTED}`);
    expect(r.redact('token-generation-50')).toBe('token-generation-50');
    expect(r.size).toBeLessThan(20);
  });

  it('finds a token inside an Authorization: Basic header, whatever its alignment', () => {
    const r = new Redactor();
    const token = 'npm_canaryTOKEN0123456789';
    r.add(token);
    for (const user of ['', 'u', 'us', 'user', 'deploy-bot']) {
      const header = `Authorization: Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
      const redacted = r.redact(header);
      expect(redacted).toContain(REDACTED);
      // What is left: the prefix's characters, one edge character mixing the token's bits with its
      // neighbours' on each side, and the padding.
      const left = redacted.replace(REDACTED, '').length - 'Authorization: Basic '.length;
      expect(left).toBeLessThanOrEqual(Math.ceil(((user.length + 1) * 8) / 6) + 1 + 2);
    }
  });

  it('redacts hex dumps, lower and upper case', () => {
    const r = new Redactor();
    r.add('hex-canary-0123');
    const hex = Buffer.from('hex-canary-0123').toString('hex');
    expect(r.redact(`xxd: 00${hex}ff`)).toBe(`xxd: 00${REDACTED}ff`);
    expect(r.redact(`od: ${hex.toUpperCase()}`)).toBe(`od: ${REDACTED}`);
  });

  it('takes secrets as bytes: a binary one by its base64 and hex, a UTF-8 one as text too', () => {
    const r = new Redactor();
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x10, 0x80, 0x7f, 0x01, 0xc3, 0x28, 0x99]);
    expect(r.add(binary)).toBe(binary);
    expect(r.redact(`key=${binary.toString('base64')}`)).toBe(`key=${REDACTED}`);
    expect(r.redact(`key=${binary.toString('hex')}`)).toBe(`key=${REDACTED}`);
    r.add(Buffer.from('utf8-canary-value'));
    expect(r.redact('got utf8-canary-value')).toBe(`got ${REDACTED}`);
  });

  it('redacts the start of a secret that a truncation cut off before redaction ran', () => {
    const r = new Redactor();
    r.add('cut-canary-0123456789');
    expect(r.redact('error: cut-canary-01…')).toBe(`error: ${REDACTED}…`);
    expect(r.redact('short cut…')).toBe('short cut…');
  });

  it('redacts strings of a JSON-like value one by one (a form never spans quotes)', () => {
    const r = new Redactor();
    r.add('a","b');
    expect(r.redactDeep({ list: ['a', 'b'], v: 'x a","b y' })).toEqual({ list: ['a', 'b'], v: `x ${REDACTED} y` });
  });

  it('redacts a secret as chat or HTML escaped it, and wrapped or spaced by a dump tool', () => {
    const r = new Redactor();
    const secret = 'tok&en<canary>0123456789';
    r.add(secret);
    expect(r.redact('said tok&amp;en&lt;canary&gt;0123456789')).toBe(`said ${REDACTED}`);
    const hex = Buffer.from(secret).toString('hex');
    expect(r.redact(`xxd -p:\n${hex.slice(0, 20)}\n${hex.slice(20)}\ndone`)).toBe(`xxd -p:\n${REDACTED}\ndone`);
    expect(r.redact(`od:${hex.replace(/../g, ' $&')}\n`)).toBe(`od: ${REDACTED}\n`);
  });

  it('prints each hex dump layout byte for byte as the installed tool does', () => {
    const inputs = [
      Buffer.from('dl/Canary+Token&"q"<x>=5b8e0c2f7a9d1e3\x00\x01'),
      Buffer.alloc(40),
      Buffer.from('abc'),
      Buffer.from(' ~\x7f\x80\xff'.repeat(9), 'latin1'),
    ];
    for (const { command, dump } of DUMPS) for (const bytes of inputs) expect(dumped(command, dump, bytes)).toBe(dump(bytes));
  });

  it('redacts a secret in a hex dump with offset and ASCII columns (xxd, hexdump -C, hexdump, od -tx1, od -A x -t x1z)', () => {
    const r = new Redactor();
    const secret = 'dump-Canary/Token+0123456789';
    r.add(secret);
    const pieces = (s: string) => Array.from({ length: s.length - 7 }, (_, i) => s.slice(i, i + 8));
    const hex = Buffer.from(secret).toString('hex');
    for (const { command, dump } of DUMPS) {
      for (const at of [0, 1, 7, 15, 16, 30]) {
        const bytes = Buffer.from(`${'x'.repeat(at)}${secret} and after it`);
        const output = r.redact(`before\n${dumped(command, dump, bytes)}after\n`);
        const flat = output.replace(/\s+/g, '');
        expect({ command, at, output }).toEqual({ command, at, output: expect.stringContaining(REDACTED) });
        expect(output.startsWith('before\n') && output.endsWith('after\n')).toBe(true);
        // Neither the ASCII column nor the hex (whatever the offsets and spaces between) keeps 8 characters.
        const left = [...pieces(secret), ...pieces(hex)].filter((p) => flat.includes(p) || flat.includes(p.replace(/(..)(..)/g, '$2$1')));
        expect({ command, at, left }).toEqual({ command, at, left: [] });
      }
    }
  });

  it('leaves a hex dump without a secret as it was', () => {
    const r = new Redactor();
    r.add('dump-Canary/Token+0123456789');
    for (const { dump } of DUMPS) {
      const text = `log\n${dump(Buffer.from('an ordinary dump of ordinary bytes, 0123456789abcdef'))}done\n`;
      expect(r.redact(text)).toBe(text);
    }
  });

  it('leaves text alone when nothing is registered', () => {
    expect(new Redactor().redact('hello')).toBe('hello');
  });
});
