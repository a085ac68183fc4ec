/**
 * Hand-made tar archives for hostile-input tests: every header field can be set (or broken) on purpose.
 * The layout is POSIX ustar (pax and GNU long names as their writers emit them).
 */
export interface RawEntry {
  name: string;
  data?: string | Buffer;
  /** Type flag: '0' file (default), '5' directory, '1' hard link, '2' symlink, 'x' pax, 'L' GNU long name... */
  type?: string;
  prefix?: string;
  linkname?: string;
  /** Size field as written (default: the data's length, octal). */
  sizeField?: string;
  /** 'posix' (ustar\0 00, default), 'gnu' (ustar  \0) or 'none'. */
  magic?: 'posix' | 'gnu' | 'none';
  /** Add this to the correct checksum (0: correct). */
  checksumDelta?: number;
}

export function tarHeader(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (text: string, at: number, len: number) => Buffer.from(text, 'utf8').copy(h, at, 0, len);
  put(e.name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(e.sizeField ?? `${size.toString(8).padStart(11, '0')}\0`, 124, 12);
  put('14547101401\0', 136, 12);
  put(e.type ?? '0', 156, 1);
  if (e.linkname) put(e.linkname, 157, 100);
  const magic = e.magic ?? 'posix';
  if (magic === 'posix') put('ustar\u000000', 257, 8);
  if (magic === 'gnu') put('ustar  \0', 257, 8);
  if (e.prefix) put(e.prefix, 345, 155);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${(sum + (e.checksumDelta ?? 0)).toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

function pad(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)]);
}

/** One entry: its header and its data padded to whole blocks. */
export function tarEntry(e: RawEntry): Buffer {
  const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
  return Buffer.concat([tarHeader(e, data.length), pad(data)]);
}

/** A pax extended header carrying `records` (path, size, linkpath...), for the entry after it. */
export function paxHeader(records: Record<string, string>, type = 'x'): Buffer {
  const body = Object.entries(records)
    .map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = rest.length + 1;
      while (`${len}${rest}`.length !== len) len += 1;
      return `${len}${rest}`;
    })
    .join('');
  return tarEntry({ name: 'PaxHeader/x', type, data: body });
}

/** Entries followed by the two zero blocks that end an archive. */
export function tarArchive(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

/** A stream of the archive in chunks of `size` bytes (headers split across chunks on purpose). */
export async function* chunks(buf: Buffer, size = 97): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}
