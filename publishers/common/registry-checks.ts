import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { Existing, PublishContext, PublisherDefinition } from '../../src/publishing/types.js';

/** What a registry destination (npm, rubygems) says about the one package it publishes; see registryChecks. */
export interface RegistryLook<O, P> {
  /** The staged package, and the digest the registry shows for its version (undefined: it shows none). */
  look(ctx: PublishContext, opts: O): Promise<{ pkg: P; seen: string | undefined }>;
  /** The staged package's digest, as the registry shows digests. */
  digest(pkg: P): string;
  /** The already-present answer: the registry holds the staged bytes. */
  present(pkg: P, opts: O): Existing;
  /** Why the version already there with other bytes cannot be published (registry versions cannot be replaced). */
  conflict(pkg: P, seen: string, opts: O): string;
  /** What a read-back misses while the registry catches up. */
  notYet(pkg: P, opts: O): string;
  /** Why a push that reads back with other bytes must be investigated. */
  mismatch(pkg: P, seen: string, opts: O): string;
}

/**
 * The already-present check and the read-back of a registry destination, one comparison of the digest
 * the registry shows with the staged one: before the push, none publishes, the same is already present,
 * another is a conflict; after it, none is asked again (up to five times, read_back_interval_ms apart),
 * the same counts, another is a failure.
 */
export function registryChecks<O extends Record<string, unknown> & { read_back_interval_ms: number }, P>(
  r: RegistryLook<O, P>,
): Required<Pick<PublisherDefinition<O>, 'existing' | 'readBack'>> {
  return {
    async existing(ctx, opts) {
      const { pkg, seen } = await r.look(ctx, opts);
      if (seen === undefined) return undefined;
      if (seen !== r.digest(pkg)) throw new ReleaseBotError(ErrorCode.DestinationConflict, r.conflict(pkg, seen, opts));
      return r.present(pkg, opts);
    },
    readBack: {
      attempts: 5,
      intervalMs: (opts) => opts.read_back_interval_ms,
      async read(ctx, opts) {
        const { pkg, seen } = await r.look(ctx, opts);
        if (seen === undefined) return { visible: false, detail: r.notYet(pkg, opts) };
        if (seen !== r.digest(pkg)) throw new ReleaseBotError(ErrorCode.DestinationFailed, r.mismatch(pkg, seen, opts));
        return { visible: true, readBackDigest: r.present(pkg, opts).readBackDigest ?? seen };
      },
    },
  };
}
