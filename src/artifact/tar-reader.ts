import { ErrorCode, ReleaseBotError } from '../errors.js';
import { clip } from '../validate.js';

/**
 * A small, bounded tar reader for artifacts the build side made (npm tarballs, .gem packages). It reads
 * what the tools that consume the archive would read, and refuses whatever two readers could read
 * differently: duplicate or escaping paths, links, devices, bad header checksums, anything after the
 * end of the archive. Nothing is written to disk; only the entries the caller asks for are kept in memory.
 */

export interface TarEntry {
  /** Normalized: `/`-separated, no `.` or empty steps, no trailing `/`. */
  path: string;
  type: 'file' | 'directory';
  size: number;
}

export interface TarLimits {
  /** Entries in the archive. */
  maxEntries: number;
  /** Bytes read from the (uncompressed) archive, headers and padding included: a gzip bomb ends here. */
  maxBytes: number;
  /** Size of one entry the caller keeps in memory. */
  maxCaptureBytes: number;
  /** Size of one pax header or GNU long name. */
  maxHeaderBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = { maxEntries: 100_000, maxBytes: 1 << 30, maxCaptureBytes: 1 << 20, maxHeaderBytes: 64 << 10 };

export interface ReadTarOptions {
  /** Entries (by normalized path) whose content the caller wants; each must be a regular file within maxCaptureBytes. */
  capture?: (path: string) => boolean;
  /**
   * false: only plain ustar headers, no pax headers, GNU long names or ustar prefix. For formats whose
   * own reader ignores those extensions (RubyGems), so that no name can mean one thing here and another there.
   */
  extensions?: boolean;
  limits?: Partial<TarLimits>;
}

export interface TarContents {
  entries: TarEntry[];
  /** Captured entries' bytes, by normalized path. */
  files: Map<string, Buffer>;
}

const BLOCK = 512;

/** Thrown for every archive the reader refuses; the caller adds which file it was. */
export function tarRefused(reason: string): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.BadInput, reason, { details: { reason: 'bad-artifact' } });
}

