import type { Logger } from 'pino';
import type { DestinationConfig } from '../../config/load.js';
import type { AttestationRecord, PublishContext, PublisherDefinition, PublishResult } from '../../publishing/types.js';
import type { Releases } from '../../store/releases.js';
import type { CoreEvents } from '../events.js';

export interface DestinationJob {
  destination: DestinationConfig;
  publisher: PublisherDefinition;
  credentials: Record<string, string>;
  /**
   * Publishes the signed provenance of what the destination now holds (src/provenance/attest-step.ts),
   * after the read-back and also when the release was already there; part of the attempt, so a failing
   * attestation fails (and retries) the destination like a failing push.
   */
  attest?: ((ctx: PublishContext, result: PublishResult) => Promise<AttestationRecord[]>) | undefined;
}

export interface RunDestinationsOptions {
  releaseId: string;
  /** Everything of the publish context that all destinations share. */
  context: Omit<PublishContext, 'credentials' | 'signal' | 'tmpDir' | 'progress' | 'log'>;
  /** Where each destination gets its private temporary directory. */
  tmpRoot: string;
  concurrency: number;
  dryRun: boolean;
  log: Logger;
  releases: Releases;
  events: CoreEvents;
  /** Aborted when the bot shuts down for good: running destinations stop, none is retried. */
  shutdown: AbortSignal;
  retryBaseMs: number;
  now: () => number;
  /** Waits between attempts (and read-backs); resolves early when `signal` aborts. Tests inject one to keep time virtual. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The publish context of one step of one destination. */
export function stepContext(
  o: RunDestinationsOptions,
  destination: string,
  step: Pick<PublishContext, 'credentials' | 'signal' | 'tmpDir' | 'log'>,
): PublishContext {
  return {
    ...o.context,
    ...step,
    progress: (message) =>
      o.events.emit('destination-progress', { releaseId: o.releaseId, destination, message: o.context.redact(message) }),
  };
}
