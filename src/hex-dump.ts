/**
 * Secrets inside hex dumps with an offset column: `xxd`, `hexdump -C`, `hexdump`, `od -tx1`,
 * `od -A x -t x1z`. The offsets break the hex at every line and the ASCII column shows the plain
 * text 16 characters at a time, so neither the plain forms nor the whitespace-broken ones see the
 * secret. A block of consecutive dump lines is decoded back to the bytes it shows and searched as
 * one stream; when a secret is in it, the whole block goes, its ASCII column with it.
 */

/** Cheap test run first: most text holds no line starting with an offset followed by hex. */
const DUMP_HINT = /^[ \t]*[0-9A-Fa-f]{6,16}:?[ \t]+[0-9A-Fa-f]{2}/m;
/** An offset (hex, or octal for `od`), `xxd`'s colon, then the hex groups and the ASCII column. */
const DUMP_LINE = /^[ \t]*[0-9A-Fa-f]{6,16}:?((?:[ \t]+\S+)*)[ \t]*$/;
/** The end of a dump (the total length alone) or a run of repeated lines that `hexdump`/`od` squeezed. */
const DUMP_FILLER = /^[ \t]*(?:[0-9A-Fa-f]{6,16}|\*)[ \t]*$/;
const HEX_GROUP = /^(?:[0-9A-Fa-f]{2}){1,8}$/;

interface DumpLine {
  /** The groups as printed, and with the bytes of each group reversed (`hexdump` and `od -x` print little-endian words). */
  hex: string;
  swapped: string;
  ascii: string;
}

/** The hex groups and ASCII column of one dump line, or undefined when the line is not one. */
function parseLine(line: string): DumpLine | undefined {
  const m = DUMP_LINE.exec(line);
  if (!m) return undefined;
  let hex = '';
  let swapped = '';
  let width = 0;
  let count = 0;
  let ascii = '';
  const tokens = /([ \t]+)(\S+)/g;
  for (let t = tokens.exec(m[1] as string); t; t = tokens.exec(m[1] as string)) {
    const [, gap, token] = t as unknown as [string, string, string];
    // Two spaces end the hex area (before the ASCII column), except after the offset and `hexdump -C`'s after its 8th byte.
    const column = count > 0 && gap.length >= 2 && !(gap === '  ' && width === 2 && count === 8);
    if (column || !HEX_GROUP.test(token) || (width > 0 && token.length > width)) {
      ascii = (m[1] as string)
        .slice(t.index + gap.length)
        .replace(/^[|>]/, '')
        .replace(/[|<]$/, '');
      break;
    }
    width ||= token.length;
    count++;
    hex += token;
    swapped +=
      token.length === 2
        ? token
        : token
            .replace(/../g, (b) => `${b} `)
            .trim()
            .split(' ')
            .reverse()
            .join('');
    // A shorter group is the last one: `xxd` ends an odd byte count with one.
    if (token.length < width) {
      ascii = (m[1] as string)
        .slice(t.index + t[0].length)
        .trim()
        .replace(/^[|>]/, '')
        .replace(/[|<]$/, '');
      break;
    }
  }
  return count > 0 ? { hex: hex.toLowerCase(), swapped: swapped.toLowerCase(), ascii } : undefined;
}

/**
 * Replaces each block of dump lines that shows a registered form (its bytes as lower-case hex, or
 * its text in the ASCII column) with `marker`. Linear in the text: each line is parsed once and
 * each block's streams are searched once.
 */
export function redactHexDumps(text: string, pattern: RegExp, marker: string): string {
  if (!DUMP_HINT.test(text)) return text;
  const lines = text.split('\n');
  const out: string[] = [];
  let block: string[] = [];
  let parsed: DumpLine[] = [];
  const flush = () => {
    const hex = parsed.map((p) => p.hex).join('');
    const swapped = parsed.map((p) => p.swapped).join('');
    // `hexdump -C` and `od -tx1` print single bytes: nothing to swap, nothing to search twice.
    const streams = swapped === hex ? [hex, parsed.map((p) => p.ascii).join('')] : [hex, swapped, parsed.map((p) => p.ascii).join('')];
    const shows =
      parsed.length > 0 &&
      streams.some((s) => {
        pattern.lastIndex = 0;
        return pattern.test(s);
      });
    if (shows) out.push(marker + (block[block.length - 1]?.endsWith('\r') ? '\r' : ''));
    else out.push(...block);
    block = [];
    parsed = [];
  };
  for (const line of lines) {
    const bare = line.endsWith('\r') ? line.slice(0, -1) : line;
    const dump = parseLine(bare);
    if (dump) {
      block.push(line);
      parsed.push(dump);
    } else if (parsed.length > 0 && DUMP_FILLER.test(bare)) {
      block.push(line);
    } else {
      flush();
      out.push(line);
    }
  }
  flush();
  pattern.lastIndex = 0;
  return out.join('\n');
}
