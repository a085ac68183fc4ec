import { Redactor, REDACTED } from '../../src/redact.js';
import { DUMPS } from '../support/hex-dumps.js';

/**
 * Property test of the redactor: random secrets (text and bytes) at random offsets inside random
 * encodings of random surroundings. A failure names the seed; run again with
 * REDACT_PROPERTY_SEED=<seed> to replay it.
 */

/** mulberry32: small, seedable, good enough to spread test cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.REDACT_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = 3000;
/** No run of this many characters of a secret's encoded region may survive redaction. */
const WINDOW = 8;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+/=:@!$&*()[]{}"\'\\%#?<>,; é€日🔑\t';
const NOISE = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 :;,.-_/+="{}[]\n';

interface Encoded {
  text: string;
  region: [number, number];
  /** A hex dump with offset columns: the stream's hex (as printed and word-swapped) and its characters, and where the secret lies in each. */
  dumped?: Array<{ shown: string; region: [number, number] }>;
}

interface Encoding {
  name: string;
  /** The output wraps or spaces the encoded text: `region` is in the text without its whitespace. */
  broken?: boolean;
  /** The whole of `prefix + secret + suffix` as the output shows it, and where the secret's characters lie. */
  encode(prefix: Buffer, secret: Buffer, suffix: Buffer): Encoded | undefined;
}

const utf8 = (b: Buffer) => {
  const t = b.toString('utf8');
  return Buffer.from(t, 'utf8').equals(b) ? t : undefined;
};

/** Characters of the text encoding `f` (applied per character) that come from the secret. */
function perCharacter(name: string, f: (s: string) => string): Encoding {
  return {
    name,
    encode(prefix, secret, suffix) {
      const [p, s, x] = [utf8(prefix), utf8(secret), utf8(suffix)];
      if (p === undefined || s === undefined || x === undefined) return undefined;
      const before = f(p);
      return { text: before + f(s) + f(x), region: [before.length, before.length + f(s).length] };
    },
  };
}

/** Base64 characters whose bits include any of the secret's, edges included. */
function base64(name: string, urlSafe: boolean, padded: boolean): Encoding {
  return {
    name,
    encode(prefix, secret, suffix) {
      let text = Buffer.concat([prefix, secret, suffix]).toString(urlSafe ? 'base64url' : 'base64');
      if (urlSafe && padded) text += '='.repeat((4 - (text.length % 4)) % 4);
      if (!padded) text = text.replace(/=+$/, '');
      return { text, region: [Math.floor((8 * prefix.length) / 6), Math.ceil((8 * (prefix.length + secret.length)) / 6)] };
    },
  };
}

function hex(name: string, upper: boolean): Encoding {
  return {
    name,
    encode(prefix, secret, suffix) {
      const h = (b: Buffer) => (upper ? b.toString('hex').toUpperCase() : b.toString('hex'));
      return { text: h(prefix) + h(secret) + h(suffix), region: [2 * prefix.length, 2 * (prefix.length + secret.length)] };
    },
  };
}

/** An encoding as a tool prints it: wrapped (`base64`, `xxd -p`) or spaced (`od -An -tx1`). */
function broken(name: string, inner: Encoding, lay: (s: string) => string): Encoding {
  return {
    name,
    broken: true,
    encode(prefix, secret, suffix) {
      const e = inner.encode(prefix, secret, suffix);
      return e && { text: lay(e.text), region: e.region };
    },
  };
}

/** A dump tool's default layout (offsets, hex groups, ASCII column) of the whole stream, on lines of its own. */
function dump(name: string, lay: (bytes: Buffer) => string): Encoding {
  return {
    name,
    encode(prefix, secret, suffix) {
      const stream = Buffer.concat([prefix, secret, suffix]);
      const even = stream.length % 2 ? Buffer.concat([stream, Buffer.alloc(1)]) : stream;
      const hexRegion: [number, number] = [2 * prefix.length, 2 * (prefix.length + secret.length)];
      return {
        text: `\n${lay(stream)}`,
        region: hexRegion,
        dumped: [
          { shown: stream.toString('hex'), region: hexRegion },
          { shown: even.toString('hex').replace(/(..)(..)/g, '$2$1'), region: hexRegion },
          {
            shown: [...stream].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join(''),
            region: [prefix.length, prefix.length + secret.length],
          },
        ],
      };
    },
  };
}

const ENCODINGS: Encoding[] = [
  perCharacter('plain', (s) => s),
  perCharacter('JSON-escaped', (s) => JSON.stringify(s).slice(1, -1)),
  perCharacter('URL-encoded', encodeURIComponent),
  perCharacter('form-encoded', (s) => new URLSearchParams({ v: s }).toString().slice(2)),
  base64('base64', false, true),
  base64('base64 without padding', false, false),
  base64('base64url', true, false),
  base64('base64url padded', true, true),
  hex('hex', false),
  hex('HEX', true),
  broken('base64 wrapped at 76 (base64)', base64('', false, true), (t) => t.replace(/.{76}/g, '$&\n')),
  broken('hex wrapped at 60 (xxd -p)', hex('', false), (t) => t.replace(/.{60}/g, '$&\n')),
  broken('hex bytes spaced (od -An -tx1)', hex('', false), (t) => t.replace(/../g, ' $&').replace(/(?:.{48})/g, '$&\n')),
  ...DUMPS.map(({ command, dump: lay }) => dump(`hex dump (${command.join(' ')})`, lay)),
];

