import type { ErrorCode } from '../errors.js';
import { ReleaseBotError } from '../errors.js';

/**
 * Bounds on what one report can make the bot do (`staging:` in the projects file). A report is
 * hostile input: without them one report of thousands of long-named files wrote megabytes into the
 * permanent audit chain and stalled the event loop past Slack's acknowledgement limit.
 */
export interface StagingLimits {
  /** Files (and directories) per version. */
  maxFiles: number;
  /** Path components per file. */
  maxDepth: number;
  /** Bytes of a relative path (UTF-8). */
  maxPathBytes: number;
  /** Bytes of all files of a version together; 0 = no limit. */
  maxTotalBytes: number;
  /** Free bytes a copy must leave on the data directory's filesystem; 0 = no check. */
  minFreeBytes: number;
}

export const DEFAULT_STAGING_LIMITS: StagingLimits = {
  maxFiles: 1000,
  maxDepth: 16,
  maxPathBytes: 255,
  maxTotalBytes: 0,
  minFreeBytes: 1 << 30,
};

/** A refusal names at most this many problems, then counts the rest. */
export const MAX_LISTED_PROBLEMS = 20;

// ignoreBOM: keep a leading U+FEFF in the decoded name so the check below sees it (the default strips it).
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Zero-width, bidi marks, embeddings, overrides and isolates, line/paragraph separators, BOM: they
 * make a name read differently from what it is in Slack and the audit (`gem\u202Eexe.` shows as a
 * `.exe` turned around), so a person approving a release cannot trust what they see.
 */
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'g');
const codePoint = (c: string) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why a file name from the staging tree is refused, or undefined when it is fine: not valid UTF-8
 * (read as bytes, since readdir's strings replace invalid bytes), a control character (terminal and
 * chat injection), an invisible or text-direction character (a disguised name), a leading `-` (read as an option by the tools publishers run), or a `\`.
 */
export function nameProblem(raw: Buffer): string | undefined {
  let name: string;
  try {
    name = UTF8.decode(raw);
  } catch {
    return `a name that is not valid UTF-8 (${raw.toString('hex').slice(0, 64)} in hex)`;
  }
  if (CONTROL.test(name)) return `${JSON.stringify(name.slice(0, 80))}: control characters in a name`;
  const invisible = INVISIBLE.exec(name);
  if (invisible) {
    // Shown escaped: the refusal itself is read in Slack.
    const shown = name.slice(0, 80).replace(INVISIBLE_ALL, (c) => `<${codePoint(c)}>`);
    return `${JSON.stringify(shown)}: invisible or text-direction character ${codePoint(invisible[0])} in a name`;
  }
  if (name.startsWith('-')) return `${JSON.stringify(name.slice(0, 80))}: a name starting with "-"`;
  if (name.includes('\\')) return `${JSON.stringify(name.slice(0, 80))}: a backslash in a name`;
  return undefined;
}

/** The same checks for a relative path as the build reported it (a string from JSON), plus depth and length. */
export function reportedPathProblem(rel: string, limits: StagingLimits): string | undefined {
  const bytes = Buffer.from(rel, 'utf8');
  if (bytes.length > limits.maxPathBytes)
    return `${JSON.stringify(rel.slice(0, 80))}…: ${bytes.length} bytes, more than staging.max_path_bytes (${limits.maxPathBytes})`;
  const segments = rel.split('/');
  if (segments.length > limits.maxDepth)
    return `${JSON.stringify(rel.slice(0, 80))}: ${segments.length} levels deep, more than staging.max_depth (${limits.maxDepth})`;
  for (const s of segments) {
    const why = nameProblem(Buffer.from(s, 'utf8'));
    if (why) return why;
  }
  return undefined;
}

/** Problems collected while checking a report: the first MAX_LISTED_PROBLEMS kept, the rest counted. */
export class Problems {
  readonly listed: string[] = [];
  count = 0;

  add(problem: string): void {
    this.count++;
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push(problem.length > 400 ? `${problem.slice(0, 400)}…` : problem);
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** A refusal whose message and details stay small whatever the report held. */
  error(code: ErrorCode, lead: string, details: Record<string, unknown> = {}): ReleaseBotError {
    const more = this.count - this.listed.length;
    const text = `${lead}: ${this.listed.join('; ')}${more > 0 ? `; and ${more} more problem(s) (${this.count} in all)` : ''}`;
    return new ReleaseBotError(code, text, { details: { ...details, problems: this.listed, problemCount: this.count } });
  }
}

/** The limits from the projects file's `staging:` block (defaults when it is absent). */
export function stagingLimits(
  staging: { max_files: number; max_depth: number; max_path_bytes: number; max_total_bytes: number; min_free_bytes: number } | undefined,
): StagingLimits {
  if (!staging) return DEFAULT_STAGING_LIMITS;
  return {
    maxFiles: staging.max_files,
    maxDepth: staging.max_depth,
    maxPathBytes: staging.max_path_bytes,
    maxTotalBytes: staging.max_total_bytes,
    minFreeBytes: staging.min_free_bytes,
  };
}
