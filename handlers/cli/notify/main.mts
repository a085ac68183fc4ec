#!/usr/bin/env node
/**
 * `release-bot notify`, the Jenkins side of the webhook, as one file a build agent runs with Node 20 and
 * nothing else: `node release-bot-notify.mjs --url ... FILE...` (the package's
 * dist/handlers/cli/release-bot-notify.mjs, copied alone). Only `node:` imports, so it needs no
 * node_modules; `release-bot notify` runs this same code. Exit codes are the CLI's (README "CLI").
 *
 * This is its entry; it and the modules beside it are joined into that one file by `npm run build`
 * (scripts/notify-single-file.mjs), which the tests run alone.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EXIT_CODES, NotifyError } from './errors.mjs';
import { longName, NOTIFY_OPTIONS, usage, wholeNumber, type NotifyOptions } from './options.mjs';
import { notify, processIo, type NotifyIo } from './report.mjs';

export { EXIT_CODES, NotifyError } from './errors.mjs';
export { NOTIFY_DESCRIPTION, NOTIFY_FILES, NOTIFY_OPTIONS, wholeNumber } from './options.mjs';
export type { NotifyOptions, NotifyOptionSpec } from './options.mjs';
export { notify, signHs256 } from './report.mjs';
export type { NotifyIo } from './report.mjs';

/** The single file's command line: the same options and answers as `release-bot notify`. */
export async function main(argv: string[], io: NotifyIo = processIo): Promise<number> {
  try {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: {
          ...Object.fromEntries(
            NOTIFY_OPTIONS.map((spec) => [longName(spec), { type: spec.kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
          ),
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (err) {
      throw new NotifyError('BAD_INPUT', `${(err as Error).message} (see --help)`);
    }
    if (parsed.values.help) {
      io.stdout(usage());
      return 0;
    }
    const options: Record<string, unknown> = {};
    for (const spec of NOTIFY_OPTIONS) {
      const raw = parsed.values[longName(spec)];
      if (raw === undefined) {
        if (spec.required) throw new NotifyError('BAD_INPUT', `required option '${spec.flags}' not specified (see --help)`);
        if (spec.default !== undefined) options[spec.key] = spec.default;
      } else {
        options[spec.key] = spec.kind === 'count' ? wholeNumber(String(raw), `--${longName(spec)}`) : raw;
      }
    }
    return await notify(parsed.positionals, options as unknown as NotifyOptions, io);
  } catch (err) {
    const coded = err instanceof NotifyError ? err : new NotifyError('INTERNAL', err instanceof Error ? err.message : String(err));
    io.stderr(`release-bot: ${coded.message} [${coded.code}]\n`);
    return EXIT_CODES[coded.code] ?? 1;
  }
}

/** Run as a program (not imported by `release-bot notify`): node resolves the symlink of an npm bin. */
function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = await main(process.argv.slice(2));
