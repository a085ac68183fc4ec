/**
 * Redaction of secret values. A secret is registered the moment it is read (from the environment or
 * from Conjur), in every form it can take on its way to a log line: plain; base64 (standard and
 * URL-safe) at each of the three byte alignments, so it is found inside `base64("user:" + secret)`;
 * lower- and upper-case hex; URL-encoded; JSON-escaped; escaped for Slack or HTML; and line by line
 * when it spans lines. A form is also found when the output wrapped or spaced it (`base64` wraps at
 * 76 columns, `xxd -p` at 60, `od` puts a space between bytes), and inside a hex dump with offset
 * and ASCII columns (`xxd`, `hexdump -C`, `od -tx1`: see hex-dump.ts).
 */
import { redactHexDumps } from './hex-dump.js';

export const REDACTED = '[REDACTED]';

/** Lines shorter than this, of a multi-line secret, are too common ("-----END", "") to redact alone. */
const MIN_LINE_LENGTH = 12;
/** `-----BEGIN ... KEY-----` lines are public boilerplate, not part of the secret. */
const PEM_ARMOR = /^-----(BEGIN|END) [A-Z0-9 ]+-----$/;
/** A value this short cannot be redacted without blanking ordinary words; it is still never logged on purpose. */
const MIN_SECRET_LENGTH = 4;
/**
 * The shortest derived form (the inner characters of a shifted base64) worth matching: fewer
 * characters would blank unrelated base64 and hex in ordinary output. A secret whose derived form
 * is shorter is still redacted in its plain, full-encoded and hex forms.
 */
const MIN_DERIVED_LENGTH = 6;
/**
 * How much of a form, cut off by a truncation that ran before redaction (`clip`, Slack's `fit`:
 * both end with "…"), is still redacted. Redaction runs before truncation wherever this code
 * truncates; this catches a cut made by code that forgot.
 */
const MIN_CUT_PREFIX = 6;
export const CUT_MARK = '…';
/** Forms at least this long are also looked for across whitespace; shorter ones could join two ordinary words. */
const MIN_WRAPPED_LENGTH = 12;

interface Compiled {
  pattern: RegExp;
  /** The forms that may be found across line breaks and spaces. */
  wrapped: RegExp | undefined;
  /** Longest first. */
  forms: string[];
}

export class Redactor {
  private readonly forms = new Set<string>();
  /** Short-lived secrets (access tokens) by slot: only the newest few are kept, so the set stays bounded. */
  private readonly slots = new Map<string, string[][]>();
  private compiled: Compiled | null | undefined;

  /**
   * Registers a short-lived secret under `slot`, keeping only the last `keep` generations: a token
   * that rotates every few minutes must not grow the redaction pattern for the life of the process.
   */
  rotate(slot: string, values: ReadonlyArray<string | Buffer>, keep = 2): void {
    const generations = [...(this.slots.get(slot) ?? []), values.flatMap((v) => [...secretForms(v)])].slice(-keep);
    this.slots.set(slot, generations);
    this.compiled = undefined;
  }

  /**
   * Register a secret value, text or bytes (a binary secret is found as base64 or hex, and as text
   * when its bytes are UTF-8); returns it unchanged so it can wrap an assignment.
   */
  add<T extends string | Buffer | undefined | null>(value: T): T {
    if (value === undefined || value === null) return value;
    const before = this.forms.size;
    for (const form of secretForms(value)) this.forms.add(form);
    if (this.forms.size !== before) this.compiled = undefined;
    return value;
  }

  get size(): number {
    return this.allForms().size;
  }

  redact(text: string): string {
    if (!text) return text;
    const compiled = this.compile();
    if (!compiled) return text;
    // Dumps first: the passes below would see an offset column as part of the hex it interrupts.
    const plain = redactHexDumps(text, compiled.pattern, REDACTED).replace(compiled.pattern, REDACTED);
    const redacted = compiled.wrapped ? redactAcrossWhitespace(plain, compiled.wrapped) : plain;
    return redacted.includes(CUT_MARK) ? redactCutForms(redacted, compiled.forms) : redacted;
  }