/** What is left of the secret in the output, by the encoding's own measure. */
function leftOver(encoding: Encoding, output: string, encoded: Encoded): string | undefined {
  const flat = output.replace(/\s+/g, '');
  if (encoded.dumped) {
    for (const { shown, region } of encoded.dumped) {
      const left = survivor(flat, shown, region) ?? survivor(output, shown, region);
      if (left !== undefined) return left;
    }
    return undefined;
  }
  return encoding.broken
    ? survivor(flat, encoded.text.replace(/\s+/g, ''), encoded.region)
    : survivor(output, encoded.text, encoded.region);
}

function randomText(rand: () => number, alphabet: string, min: number, max: number): string {
  const chars = [...alphabet];
  const n = min + Math.floor(rand() * (max - min + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += chars[Math.floor(rand() * chars.length)];
  return s;
}

function randomBytes(rand: () => number, min: number, max: number): Buffer {
  const n = min + Math.floor(rand() * (max - min + 1));
  return Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
}

/** The first run of WINDOW characters of the region still present in the redacted output, if any. */
function survivor(output: string, encoded: string, region: [number, number]): string | undefined {
  for (let i = region[0]; i + WINDOW <= region[1]; i++) {
    const run = encoded.slice(i, i + WINDOW);
    if (output.includes(run)) return run;
  }
  return undefined;
}

describe(`Redactor, property test (seed ${SEED}; replay with REDACT_PROPERTY_SEED=${SEED})`, () => {
  it(`finds ${CASES} random secrets at random offsets in every encoding`, () => {
    const rand = prng(SEED);
    let checked = 0;
    for (let i = 0; i < CASES; i++) {
      const binary = rand() < 0.2;
      const secret = binary ? randomBytes(rand, 8, 48) : Buffer.from(randomText(rand, ALPHABET, 8, 48), 'utf8');
      const redactor = new Redactor();
      // Secrets arrive as text from Conjur, as bytes from binary variables.
      redactor.add(binary || rand() < 0.3 ? secret : secret.toString('utf8'));
      // Others registered alongside, as in a release with several credentials.
      for (let k = Math.floor(rand() * 4); k > 0; k--) redactor.add(randomText(rand, ALPHABET, 8, 40));
      const encoding = ENCODINGS[Math.floor(rand() * ENCODINGS.length)] as Encoding;
      // 0, 1 or 2 bytes of prefix (mod 3) covers every base64 alignment: "user:" is 5.
      const prefix = Buffer.from(randomText(rand, NOISE, 0, 12), 'utf8');
      const suffix = Buffer.from(randomText(rand, NOISE, 0, 12), 'utf8');
      const encoded = encoding.encode(prefix, secret, suffix);
      if (!encoded) continue;
      const before = randomText(rand, NOISE, 0, 200);
      const after = randomText(rand, NOISE, 0, 200);
      const output = redactor.redact(`${before}${encoded.text}${after}`);
      const left = leftOver(encoding, output, encoded);
      if (left !== undefined || !output.includes(REDACTED)) {
        throw new Error(
          `seed ${SEED}, case ${i}: ${encoding.name} of secret ${secret.toString('hex')} (prefix ${prefix.toString('hex')}, suffix ${suffix.toString('hex')}) ` +
            `survived redaction (${JSON.stringify(left)} left) in ${JSON.stringify(output)}`,
        );
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(CASES * 0.7);
  });

  it('finds each line of random multi-line secrets on its own, in every form', () => {
    const rand = prng(SEED ^ 0x5bd1e995);
    for (let i = 0; i < 500; i++) {
      const lines = Array.from({ length: 2 + Math.floor(rand() * 5) }, () => randomText(rand, ALPHABET.replace(/\s/g, ''), 12, 64));
      const redactor = new Redactor();
      redactor.add(lines.join(rand() < 0.5 ? '\n' : '\r\n'));
      const line = Buffer.from(lines[Math.floor(rand() * lines.length)] as string, 'utf8');
      const encoding = ENCODINGS[Math.floor(rand() * ENCODINGS.length)] as Encoding;
      const encoded = encoding.encode(Buffer.from(randomText(rand, NOISE, 0, 5)), line, Buffer.from(randomText(rand, NOISE, 0, 5)));
      if (!encoded) continue;
      const output = redactor.redact(`log: ${encoded.text} end`);
      const left = leftOver(encoding, output, encoded);
      if (left !== undefined)
        throw new Error(
          `seed ${SEED}, multi-line case ${i}: ${encoding.name} of line ${JSON.stringify(line.toString())} survived (${JSON.stringify(left)}) in ${JSON.stringify(output)}`,
        );
    }
  });

  it('leaves random text without secrets as it was', () => {
    const rand = prng(SEED ^ 0x1234567);
    const redactor = new Redactor();
    for (let k = 0; k < 20; k++) redactor.add(randomText(rand, ALPHABET, 16, 40));
    for (let i = 0; i < 200; i++) {
      const text = randomText(rand, NOISE, 0, 400);
      expect(redactor.redact(text)).toBe(text);
    }
  });
});
