import { clip } from '../validate.js';
import { ByteReader } from './byte-reader.js';
import {
  BLOCK,
  cString,
  describeType,
  entryType,
  headerName,
  normalize,
  padded,
  parsePax,
  parseSize,
  tarRefused,
  verifyChecksum,
} from './tar-headers.js';

export { tarRefused } from './tar-headers.js';

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

/** What extended headers said of the entry that follows them. */
interface Pending {
  path?: string | undefined;
  size?: number | undefined;
  longName?: string | undefined;
}

interface ReadState {
  input: ByteReader;
  limits: TarLimits;
  extensions: boolean;
  capture: ((path: string) => boolean) | undefined;
  contents: TarContents;
  seen: Set<string>;
}

/** Reads a whole tar stream (already decompressed) and returns its entries and the captured contents. */
export async function readTar(source: AsyncIterable<Buffer | Uint8Array>, options: ReadTarOptions = {}): Promise<TarContents> {
  const limits = { ...DEFAULT_TAR_LIMITS, ...options.limits };
  const s: ReadState = {
    input: new ByteReader(source[Symbol.asyncIterator](), limits.maxBytes),
    limits,
    extensions: options.extensions ?? true,
    capture: options.capture,
    contents: { entries: [], files: new Map() },
    seen: new Set(),
  };
  let pending: Pending = {};
  for (;;) {
    const header = await s.input.read(BLOCK);
    if (header === undefined) throw tarRefused('the archive ends without its end-of-archive marker (truncated?)');
    if (header.every((b) => b === 0)) {
      if (pending.path !== undefined || pending.size !== undefined || pending.longName !== undefined)
        throw tarRefused('the archive ends right after an extended header');
      // Whatever follows the end marker must be padding: another reader might go on and find more entries.
      await s.input.expectZerosToEnd();
      return s.contents;
    }
    verifyChecksum(header);
    const type = String.fromCharCode(header[156] ?? 0);
    const headerSize = parseSize(header);
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      await readExtendedHeader(s, type, headerSize, pending);
      continue;
    }
    const rawName = pending.path ?? pending.longName ?? headerName(header, s.extensions);
    const size = pending.size ?? headerSize;
    pending = {};
    await readEntry(s, type, rawName, size);
  }
}

/** A pax header or a GNU long name: what it says of the next entry goes into `pending`. */
async function readExtendedHeader(s: ReadState, type: string, headerSize: number, pending: Pending): Promise<void> {
  if (!s.extensions) throw tarRefused(`an extended header (type ${JSON.stringify(type)}) where only plain ustar headers are expected`);
  if (pending.size !== undefined) throw tarRefused('an extended header follows another one and would change its size');
  if (headerSize > s.limits.maxHeaderBytes)
    throw tarRefused(`an extended header of ${headerSize} bytes (at most ${s.limits.maxHeaderBytes})`);
  const data = await s.input.readPadded(headerSize);
  if (type === 'g') throw tarRefused('a global pax header (it would rename every entry after it)');
  if (type === 'K') throw tarRefused('a GNU long link name: links are not allowed');
  if (type === 'L') {
    if (pending.longName !== undefined || pending.path !== undefined) throw tarRefused('two long names for one entry');
    pending.longName = cString(data);
    return;
  }
  const records = parsePax(data);
  if (records.path !== undefined) {
    if (pending.path !== undefined || pending.longName !== undefined) throw tarRefused('two long names for one entry');
    pending.path = records.path;
  }
  if (records.size !== undefined) pending.size = records.size;
  if (records.linkpath !== undefined) throw tarRefused('a pax linkpath: links are not allowed');
}

/** One entry: a regular file or a directory under a name no other reader could read differently; its data kept or skipped. */
async function readEntry(s: ReadState, type: string, rawName: string, size: number): Promise<void> {
  const shown = JSON.stringify(clip(rawName, 120));
  const kind = entryType(type);
  if (kind === undefined) throw tarRefused(`${shown} is a ${describeType(type)}: only regular files and directories are allowed`);
  const path = normalize(rawName, shown);
  if (kind === 'file' && rawName.endsWith('/')) throw tarRefused(`${shown} is a regular file whose name ends with "/"`);
  if (s.seen.has(path))
    throw tarRefused(
      `${shown} appears twice in the archive (as ${JSON.stringify(clip(path, 120))}): another reader could take the other one`,
    );
  s.seen.add(path);
  if (s.contents.entries.length >= s.limits.maxEntries) throw tarRefused(`more than ${s.limits.maxEntries} entries`);
  const dataSize = kind === 'directory' ? 0 : size;
  if (kind === 'directory' && size !== 0) throw tarRefused(`the directory ${shown} has a size`);
  s.contents.entries.push({ path, type: kind, size: dataSize });
  if (kind === 'file' && s.capture?.(path)) {
    if (dataSize > s.limits.maxCaptureBytes)
      throw tarRefused(`${shown} is ${dataSize} bytes, more than the ${s.limits.maxCaptureBytes} read from it`);
    s.contents.files.set(path, await s.input.readPadded(dataSize));
  } else {
    await s.input.skip(padded(dataSize));
  }
}
