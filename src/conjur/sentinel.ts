/**
 * The privilege a release group holds on its membership sentinel, a `!webservice` with the group's
 * id declared next to it (deploy/conjur/policy.yml). Conjur allows any privilege name on a permit.
 */
export const MEMBERSHIP_PRIVILEGE = 'release';

/** The policy a group's sentinel needs, in the operator's words. */
export function sentinelFix(group: string, botLogin: string): string {
  return `Declare !webservice ${group} in the policy that declares the group (so it has the same owner), permit the group ${MEMBERSHIP_PRIVILEGE} and ${botLogin} read on it (deploy/conjur/policy.yml)`;
}
