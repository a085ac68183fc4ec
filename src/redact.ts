/**
 * Redaction of secret values. A secret is registered the moment it is read (from the environment or
 * from Conjur), in every form it can take on its way to a log line: plain, base64, URL-encoded,
 * JSON-escaped, and line by line when it spans lines (keys, certificates).
 */
export const REDACTED = '[REDACTED]';

/** Lines shorter than this, of a multi-line secret, are too common ("-----END", "") to redact alone. */
const MIN_LINE_LENGTH = 12;
/** A value this short cannot be redacted without blanking ordinary words; it is still never logged on purpose. */
const MIN_SECRET_LENGTH = 4;

export class Redactor {
  private readonly forms = new Set<string>();
  private pattern: RegExp | undefined;

  /** Register a secret value; returns it unchanged so it can wrap an assignment. */
  add(value: string | undefined | null): string | undefined | null {
    if (!value || value.length < MIN_SECRET_LENGTH) return value;
    const before = this.forms.size;
    for (const form of formsOf(value)) this.forms.add(form);
    if (value.includes('\n')) {
      for (const line of value.split(/\r?\n/)) {
        const trimmed = line.trim();
        if (trimmed.length >= MIN_LINE_LENGTH) for (const form of formsOf(trimmed)) this.forms.add(form);
      }
    }
    if (this.forms.size !== before) this.pattern = undefined;
    return value;
  }

  get size(): number {
    return this.forms.size;
  }

  redact(text: string): string {
    if (this.forms.size === 0 || !text) return text;
    this.pattern ??= new RegExp(
      [...this.forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'),
      'g',
    );
    return text.replace(this.pattern, REDACTED);
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