/** Reads a whole tar stream (already decompressed) and returns its entries and the captured contents. */
export async function readTar(source: AsyncIterable<Buffer | Uint8Array>, options: ReadTarOptions = {}): Promise<TarContents> {
  const limits = { ...DEFAULT_TAR_LIMITS, ...options.limits };
  const extensions = options.extensions ?? true;
  const input = new ByteReader(source[Symbol.asyncIterator](), limits.maxBytes);
  const entries: TarEntry[] = [];
  const files = new Map<string, Buffer>();
  const seen = new Set<string>();
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  let longName: string | undefined;

  for (;;) {
    const header = await input.read(BLOCK);
    if (header === undefined) throw tarRefused('the archive ends without its end-of-archive marker (truncated?)');
    if (header.every((b) => b === 0)) {
      if (paxPath !== undefined || paxSize !== undefined || longName !== undefined)
        throw tarRefused('the archive ends right after an extended header');
      // Whatever follows the end marker must be padding: another reader might go on and find more entries.
      await input.expectZerosToEnd();
      return { entries, files };
    }
    verifyChecksum(header);
    const type = String.fromCharCode(header[156] ?? 0);
    const headerSize = parseSize(header);
    const size = paxSize ?? headerSize;
    const isPax = type === 'x' || type === 'g';
    const isLongName = type === 'L' || type === 'K';
    if ((isPax || isLongName) && !extensions)
      throw tarRefused(`an extended header (type ${JSON.stringify(type)}) where only plain ustar headers are expected`);
    if (isPax || isLongName) {
      if (paxSize !== undefined) throw tarRefused('an extended header follows another one and would change its size');
      if (headerSize > limits.maxHeaderBytes)
        throw tarRefused(`an extended header of ${headerSize} bytes (at most ${limits.maxHeaderBytes})`);
      const data = await input.readPadded(headerSize);
      if (type === 'g') throw tarRefused('a global pax header (it would rename every entry after it)');
      if (type === 'K') throw tarRefused('a GNU long link name: links are not allowed');
      if (type === 'L') {
        if (longName !== undefined || paxPath !== undefined) throw tarRefused('two long names for one entry');
        longName = cString(data);
        continue;
      }
      const records = parsePax(data);
      if (records.path !== undefined) {
        if (paxPath !== undefined || longName !== undefined) throw tarRefused('two long names for one entry');
        paxPath = records.path;
      }
      if (records.size !== undefined) paxSize = records.size;
      if (records.linkpath !== undefined) throw tarRefused('a pax linkpath: links are not allowed');
      continue;
    }

    const rawName = paxPath ?? longName ?? headerName(header, extensions);
    paxPath = undefined;
    paxSize = undefined;
    longName = undefined;
    const shown = JSON.stringify(clip(rawName, 120));
    const kind = entryType(type);
    if (kind === undefined) throw tarRefused(`${shown} is a ${describeType(type)}: only regular files and directories are allowed`);
    const path = normalize(rawName, shown);
    if (kind === 'file' && rawName.endsWith('/')) throw tarRefused(`${shown} is a regular file whose name ends with "/"`);
    if (seen.has(path))
      throw tarRefused(
        `${shown} appears twice in the archive (as ${JSON.stringify(clip(path, 120))}): another reader could take the other one`,
      );
    seen.add(path);
    if (entries.length >= limits.maxEntries) throw tarRefused(`more than ${limits.maxEntries} entries`);
    const dataSize = kind === 'directory' ? 0 : size;
    if (kind === 'directory' && size !== 0) throw tarRefused(`the directory ${shown} has a size`);
    entries.push({ path, type: kind, size: dataSize });
    if (kind === 'file' && options.capture?.(path)) {
      if (dataSize > limits.maxCaptureBytes)
        throw tarRefused(`${shown} is ${dataSize} bytes, more than the ${limits.maxCaptureBytes} read from it`);
      files.set(path, await input.readPadded(dataSize));
    } else {
      await input.skip(padded(dataSize));
    }
  }
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function entryType(type: string): TarEntry['type'] | undefined {
  if (type === '0' || type === '\0' || type === '7') return 'file';
  if (type === '5') return 'directory';
  return undefined;
}

function describeType(type: string): string {
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
function verifyChecksum(header: Buffer): void {
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

function parseSize(header: Buffer): number {
  if (((header[124] as number) & 0x80) !== 0) throw tarRefused('an entry with a base-256 size (larger than 8 GiB)');
  const field = cString(header.subarray(124, 136)).trim();
  if (field === '') return 0;
  if (!/^[0-7]+$/.test(field)) throw tarRefused(`an entry size that is not octal (${JSON.stringify(clip(field, 20))})`);
  return parseInt(field, 8);
}

/** The name, with the ustar prefix as POSIX (and node-tar) read it: only under the `ustar\0` `00` magic. */
function headerName(header: Buffer, extensions: boolean): string {
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

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8');
}

/** `<length> <key>=<value>\n` records; the keys that decide what an entry is: path, size, linkpath. */
function parsePax(data: Buffer): { path?: string; size?: number; linkpath?: string } {
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
function normalize(raw: string, shown: string): string {
  if (raw === '') throw tarRefused('an entry without a name');
  if (raw.includes('\0') || raw.includes('\\')) throw tarRefused(`${shown} contains a NUL or a backslash`);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) throw tarRefused(`${shown} is an absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw tarRefused(`${shown} climbs out of the archive with ".."`);
  if (parts.length === 0) throw tarRefused(`${shown} names no entry`);
  return parts.join('/');
}

/** Exact reads over an async stream of chunks, counting every byte against a cap. */
class ByteReader {
  private chunk: Buffer = Buffer.alloc(0);
  private offset = 0;
  private total = 0;
  private done = false;

  constructor(
    private readonly source: AsyncIterator<Buffer | Uint8Array>,
    private readonly maxBytes: number,
  ) {}

  /** Exactly `n` bytes, or undefined at the end of the stream. */
  async read(n: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      if (!(await this.fill())) return undefined;
      const take = Math.min(need, this.chunk.length - this.offset);
      parts.push(this.chunk.subarray(this.offset, this.offset + take));
      this.offset += take;
      need -= take;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }

  /** `size` bytes of an entry plus its padding to the next block; a short stream is refused. */
  async readPadded(size: number): Promise<Buffer> {
    const data = await this.read(size);
    if (data === undefined) throw tarRefused('the archive ends inside an entry (truncated?)');
    await this.skip(padded(size) - size);
    return Buffer.from(data);
  }

  async skip(n: number): Promise<void> {
    let need = n;
    while (need > 0) {
      if (!(await this.fill())) throw tarRefused('the archive ends inside an entry (truncated?)');
      const take = Math.min(need, this.chunk.length - this.offset);
      this.offset += take;
      need -= take;
    }
  }

  async expectZerosToEnd(): Promise<void> {
    while (await this.fill()) {
      const rest = this.chunk.subarray(this.offset);
      if (rest.some((b) => b !== 0)) throw tarRefused('data after the end-of-archive marker');
      this.offset = this.chunk.length;
    }
  }

  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      if (this.done) return false;
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      this.chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.offset = 0;
      this.total += this.chunk.length;
      if (this.total > this.maxBytes) throw tarRefused(`the archive is larger than ${this.maxBytes} bytes unpacked`);
    }
    return true;
  }
}
