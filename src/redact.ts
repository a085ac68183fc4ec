/**
 * Redaction of secret values. A secret is registered the moment it is read (from the environment or
 * from Conjur), in every form it can take on its way to a log line: plain, base64, URL-encoded,
 * JSON-escaped, and line by line when it spans lines (keys, certificates).
 */
export const REDACTED = '[REDACTED]';

/** Lines shorter than this, of a multi-line secret, are too common ("-----END", "") to redact alone. */
const MIN_LINE_LENGTH = 12;
/** `-----BEGIN ... KEY-----` lines are public boilerplate, not part of the secret. */
const PEM_ARMOR = /^-----(BEGIN|END) [A-Z0-9 ]+-----$/;
/** A value this short cannot be redacted without blanking ordinary words; it is still never logged on purpose. */
const MIN_SECRET_LENGTH = 4;

export class Redactor {
  private readonly forms = new Set<string>();
  /** Short-lived secrets (access tokens) by slot: only the newest few are kept, so the set stays bounded. */
  private readonly slots = new Map<string, string[][]>();
  private pattern: RegExp | undefined;

  /**
   * Registers a short-lived secret under `slot`, keeping only the last `keep` generations: a token
   * that rotates every few minutes must not grow the redaction pattern for the life of the process.
   */
  rotate(slot: string, values: readonly string[], keep = 2): void {
    const generations = [...(this.slots.get(slot) ?? []), values.flatMap((v) => (v && v.length >= MIN_SECRET_LENGTH ? formsOf(v) : []))].slice(-keep);
    this.slots.set(slot, generations);
    this.pattern = undefined;
  }

  /** Register a secret value; returns it unchanged so it can wrap an assignment. */
  add(value: string | undefined | null): string | undefined | null {
    if (!value || value.length < MIN_SECRET_LENGTH) return value;
    const before = this.forms.size;
    for (const form of formsOf(value)) this.forms.add(form);
    if (value.includes('\n')) {
      for (const line of value.split(/\r?\n/)) {
        const trimmed = line.trim();
        if (trimmed.length >= MIN_LINE_LENGTH && !PEM_ARMOR.test(trimmed)) for (const form of formsOf(trimmed)) this.forms.add(form);
      }
    }
    if (this.forms.size !== before) this.pattern = undefined;
    return value;
  }

  get size(): number {
    return this.allForms().size;
  }

  redact(text: string): string {
    if (!text) return text;
    if (this.pattern === undefined) {
      const forms = this.allForms();
      if (forms.size === 0) return text;
      this.pattern = new RegExp([...forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
    }
    return text.replace(this.pattern, REDACTED);
  }

  private allForms(): Set<string> {
    const all = new Set(this.forms);
    for (const generations of this.slots.values()) for (const forms of generations) for (const f of forms) all.add(f);
    return all;
  }

  /** Redacts every string inside a JSON-like value (for audit data and chat payloads). */
  redactDeep<T>(value: T): T {
    return JSON.parse(this.redact(JSON.stringify(value) ?? 'null')) as T;
  }
}

function formsOf(value: string): string[] {
  const buf = Buffer.from(value, 'utf8');
  const forms = [
    value,
    buf.toString('base64'),
    buf.toString('base64').replace(/=+$/, ''),
    buf.toString('base64url'),
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
  ];
  return forms.filter((f) => f.length >= MIN_SECRET_LENGTH);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
