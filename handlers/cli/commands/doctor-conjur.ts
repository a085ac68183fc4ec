import type { Config } from '../../../src/config/load.js';
import type { Conjur } from '../../../src/conjur/types.js';
import { ErrorCode, toReleaseBotError, type ReleaseBotError } from '../../../src/errors.js';
import { membershipGroups, sentinelProblem } from '../../../src/readiness.js';
import type { Check } from './doctor-network.js';

// doctor's Conjur checks: every credential read as a release reads it, the membership sentinels, and the bot's own login.

const READABLE = 'readable, has a value';

/**
 * Reads every configured variable, as a release does: a permission check alone passes a variable
 * that is declared but was never given a value, and that release would then fail at its fetch.
 * The values are dropped at once: the client registered them for redaction, and nothing here keeps,
 * logs or prints one.
 */
export async function variableChecks(conjur: Conjur, login: string, ids: readonly string[]): Promise<Check[]> {
  if (ids.length === 0) return [];
  try {
    (await conjur.getSecrets(ids)).clear();
    return ids.map((id) => ({ ok: true, name: `Conjur variable ${id}`, detail: READABLE }));
  } catch (err) {
    const coded = toReleaseBotError(err);
    // Conjur fails the whole batch for one missing or forbidden id; anything else (down, 5xx) says nothing per id.
    if (coded.code !== ErrorCode.ConjurNotFound && coded.code !== ErrorCode.ConjurForbidden) {
      return ids.map((id) => ({ ok: false, name: `Conjur variable ${id}`, detail: `${coded.message} [${coded.code}]` }));
    }
  }
  const checks: Check[] = [];
  for (const id of ids) checks.push({ name: `Conjur variable ${id}`, ...(await variableCheck(conjur, login, id)) });
  return checks;
}

/** One variable on its own, to name what is wrong with it: no value, not permitted, or not declared. */
async function variableCheck(conjur: Conjur, login: string, id: string): Promise<Omit<Check, 'name'>> {
  try {
    (await conjur.getSecrets([id])).clear();
    return { ok: true, detail: READABLE };
  } catch (err) {
    const coded = toReleaseBotError(err);
    // Conjur answers 403 only for a declared variable (an undeclared one is 404, whoever asks).
    if (coded.code === ErrorCode.ConjurForbidden)
      return {
        ok: false,
        detail: `declared, but ${login} may not read it: permit execute on it to the bot in policy (deploy/conjur/policy.yml)`,
      };
    if (coded.code !== ErrorCode.ConjurNotFound) return { ok: false, detail: `${coded.message} [${coded.code}]` };
  }
  // A 404 is either "not declared" or "declared, permitted, but empty": the permission check tells them apart.
  try {
    return (await conjur.canRead(id))
      ? { ok: false, detail: `declared and ${login} may read it, but it has no value: set one (conjur variable set -i ${id} -v ...)` }
      : {
          ok: false,
          detail: `not declared (or not visible to ${login}): declare it in policy and permit execute to the bot (deploy/conjur/policy.yml)`,
        };
  } catch (err) {
    const coded = toReleaseBotError(err);
    return { ok: false, detail: `${coded.message} [${coded.code}]` };
  }
}

/** Each group the projects file asks about has its membership sentinel (deploy/conjur/policy.yml), as /readyz checks. */
export async function sentinelChecks(conjur: Conjur, login: string, config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  for (const [group, users] of membershipGroups(config)) {
    const name = `Conjur membership sentinel ${group}`;
    try {
      const state = conjur.membershipSentinel ? await conjur.membershipSentinel(group) : 'ok';
      checks.push(
        state === 'ok'
          ? { ok: true, name, detail: `in place (${users.join(', ')})` }
          : { ok: false, name, detail: sentinelProblem(group, users, state, login) },
      );
    } catch (err) {
      const coded = toReleaseBotError(err);
      checks.push({ ok: false, name, detail: `${coded.message} [${coded.code}]` });
    }
  }
  return checks;
}

/** Why the bot could not log in to Conjur, said once, with the credential to fix and how. */
export function conjurLoginProblem(config: Config, coded: ReleaseBotError): string {
  const { CONJUR_APPLIANCE_URL: url, CONJUR_AUTHN_LOGIN: login, CONJUR_AUTHN_TOKEN_FILE: tokenFile } = config.env;
  const id = login.replace(/^host\//, '');
  switch (coded.code) {
    case ErrorCode.ConjurAuthFailed:
      return tokenFile
        ? `${url} refused the access token in CONJUR_AUTHN_TOKEN_FILE (${tokenFile}) for ${login} (401): check that the sidecar writing it runs and authenticates as ${login}`
        : `${url} refused the API key of ${login} (401): CONJUR_AUTHN_API_KEY is wrong or was rotated; rotate it (conjur host rotate-api-key -i ${id}) and put the new key in CONJUR_AUTHN_API_KEY, or fix CONJUR_AUTHN_LOGIN if the login is wrong`;
    case ErrorCode.ConjurForbidden:
      return `${url} knows ${login} but forbids it to log in here (403): allow the host to use the authenticator in Conjur policy (deploy/conjur/policy.yml)`;
    case ErrorCode.ConjurNotFound:
      return `${url} answers 404 for account ${config.env.CONJUR_ACCOUNT}: check CONJUR_ACCOUNT and that CONJUR_APPLIANCE_URL is the Conjur API's URL`;
    default:
      return `cannot log in to ${url}: ${coded.message} [${coded.code}]`;
  }
}
