import { ErrorCode, ReleaseBotError } from '../errors.js';
import { clip } from '../validate.js';
import type { TarEntry } from './tar-reader.js';

// The fields of a tar header block (POSIX ustar, pax records, GNU long names), each read strictly.

/** Tar's block size: headers are one block, entry data is padded to whole blocks. */
export const BLOCK = 512;

/** Thrown for every archive the reader refuses; the caller adds which file it was. */
export function tarRefused(reason: string): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.BadInput, reason, { details: { reason: 'bad-artifact' } });
}

export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

export function entryType(type: string): TarEntry['type'] | undefined {
  if (type === '0' || type === '\0' || type === '7') return 'file';
  if (type === '5') return 'directory';
  return undefined;
}

export function describeType(type: string): string {
  const names: Record<string, string> = {
    '1': 'hard link',
    '2': 'symbolic link',
    '3': 'character device',
    '4': 'block device',
    '6': 'FIFO',
  };
  return names[type] ?? `entry of type ${JSON.stringify(type)}`;
}

/** The header's checksum: the sum of its bytes with the checksum field read as spaces (signed sums too, as old tars wrote). */
export function verifyChecksum(header: Buffer): void {
  const field = cString(header.subarray(148, 156)).trim();
  if (!/^[0-7]{1,7}$/.test(field)) throw tarRefused('a tar header without a valid checksum (not a tar archive, or damaged)');
  const stored = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i += 1) {
    const b = i >= 148 && i < 156 ? 0x20 : (header[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) throw tarRefused('a tar header whose checksum does not match (damaged or forged)');
}

export function parseSize(header: Buffer): number {
  if (((header[124] as number) & 0x80) !== 0) throw tarRefused('an entry with a base-256 size (larger than 8 GiB)');
  const field = cString(header.subarray(124, 136)).trim();
  if (field === '') return 0;
  if (!/^[0-7]+$/.test(field)) throw tarRefused(`an entry size that is not octal (${JSON.stringify(clip(field, 20))})`);
  return parseInt(field, 8);
}

/** The name, with the ustar prefix as POSIX (and node-tar) read it: only under the `ustar\0` `00` magic. */
export function headerName(header: Buffer, extensions: boolean): string {
  const name = cString(header.subarray(0, 100));
  const prefixField = header.subarray(345, 500);
  const posix = header.subarray(257, 265).toString('latin1') === 'ustar\u000000';
  if (!extensions) {
    // RubyGems joins the prefix whatever the magic says, node-tar only under the POSIX magic: without one, both read the same name.
    if (prefixField.some((b) => b !== 0)) throw tarRefused(`${JSON.stringify(clip(name, 120))} has a ustar prefix where none is expected`);
    return name;
  }
  const prefix = posix ? cString(prefixField) : '';
  return prefix ? `${prefix}/${name}` : name;
}

export function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8');
}

/** `<length> <key>=<value>\n` records; the keys that decide what an entry is: path, size, linkpath. */
export function parsePax(data: Buffer): { path?: string; size?: number; linkpath?: string } {
  const out: { path?: string; size?: number; linkpath?: string } = {};
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, at);
    const lengthText = space === -1 ? '' : data.subarray(at, space).toString('latin1');
    const length = /^[1-9][0-9]{0,8}$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!Number.isSafeInteger(length) || at + length > data.length || data[at + length - 1] !== 0x0a)
      throw tarRefused('a malformed pax header record');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw tarRefused('a malformed pax header record');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') {
      if (!/^[0-9]{1,15}$/.test(value)) throw tarRefused(`a pax size that is not a number (${JSON.stringify(clip(value, 20))})`);
      out.size = Number(value);
    }
    at += length;
  }
  return out;
}

/** The normalized path of an entry; refuses names that are empty, absolute, climb out or could read differently elsewhere. */
export function normalize(raw: string, shown: string): string {
  if (raw === '') throw tarRefused('an entry without a name');
  if (raw.includes('\0') || raw.includes('\\')) throw tarRefused(`${shown} contains a NUL or a backslash`);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) throw tarRefused(`${shown} is an absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw tarRefused(`${shown} climbs out of the archive with ".."`);
  if (parts.length === 0) throw tarRefused(`${shown} names no entry`);
  return parts.join('/');
}
