import type { Logger } from 'pino';
import type { Config } from '../../src/config/load.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { clip } from '../../src/validate.js';

/** A Slack workspace and, on Enterprise Grid, its organisation. */
export interface SlackOrg {
  teamId?: string | undefined;
  enterpriseId?: string | undefined;
}

/**
 * Who Slack says sent a request, from the signed request itself: a slash command's `user_id`,
 * `team_id`, `enterprise_id`; an interaction's `user.id`, `team.id`, `team.enterprise_id` or
 * `enterprise.id`, and `user.team_id` (the clicker's own workspace).
 */
export interface SlackOrigin extends SlackOrg {
  userId: string;
  userTeamId?: string | undefined;
}

/** The part of a Slack `users.info` answer identity needs. */
export interface SlackUserProfile {
  id: string;
  teamId?: string | undefined;
  /** Enterprise Grid: `enterprise_user.enterprise_id` (or `enterprise_id`). */
  enterpriseId?: string | undefined;
  email?: string | undefined;
  deleted?: boolean | undefined;
  isBot?: boolean | undefined;
  /** Multi-channel guest. */
  isRestricted?: boolean | undefined;
  /** Single-channel guest. */
  isUltraRestricted?: boolean | undefined;
  /** Not of the token's workspace and in no channel shared with it. */
  isStranger?: boolean | undefined;
}

/** The Slack Web API calls identity makes: `users.info` and `auth.test`. Both throw on any error. */
export interface SlackDirectory {
  lookupUser(userId: string): Promise<SlackUserProfile>;
  /** The bot token's own workspace and organisation (`auth.test`). */
  whoAmI(): Promise<SlackOrg>;
}

export type IdentitySettings = Config['identity'];

export interface SlackIdentityOptions {
  /** The least time between two auth.test attempts while the home is unknown (default 5 s). */
  retryMs?: number;
  /** How long a users.info answer is used again for the same user (default PROFILE_TTL_MS). */
  profileTtlMs?: number;
  now?: () => number;
}

/**
 * How long a users.info answer stands for its user: a burst of commands asks Slack once, and a
 * change in Slack (deactivated, made a guest, another address) applies within this time. The checks
 * of each request (its workspace, the identity settings) and Conjur's membership run every time.
 */
export const PROFILE_TTL_MS = 30_000;
/** Profiles remembered at most (the oldest goes first): user ids come only from signed requests. */
const PROFILES_KEPT = 1_000;

const USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const TEAM_ID = /^T[A-Z0-9]{2,20}$/;
const ENTERPRISE_ID = /^E[A-Z0-9]{2,20}$/;
const LOCALPART = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Printable ASCII: an address with anything else (homoglyphs, U+212A that lower-cases to k) is refused before lower-casing. */
const ASCII_ADDRESS = /^[\x21-\x7e]+$/;

/**
 * Turns the sender of a Slack request into a Conjur login: the one resolution every Slack way in
 * (slash commands, Release and Approve buttons, locks, reads) goes through.
 *
 * Everyone is pinned to the home organisation: the workspace (and Enterprise Grid organisation) of
 * `identity.team_id` / `identity.enterprise_id`, else of the bot token (`auth.test`). The request and
 * the user must both be of it; strangers, deactivated users and bots are refused, guests unless
 * `allow_guests`. Then the strategy: `map` (user id to login) or `email-localpart`
 * (`alice@example.com` becomes `alice`, only in `email_domains`). Anything that cannot be resolved is
 * refused: the login decides what Conjur lets the person do, so a guess would hand someone else's
 * rights to the wrong person.
 */
export class SlackIdentity {
  private learnt: SlackOrg | undefined;
  private pending: Promise<SlackOrg> | undefined;
  private failure: { at: number; why: string } | undefined;
  private readonly retryMs: number;
  private readonly profileTtlMs: number;
  private readonly now: () => number;
  /** users.info answers by user id, with when they were asked for; only answers, never failures. */
  private readonly profiles = new Map<string, { askedAt: number; profile: SlackUserProfile }>();
  /** A users.info in flight, shared by the requests of its user that arrive meanwhile. */
  private readonly lookups = new Map<string, Promise<SlackUserProfile>>();