  /** Redacts every string (and key) inside a JSON-like value (for audit data and chat payloads). */
  redactDeep<T>(value: T): T {
    const json = JSON.stringify(value);
    if (json === undefined) return null as T;
    // Each string on its own, after JSON decoding: a form never matches across a value's quotes.
    return this.walk(JSON.parse(json)) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.redact(k), this.walk(v)]));
    return value;
  }

  private compile(): Compiled | null {
    if (this.compiled === undefined) {
      const forms = [...this.allForms()].sort((a, b) => b.length - a.length);
      // Longest first: where two forms start at the same place, the whole of the longer one goes.
      const alternation = (list: string[]) => (list.length === 0 ? undefined : new RegExp(list.map(escapeRegExp).join('|'), 'g'));
      const wrappable = forms.filter((f) => f.length >= MIN_WRAPPED_LENGTH && !/\s/.test(f));
      this.compiled = forms.length === 0 ? null : { pattern: alternation(forms) as RegExp, wrapped: alternation(wrappable), forms };
    }
    return this.compiled;
  }

  private allForms(): Set<string> {
    const all = new Set(this.forms);
    for (const generations of this.slots.values()) for (const forms of generations) for (const f of forms) all.add(f);
    return all;
  }
}

/** Every form of a secret, and of each of its lines when it spans lines (keys, certificates). */
function secretForms(value: string | Buffer): Set<string> {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const text = typeof value === 'string' ? value : asUtf8(value);
  const forms = new Set<string>();
  if (bytes.length < MIN_SECRET_LENGTH) return forms;
  formsOf(bytes, text, forms);
  if (text?.includes('\n')) {
    for (const line of text.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed.length >= MIN_LINE_LENGTH && !PEM_ARMOR.test(trimmed)) formsOf(Buffer.from(trimmed, 'utf8'), trimmed, forms);
    }
  }
  return forms;
}

