import type { SecretValue } from './secret-value.js';

/** A group's membership sentinel: in place, missing (or unreadable), or not permitting the group. */
export type SentinelState = 'ok' | 'missing' | 'group-not-permitted';

/** The slice of Conjur the release core uses; `ConjurClient` implements it against the REST API. */
export interface Conjur {
  /** The authenticated identity of the bot itself (`GET /whoami`). */
  whoami(): Promise<{ account: string; username: string }>;
  /**
   * Whether `login` (a user login such as `alice`, or `host/...`) is a member of `group`,
   * directly or through nested groups. Any doubt throws: the caller fails closed.
   */
  isMember(login: string, group: string): Promise<boolean>;
  /**
   * All values in one batch call; keys are the unqualified variable ids as given. A value is a string
   * when it is UTF-8 text without a NUL, else a Buffer with its exact bytes (see secret-value.ts).
   */
  getSecrets(variableIds: readonly string[]): Promise<Map<string, SecretValue>>;
  /**
   * Whether the membership sentinel of `group` is in place (`/readyz`, `doctor`): `ok`, `missing`
   * (not declared or not readable by the bot), `group-not-permitted` (the group lacks `release` on it).
   */
  membershipSentinel?(group: string): Promise<SentinelState>;
  /** Whether the bot may `execute` (read) a variable, for `doctor`. */
  canRead(variableId: string): Promise<boolean>;
}
