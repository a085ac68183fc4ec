import type { Config } from '../../src/config/load.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { clip } from '../../src/validate.js';

/** The part of a Slack `users.info` answer identity needs. */
export interface SlackUserProfile {
  id: string;
  teamId?: string | undefined;
  email?: string | undefined;
  deleted?: boolean | undefined;
  isBot?: boolean | undefined;
  /** Guests (single- and multi-channel). */
  isRestricted?: boolean | undefined;
}

export type LookupUser = (userId: string) => Promise<SlackUserProfile>;

const USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const LOCALPART = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Turns a Slack user into a Conjur login by the projects file's `identity` section: `map` (user id to
 * login) or `email-localpart` (`alice@example.com` becomes `alice`, via `users.info`). Anything the
 * strategy cannot resolve is refused: the login decides what Conjur lets the person do, so a guess
 * would hand someone else's rights to the wrong person.
 */
export async function resolveLogin(userId: string, identity: Config['identity'], lookup: LookupUser, teamId?: string): Promise<string> {
  if (!USER_ID.test(userId)) throw unresolved(`${JSON.stringify(clip(userId, 30))} is not a Slack user id`);
  if (identity.strategy === 'map') {
    const login = Object.hasOwn(identity.map, userId) ? identity.map[userId] : undefined;
    if (!login) throw unresolved(`your Slack user ${userId} is not in the identity map of the projects file: ask the release-bot admins to add \`${userId}: <your Conjur login>\``);
    return login;
  }
  let user: SlackUserProfile;
  try {
    user = await lookup(userId);
  } catch (err) {
    // Fail closed: no profile, no identity.
    throw unresolved(`could not read your Slack profile (users.info: ${clip((err as Error).message, 120)}): try again in a minute`, err);
  }
  if (user.deleted || user.isBot) throw unresolved(`Slack user ${userId} is ${user.deleted ? 'deactivated' : 'a bot'}`);
  // Guests and people from other workspaces (Slack Connect) may carry any address: never map them.
  if (user.isRestricted) throw unresolved(`guest accounts cannot release: ask a full member of the workspace`);
  if (teamId && user.teamId && user.teamId !== teamId) throw unresolved(`Slack user ${userId} belongs to another workspace (${clip(user.teamId, 20)})`);
  const email = user.email?.trim().toLowerCase();
  if (!email) throw unresolved(`your Slack profile shows no email address (the app needs the users:read.email scope, and your profile an email)`);
  const at = email.lastIndexOf('@');
  const local = at > 0 ? email.slice(0, at) : '';
  if (!LOCALPART.test(local)) throw unresolved(`the email address of Slack user ${userId} does not give a Conjur login (letters, digits, ".", "_", "-" before the @)`);
  return local;
}

function unresolved(message: string, cause?: unknown): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.IdentityUnresolved, message, cause === undefined ? {} : { cause });
}
