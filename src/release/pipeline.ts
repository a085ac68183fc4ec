import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { toReleaseBotError, type ReleaseBotError } from '../errors.js';

/** One named step of a pipeline, with one job. It reads and fills the run's context. */
export interface Stage<C> {
  readonly name: string;
  /** Why the stage does not apply to this run (logged as skipped); a falsy answer runs it. */
  skip?: (ctx: C) => string | false | undefined;
  run(ctx: C): void | Promise<void>;
}

/** The first stage that threw, and what it threw as a coded error. */
export interface StageFailure<S> {
  stage: S;
  error: ReleaseBotError;
}

/**
 * A pipeline as data (goreleaser's pipes, semantic-release's lifecycle): the stages in order, what
 * runs after them whatever happened, and the outcome. Stages never audit, log their own timing or
 * catch to carry on: the runner does it for all of them, once.
 */
export interface Pipeline<C, S extends Stage<C>, R> {
  readonly name: string;
  readonly stages: readonly S[];
  /** Runs after the stages, also after a failure (temporary files, pending labels); its errors are logged, never thrown. */
  cleanup?: (ctx: C) => void | Promise<void>;
  /** Audits and announces the outcome and gives the answer, or throws the refusal. */
  outcome(ctx: C, failure: StageFailure<S> | undefined): R | Promise<R>;
}

/**
 * Runs the stages in order until one throws: the later stages do not run, the cleanup does, and the
 * outcome is told which stage failed with what. Each stage is logged with its duration, or as skipped.
 */
export async function runPipeline<C, S extends Stage<C>, R>(pipeline: Pipeline<C, S, R>, ctx: C, log: Logger): Promise<R> {
  let failure: StageFailure<S> | undefined;
  for (const stage of pipeline.stages) {
    const where = { pipeline: pipeline.name, stage: stage.name };
    const reason = stage.skip?.(ctx);
    if (reason) {
      log.debug({ ...where, reason }, 'stage skipped');
      continue;
    }
    const started = performance.now();
    try {
      await stage.run(ctx);
      log.debug({ ...where, durationMs: Math.round(performance.now() - started) }, 'stage done');
    } catch (thrown) {
      failure = { stage, error: toReleaseBotError(thrown) };
      log.debug({ ...where, durationMs: Math.round(performance.now() - started), code: failure.error.code }, 'stage failed');
      break;
    }
  }
  if (pipeline.cleanup) {
    try {
      await pipeline.cleanup(ctx);
    } catch (err) {
      log.warn({ pipeline: pipeline.name, err: (err as Error).message }, 'cleanup after the stages failed');
    }
  }
  return pipeline.outcome(ctx, failure);
}