/** Bytes as text when they are valid UTF-8 (a binary secret has no plain form a log line could carry). */
function asUtf8(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

function formsOf(bytes: Buffer, text: string | undefined, into: Set<string>): void {
  const add = (form: string, min = MIN_SECRET_LENGTH) => {
    if (form.length >= min) into.add(form);
  };
  if (text !== undefined) {
    add(text);
    add(JSON.stringify(text).slice(1, -1));
    // JSON encoders that escape "/" (PHP, some Java) or every non-ASCII character.
    add(JSON.stringify(text).slice(1, -1).replace(/\//g, '\\/'));
    add(
      JSON.stringify(text)
        .slice(1, -1)
        .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    );
    const url = encodeURIComponent(text);
    add(url);
    add(url.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
    // application/x-www-form-urlencoded: spaces as "+", and "*" left alone.
    add(new URLSearchParams({ v: text }).toString().slice(2));
    // As a chat message or an HTML page shows it: Slack's text is escaped after the secret got in.
    const markup = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    add(markup);
    add(markup.replace(/"/g, '&quot;').replace(/'/g, '&#39;'));
  }
  // Whole, so nothing is left of it: the inner forms below leave an edge character and the padding.
  const base64 = bytes.toString('base64');
  add(base64);
  add(base64.replace(/=+$/, ''));
  add(bytes.toString('base64url'));
  for (const inner of base64Inner(bytes)) {
    add(inner, MIN_DERIVED_LENGTH);
    add(toUrlSafe(inner), MIN_DERIVED_LENGTH);
  }
  const hex = bytes.toString('hex');
  add(hex, MIN_DERIVED_LENGTH);
  add(hex.toUpperCase(), MIN_DERIVED_LENGTH);
}

/**
 * The base64 characters that depend on the secret's bytes alone, at each of the three alignments it
 * can have inside a longer encoded value (preceded by 0, 1 or 2 bytes modulo 3). The characters at
 * either edge mix in bits of the neighbouring bytes, so they are left out: at most one character
 * (6 bits, of which at most 4 are the secret's) stays visible on each side.
 */
export function base64Inner(bytes: Buffer): string[] {
  const inner: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const first = Math.ceil((8 * shift) / 6);
    const end = Math.floor((8 * (shift + bytes.length)) / 6);
    if (end > first) inner.push(encoded.slice(first, end));
  }
  return inner;
}

function toUrlSafe(base64: string): string {
  return base64.replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * Where an encoder or a dump tool broke a value with whitespace: words of base64/hex/URL characters
 * joined by line breaks after a long one (`base64` wraps at 76 columns, `xxd -p` at 60), or short hex groups
 * separated by spaces (`od -An -tx1`).
 */
// Each alternative starts at a word's start and takes the long word atomically (a lookahead's
// capture), so a long word not followed by a line break costs one step, not one per character.
const BROKEN =
  /(?<![A-Za-z0-9+/=_%-])(?=([A-Za-z0-9+/=_%-]{16,}))\1(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9+/=_%-]+)+|(?:[0-9A-Fa-f]{2,4}[ \t\r\n]+){3,}[0-9A-Fa-f]{2,4}/g;

/**
 * Forms that the output broke with whitespace. Each broken stretch is searched once more without
 * its whitespace, and what matched there is redacted from its first character to its last. (One
 * pattern allowing whitespace between every character of every form is about 150 times slower on
 * a megabyte, and searching the whole text without whitespace about 10 times.)
 */
function redactAcrossWhitespace(text: string, pattern: RegExp): string {
  const spans: Array<[number, number]> = [];
  BROKEN.lastIndex = 0;
  for (let b = BROKEN.exec(text); b; b = BROKEN.exec(text)) {
    const stretch = b[0];
    const offset = b.index;
    // Where each whitespace run was taken out: [index in the collapsed text, characters taken so far].
    const gaps: Array<[number, number]> = [];
    let taken = 0;
    const space = /\s+/g;
    for (let g = space.exec(stretch); g; g = space.exec(stretch)) {
      taken += g[0].length;
      gaps.push([g.index + g[0].length - taken, taken]);
    }
    const original = (i: number): number => {
      let lo = 0;
      let hi = gaps.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((gaps[mid] as [number, number])[0] <= i) lo = mid + 1;
        else hi = mid;
      }
      return offset + i + (lo > 0 ? (gaps[lo - 1] as [number, number])[1] : 0);
    };
    const collapsed = stretch.replace(/\s+/g, '');
    pattern.lastIndex = 0;
    for (let m = pattern.exec(collapsed); m; m = pattern.exec(collapsed))
      spans.push([original(m.index), original(m.index + m[0].length - 1) + 1]);
  }
  if (spans.length === 0) return text;
  let out = '';
  let from = 0;
  for (const [start, end] of spans) {
    out += `${text.slice(from, Math.max(from, start))}${REDACTED}`;
    from = Math.max(from, end);
  }
  return out + text.slice(from);
}

/** A form cut by a truncation before it was redacted: its first characters just before "…". */
function redactCutForms(text: string, forms: readonly string[]): string {
  let out = '';
  let from = 0;
  for (let at = text.indexOf(CUT_MARK); at >= 0; at = text.indexOf(CUT_MARK, at + 1)) {
    let cut = 0;
    for (const form of forms) {
      for (let k = Math.min(form.length - 1, at - from); k >= MIN_CUT_PREFIX && k > cut; k--) {
        if (text.startsWith(form.slice(0, k), at - k)) {
          cut = k;
          break;
        }
      }
    }
    if (cut > 0) {
      out += `${text.slice(from, at - cut)}${REDACTED}`;
      from = at;
    }
  }
  return out + text.slice(from);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
