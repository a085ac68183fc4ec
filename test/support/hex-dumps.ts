/**
 * The default layouts of the hex dump tools, byte for byte as they print them (redact.test.ts checks
 * each against the real binary where it is installed), so the property test can dump thousands of
 * streams without starting thousands of processes.
 */

const ascii = (b: Buffer) => [...b].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');

function lines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 16) out.push(bytes.subarray(i, i + 16));
  return out;
}

/** `hexdump` and `od` print one `*` in place of lines that repeat the line before them. */
function squeezed(bytes: Buffer, line: (chunk: Buffer, offset: number) => string, end: (length: number) => string): string {
  let out = '';
  let previous: Buffer | undefined;
  let starred = false;
  lines(bytes).forEach((chunk, i) => {
    if (previous && chunk.length === 16 && chunk.equals(previous)) {
      if (!starred) out += '*\n';
      starred = true;
      return;
    }
    starred = false;
    previous = chunk;
    out += `${line(chunk, i * 16)}\n`;
  });
  return `${out}${end(bytes.length)}\n`;
}

const pairs = (b: Buffer) => [...b].map((c) => c.toString(16).padStart(2, '0'));

/** `xxd`: `00000000: 6162 6364 ...  abcd...`. */
export function xxd(bytes: Buffer): string {
  return lines(bytes)
    .map((chunk, i) => {
      const groups = pairs(chunk)
        .join('')
        .replace(/.{4}(?!$)/g, '$& ');
      return `${(i * 16).toString(16).padStart(8, '0')}: ${groups.padEnd(39)}  ${ascii(chunk)}\n`;
    })
    .join('');
}

/** `hexdump -C`: `00000000  61 62 ... 68  69 ... |abc...|`. */
export function hexdumpCanonical(bytes: Buffer): string {
  return squeezed(
    bytes,
    (chunk, offset) => {
      const hex = pairs(chunk)
        .map((p, i) => (i === 7 ? `${p}  ` : `${p} `))
        .join('');
      return `${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(49)} |${ascii(chunk)}|`;
    },
    (length) => length.toString(16).padStart(8, '0'),
  );
}

/** `hexdump` without options: little-endian 16-bit words. */
export function hexdumpWords(bytes: Buffer): string {
  return squeezed(
    bytes,
    (chunk, offset) => {
      const padded = chunk.length % 2 ? Buffer.concat([chunk, Buffer.alloc(1)]) : chunk;
      const words = pairs(padded)
        .join('')
        .replace(/(..)(..)/g, ' $2$1');
      return `${offset.toString(16).padStart(7, '0')}${words.padEnd(40)}`;
    },
    (length) => length.toString(16).padStart(7, '0'),
  );
}

/** `od -tx1`: octal offsets. */
export function odBytes(bytes: Buffer): string {
  return squeezed(
    bytes,
    (chunk, offset) =>
      `${offset.toString(8).padStart(7, '0')}${pairs(chunk)
        .map((p) => ` ${p}`)
        .join('')}`,
    (length) => length.toString(8).padStart(7, '0'),
  );
}

/** `od -A x -t x1z`: hex offsets and the characters between `>` and `<`. */
export function odBytesWithText(bytes: Buffer): string {
  return squeezed(
    bytes,
    (chunk, offset) =>
      `${offset.toString(16).padStart(6, '0')}${pairs(chunk)
        .map((p) => ` ${p}`)
        .join('')
        .padEnd(48)}  >${ascii(chunk)}<`,
    (length) => length.toString(16).padStart(6, '0'),
  );
}

/** Each layout with the command line that prints it. */
export const DUMPS: ReadonlyArray<{ command: string[]; dump: (bytes: Buffer) => string }> = [
  { command: ['xxd'], dump: xxd },
  { command: ['hexdump', '-C'], dump: hexdumpCanonical },
  { command: ['hexdump'], dump: hexdumpWords },
  { command: ['od', '-tx1'], dump: odBytes },
  { command: ['od', '-A', 'x', '-t', 'x1z'], dump: odBytesWithText },
];
