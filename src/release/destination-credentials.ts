import { isBinarySecret, type SecretValue } from '../conjur/secret-value.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { PublishContext, PublisherDefinition } from '../publishing/types.js';

/** One destination's credentials from the release's batch: text by name, and binary values apart. */
export interface DestinationCredentials {
  credentials: Record<string, string>;
  binary: Record<string, Buffer>;
}

/**
 * Splits a destination's credentials into text and binary values. A binary value (a keystore, a
 * signing key: not UTF-8, or with a NUL) can reach only a publisher that takes bytes; any other
 * would have to mangle it into a string (an npm token or a password is text), so the release is
 * refused before anything is published, naming the variable and what to do.
 */
export function destinationCredentials(
  destination: { name: string; type: string; credentials: Readonly<Record<string, string>> },
  publisher: Pick<PublisherDefinition, 'binaryCredentials'>,
  secrets: ReadonlyMap<string, SecretValue>,
): DestinationCredentials {
  const out: DestinationCredentials = { credentials: {}, binary: {} };
  for (const [name, id] of Object.entries(destination.credentials)) {
    const value = secrets.get(id) ?? '';
    if (!isBinarySecret(value)) {
      out.credentials[name] = value;
    } else if (publisher.binaryCredentials) {
      out.binary[name] = value;
    } else {
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        `the Conjur variable ${id} (${name} of destination ${destination.name}) holds binary data (not UTF-8 text, or a NUL byte), and a ${destination.type} destination needs text: set the variable to the text value, or publish with an exec destination, which gets binary values as a file in ${name}_FILE`,
        { details: { variable: id, credential: name, destination: destination.name } },
      );
    }
  }
  return out;
}

/** The publisher, handing `binary` to every step that may use a credential (publish, plan, existing, readBack) in `ctx.binaryCredentials`. */
export function withBinaryCredentials<O extends Record<string, unknown>>(
  publisher: PublisherDefinition<O>,
  binary: Record<string, Buffer>,
): PublisherDefinition<O> {
  if (Object.keys(binary).length === 0) return publisher;
  const add = (ctx: PublishContext): PublishContext => ({ ...ctx, binaryCredentials: binary });
  const { plan, existing, readBack } = publisher;
  return {
    ...publisher,
    publish: (ctx, options) => publisher.publish(add(ctx), options),
    ...(plan ? { plan: (ctx: PublishContext, options: O) => plan.call(publisher, add(ctx), options) } : {}),
    ...(existing ? { existing: (ctx: PublishContext, options: O) => existing.call(publisher, add(ctx), options) } : {}),
    ...(readBack ? { readBack: { ...readBack, read: (ctx, options, pushed) => readBack.read(add(ctx), options, pushed) } } : {}),
  };
}
