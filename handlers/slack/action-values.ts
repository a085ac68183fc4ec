import { PROJECT_NAME, VERSION } from '../../src/validate.js';

/** action_id of the Release button on a readiness note. */
export const RELEASE_ACTION = 'release_staged';
/** action_id of the Approve button on an approval request. */
export const APPROVE_ACTION = 'approve_release';

export interface ReleaseButtonValue {
  project: string;
  version: string;
  /** The staged build the note was about: a click after a re-stage is refused, not applied to the new build. */
  stagedBuildId: number;
}

export function encodeReleaseValue(v: ReleaseButtonValue): string {
  return JSON.stringify({ p: v.project, v: v.version, s: v.stagedBuildId });
}

/** Parses a Release button's value; anything not exactly of our shape is refused (undefined). */
export function parseReleaseValue(raw: unknown): ReleaseButtonValue | undefined {
  if (typeof raw !== 'string' || raw.length > 300) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { p, v, s } = value as Record<string, unknown>;
  if (typeof p !== 'string' || !PROJECT_NAME.test(p) || p.includes('..')) return undefined;
  if (typeof v !== 'string' || !VERSION.test(v) || v.includes('..')) return undefined;
  if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 1) return undefined;
  return { project: p, version: v, stagedBuildId: s };
}