  constructor(
    private readonly settings: () => IdentitySettings,
    private readonly directory: SlackDirectory,
    private readonly log: Logger,
    options: SlackIdentityOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 5_000;
    this.profileTtlMs = options.profileTtlMs ?? PROFILE_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Learns the home organisation in the background (when not configured), so the first request need not wait. */
  start(): void {
    this.home().catch(() => undefined);
  }

  /** The home organisation. Unknown (auth.test failing, nothing configured): refused, fail closed. */
  async home(): Promise<SlackOrg> {
    const { team_id, enterprise_id } = this.settings();
    if (team_id) return { teamId: team_id, enterpriseId: enterprise_id };
    if (this.learnt) return this.learnt;
    if (this.pending) return this.pending;
    if (this.failure && this.now() - this.failure.at < this.retryMs) throw homeUnknown(this.failure.why);
    this.pending = this.learn().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async learn(): Promise<SlackOrg> {
    let org: SlackOrg;
    try {
      org = await this.directory.whoAmI();
      if (!org.teamId || !TEAM_ID.test(org.teamId))
        throw new Error(`auth.test named no workspace (team_id ${JSON.stringify(clip(org.teamId ?? '', 30))})`);
      if (org.enterpriseId !== undefined && !ENTERPRISE_ID.test(org.enterpriseId))
        throw new Error(`auth.test named an invalid organisation (${JSON.stringify(clip(org.enterpriseId, 30))})`);
    } catch (err) {
      const why = clip((err as Error).message, 160);
      this.failure = { at: this.now(), why };
      this.log.error(
        { err: why },
        'Slack auth.test failed: the home workspace is unknown, so every Slack request is refused until it answers (or set identity.team_id in the projects file)',
      );
      throw homeUnknown(why);
    }
    this.learnt = { teamId: org.teamId, ...(org.enterpriseId ? { enterpriseId: org.enterpriseId } : {}) };
    this.failure = undefined;
    this.log.info({ teamId: org.teamId, enterpriseId: org.enterpriseId }, 'Slack home workspace learnt from auth.test');
    return this.learnt;
  }

  /** The Conjur login of the request's sender; throws IDENTITY_UNRESOLVED saying why. */
  async resolve(origin: SlackOrigin): Promise<string> {
    const { userId } = origin;
    if (!USER_ID.test(userId)) throw unresolved(`${JSON.stringify(clip(userId, 30))} is not a Slack user id`);
    const settings = this.settings();
    const home = await this.home();
    // The workspace the request was made in, and an interaction's clicker's own (a Slack Connect user
    // clicks in a shared channel of ours). On Grid the clicker's organisation is not in the payload:
    // users.info below decides it.
    if (!inHome(home, { teamId: origin.teamId, enterpriseId: origin.enterpriseId })) {
      throw elsewhere(userId, `a request from ${clip(origin.teamId ?? origin.enterpriseId ?? 'no named workspace', 20)}`);
    }
    if (origin.userTeamId !== undefined && home.enterpriseId === undefined && origin.userTeamId !== home.teamId) {
      throw elsewhere(userId, `a user of workspace ${clip(origin.userTeamId, 20)}`);
    }
    let user: SlackUserProfile;
    try {
      user = await this.profile(userId);
    } catch (err) {
      // Fail closed: no profile, no identity.
      throw unresolved(`could not read your Slack profile (users.info: ${clip((err as Error).message, 120)}): try again in a minute`, err);
    }
    if (user.id !== userId) throw unresolved(`users.info answered for another user than ${userId}`);
    if (user.deleted || user.isBot) throw unresolved(`Slack user ${userId} is ${user.deleted ? 'deactivated' : 'a bot'}`);
    if (user.isStranger) throw elsewhere(userId, 'a user Slack calls a stranger to this workspace');
    if (!inHome(home, user)) throw elsewhere(userId, `a user of workspace ${clip(user.teamId ?? '?', 20)}`);
    // Guests may carry any address and are in the workspace for a limited purpose: never mapped unless allowed.
    if ((user.isRestricted || user.isUltraRestricted) && !settings.allow_guests) {
      throw unresolved('guest accounts cannot use release-bot (identity.allow_guests is off): ask a full member of the workspace');
    }
    return settings.strategy === 'map' ? fromMap(userId, settings) : fromEmail(userId, user.email, settings.email_domains);
  }

  /** users.info for `userId`: asked once per PROFILE_TTL_MS (timed from when it was asked), and once for concurrent requests. */
  private profile(userId: string): Promise<SlackUserProfile> {
    const known = this.profiles.get(userId);
    if (known && this.now() - known.askedAt < this.profileTtlMs) return Promise.resolve(known.profile);
    const asking = this.lookups.get(userId);
    if (asking) return asking;
    const askedAt = this.now();
    const lookup = this.directory.lookupUser(userId).then((profile) => {
      // Only an answer about this very user is kept; anything else is refused below and asked again next time.
      if (profile.id === userId) {
        this.profiles.delete(userId);
        this.profiles.set(userId, { askedAt, profile });
        if (this.profiles.size > PROFILES_KEPT) this.profiles.delete(this.profiles.keys().next().value as string);
      }
      return profile;
    });
    this.lookups.set(userId, lookup);
    const done = () => this.lookups.delete(userId);
    lookup.then(done, done);
    return lookup;
  }
}

/**
 * Whether a workspace (and organisation) is the home one. On Enterprise Grid another workspace of the
 * same organisation is home too; an organisation id that differs from home's never is.
 */
export function inHome(home: SlackOrg, org: SlackOrg): boolean {
  if (org.enterpriseId !== undefined && home.enterpriseId !== undefined && org.enterpriseId !== home.enterpriseId) return false;
  if (org.teamId !== undefined && org.teamId === home.teamId) return true;
  return home.enterpriseId !== undefined && org.enterpriseId === home.enterpriseId;
}

function fromMap(userId: string, settings: IdentitySettings): string {
  const login = Object.hasOwn(settings.map, userId) ? settings.map[userId] : undefined;
  if (!login)
    throw unresolved(
      `your Slack user ${userId} is not in the identity map of the projects file: ask the release-bot admins to add \`${userId}: <your Conjur login>\``,
    );
  return login;
}

/**
 * `alice@example.com` is `alice` only when `example.com` is one of the company's domains, compared
 * exactly (lower-cased): `example.com.evil.test`, `evil-example.com` and `sub.example.com` are other
 * domains; `alice+x@` and quoted local parts give no login.
 */
function fromEmail(userId: string, address: string | undefined, domains: readonly string[] | undefined): string {
  const raw = address?.trim() ?? '';
  if (!raw)
    throw unresolved(`your Slack profile shows no email address (the app needs the users:read.email scope, and your profile an email)`);
  // check-config refuses email-localpart without domains; should it get here anyway, nobody is mapped.
  if (!domains || domains.length === 0)
    throw unresolved('identity.email_domains is not configured: no email address can be mapped to a Conjur login');
  if (!ASCII_ADDRESS.test(raw))
    throw unresolved(`the email address of Slack user ${userId} has characters other than plain ASCII: it cannot give a Conjur login`);
  const email = raw.toLowerCase();
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@'))
    throw unresolved(
      `the email address of Slack user ${userId} does not give a Conjur login (one @, letters, digits, ".", "_", "-" before it)`,
    );
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (!domains.includes(domain))
    throw unresolved(
      `the email address of Slack user ${userId} is in ${JSON.stringify(clip(domain, 60))}, which is not one of the company's domains (identity.email_domains)`,
    );
  if (!LOCALPART.test(local))
    throw unresolved(
      `the email address of Slack user ${userId} does not give a Conjur login (letters, digits, ".", "_", "-" before the @)`,
    );
  return local;
}

function elsewhere(userId: string, what: string): ReleaseBotError {
  return unresolved(
    `Slack user ${userId} is not of this organisation (${what}): release-bot answers only people of its home workspace`,
    undefined,
    'foreign',
  );
}

function homeUnknown(why: string): ReleaseBotError {
  return unresolved(
    `release-bot does not know its home Slack workspace yet (auth.test failed: ${why}), so it cannot tell who you are: try again in a minute, and tell the release-bot admins if this persists`,
    undefined,
    'home-unknown',
  );
}

function unresolved(message: string, cause?: unknown, reason?: string): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.IdentityUnresolved, message, {
    ...(cause === undefined ? {} : { cause }),
    ...(reason ? { details: { reason } } : {}),
  });
}
