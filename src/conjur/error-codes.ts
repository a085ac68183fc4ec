/**
 * Conjur's coded errors (cyberark/conjur app/domain/errors.rb): the server puts `CONJxxxxxE <text>`
 * in `error.message` of a JSON body (app/controllers/application_controller.rb renders
 * `{error: {code, message}}`). Only the code is read, never the text: the bot's message is its own,
 * names what it asked for and says how to fix it. Some answers (403, most 401s) have no body at
 * all; the server's log has the code then.
 */
/** `CONJ00074E` and the like. */
export type ConjurErrorCode = string;

/** The code of Conjur's JSON error body, if there is one. */
export function conjurErrorCode(body: string): ConjurErrorCode | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const message = (parsed as { error?: { message?: unknown } } | null)?.error?.message;
  const code = typeof message === 'string' ? /^(CONJ\d{5}[EW])\b/.exec(message)?.[1] : undefined;
  return code;
}

/** What the bot was doing, to name in the fix: the variables of a batch, the role it asked about. */
export interface ErrorSubject {
  variables?: readonly string[];
  login: string;
}

/** The codes the bot's calls can meet, each with what it means here and how to fix it. */
const HINTS: Record<string, (s: ErrorSubject) => string> = {
  // secrets_controller.rb#batch: a value that cannot be JSON (not UTF-8) in a batch asked without base64.
  CONJ00074E: (s) =>
    `Conjur could not send ${list(s)} as JSON (CONJ00074E: a value is binary) although the bot asks for base64 (Accept-Encoding: base64): a proxy between the bot and Conjur dropped or rewrote that header; let it through unchanged`,
  // MissingSecretValue: the variable is not declared, or has no value yet.
  CONJ00076E: (s) =>
    `${list(s)}: empty or not found (CONJ00076E): declare the variable in policy and set a value (conjur variable set -i <id> -v ...)`,
  // RequestedResourceNotFound / ResourceNotVisibleToRole: does not exist, or the bot holds no privilege on it.
  CONJ00123E: (s) => `Conjur found no such resource for ${s.login} (CONJ00123E): check the id, and that policy permits the bot on it`,
  CONJ00125E: (s) => `not visible to ${s.login} (CONJ00125E): permit the bot read on it in policy`,
  CONJ00122E: (s) => `${s.login} may not access it (CONJ00122E): permit it in policy`,
  CONJ00124E: (s) => `${s.login} has insufficient privileges (CONJ00124E): permit read and execute on ${list(s)} in policy`,
  // Authentication (when the server sends a body): wrong key, an address outside restricted_to, authn not enabled.
  CONJ00002E: (s) => `Conjur refused ${s.login}'s credentials (CONJ00002E): check CONJUR_AUTHN_LOGIN and CONJUR_AUTHN_API_KEY`,
  CONJ00003E: (s) => `${s.login} may not log in from this machine's address (CONJ00003E): add it to the host's restricted_to in policy`,
  CONJ00004E: () => 'the authn authenticator is not enabled on this Conjur (CONJ00004E): add authn to CONJUR_AUTHENTICATORS on the server',
  CONJ00007E: (s) => `Conjur does not know ${s.login} (CONJ00007E): load deploy/conjur/policy.yml and check CONJUR_AUTHN_LOGIN`,
  CONJ00008E: () => 'Conjur does not have this account (CONJ00008E): check CONJUR_ACCOUNT (conjur on Conjur Cloud)',
};

/** The bot's own sentence for a code it knows, or undefined. */
export function conjurErrorHint(code: ConjurErrorCode | undefined, subject: ErrorSubject): string | undefined {
  return code === undefined ? undefined : HINTS[code]?.(subject);
}

function list(s: ErrorSubject): string {
  const v = s.variables ?? [];
  return v.length === 1 ? `the Conjur variable ${v[0]}` : `the Conjur variables ${v.join(', ')}`;
}
