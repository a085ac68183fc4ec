import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { PublishContext } from '../../src/publishing/types.js';

/** The credential this destination was given, or a config error that says where to declare it. */
export function credential(ctx: Pick<PublishContext, 'credentials'>, type: string, name: string): string {
  const value = ctx.credentials[name];
  if (!value) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `the ${type} destination has no ${name} credential: add \`credentials: { ${name}: <Conjur variable id> }\` to it in the projects file`,
    );
  }
  return value;
}
