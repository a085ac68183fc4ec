import type { Command } from 'commander';
import { action } from '../run.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'run the HTTP server (Slack, Jenkins webhook, /healthz, /readyz); reloads the projects file when it changes and on SIGHUP; SIGTERM drains in-flight releases',
    )
    .action(action(serveUntilStopped));
}

/** Serves until SIGTERM or SIGINT, which drain in-flight releases before the process exits. */
async function serveUntilStopped(): Promise<void> {
  const { serve } = await import('../../../app/serve.js');
  const running = await serve();
  const stop = (signal: string) => {
    running.app.log.info({ signal }, 'signal received');
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // SIGHUP re-reads the projects file (see src/config/reload.ts); it never stops the server.
  process.on('SIGHUP', () => {
    running.app.log.info({ signal: 'SIGHUP' }, 'signal received: reloading the projects file');
    running.reload('SIGHUP');
  });
  await new Promise(() => undefined);
}
