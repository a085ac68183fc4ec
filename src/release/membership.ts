import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../errors.js';
import type { ReleaseCore } from './core.js';
import type { Requester } from './types.js';

/**
 * The fail-closed membership check of every gate (lock, unlock, approve, yank): Conjur's 404 (a role it
 * does not know) is a member of nothing, an invalid login cannot be identified, a membership Conjur's
 * policy does not let the bot see (MEMBERSHIP_UNDETERMINED) refuses in its own words, and any other
 * doubt (Conjur down, a 5xx, a timeout) refuses, never passes.
 */
export async function assertMember(core: Pick<ReleaseCore, 'isMember'>, who: Requester, group: string, refusal: string): Promise<void> {
  const member = await core.isMember(who.login, group).catch((err: unknown) => {
    const coded = toReleaseBotError(err);
    if (coded.code === ErrorCode.ConjurNotFound) return false;
    if (coded.code === ErrorCode.BadInput) throw new ReleaseBotError(ErrorCode.IdentityUnresolved, coded.message);
    if (coded.code === ErrorCode.MembershipUndetermined) throw coded;
    throw new ReleaseBotError(
      ErrorCode.ConjurUnavailable,
      `cannot check authorization in Conjur (${coded.code}): refused until Conjur answers`,
      { cause: coded },
    );
  });
  if (!member) throw new ReleaseBotError(ErrorCode.NotAuthorized, refusal, { details: { group } });
}
