import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: one byte sequence per value, so hashes are stable. */
export function canonicalJson(value: unknown): string {
  return write(value) ?? JSON.stringify(sortKeys(value));
}

/**
 * What `JSON.stringify(sortKeys(value))` gives, written in one pass for the values entries hold (strings,
 * numbers, booleans, null, arrays, plain objects): every audit append canonicalizes its data three times
 * (the cap, the stored JSON, the hash), and building the sorted copies was most of it (BENCHMARKS.md,
 * webhook). Anything else (a Date, a Buffer, a toJSON, a function, a key starting with a digit) goes the
 * slow way: undefined here.
 */
function write(value: unknown): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return undefined;
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const json = item === undefined ? 'null' : write(item);
      if (json === undefined) return undefined;
      out += (i === 0 ? '' : ',') + json;
    }
    return out + ']';
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const obj = value as Record<string, unknown>;
  if ('toJSON' in obj) return undefined;
  let out = '{';
  let first = true;
  for (const key of Object.keys(obj).sort(byCodeUnit)) {
    // An index-like key ("9", "10") sorts numerically in the object sortKeys builds, before the others.
    if (key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57) return undefined;
    const v = obj[key];
    if (v === undefined) continue;
    const json = write(v);
    if (json === undefined) return undefined;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + json;
    first = false;
  }
  return out + '}';
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => byCodeUnit(a, b))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
