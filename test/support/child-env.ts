import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { INHERITED_ENV } from '../../src/exec.js';

/**
 * Secrets the bot's own process may hold, none of which a publisher's child may ever see: the bot's
 * Conjur and Slack credentials, a cloud key an operator exported, and other destinations' credentials
 * under the names their publishers use.
 */
export const PARENT_CANARIES: Readonly<Record<string, string>> = {
  CONJUR_AUTHN_API_KEY: 'canary-conjur-api-key-2b7e151628aed2a6abf7',
  SLACK_BOT_TOKEN: 'xoxb-canary-slack-bot-token-4f3c2a1b',
  SLACK_SIGNING_SECRET: 'canary-slack-signing-secret-8e9d0c1f',
  JENKINS_JWT_SECRET: 'canary-jenkins-jwt-secret-0123456789abcdef',
  AWS_SECRET_ACCESS_KEY: 'canary/aws+secret/access-key-wJalrXUtnFEMI',
  GITHUB_TOKEN: 'ghp_canaryOtherDestination0123456789',
  NPM_TOKEN: 'canary-npm-token-of-the-parent-5e1a',
  GEM_HOST_API_KEY: 'rubygems_canary_parent_9f8e7d6c5b4a',
  HEROKU_API_KEY: 'canary-heroku-key-of-the-parent-77aa',
  REGISTRY_PASSWORD: 'canary-registry-password-of-the-parent',
  SSH_PRIVATE_KEY: 'canary-ssh-private-key-of-the-parent',
};

/**
 * Puts `values` into the parent's environment, in both places a child could inherit them from: Jest's
 * `process.env` (a per-file copy, which src/exec.ts reads) and the worker's real environment (which
 * Node's spawn hands down when it is given no env at all). Returns a function that restores both.
 */
export function setParentEnv(values: Readonly<Record<string, string>>): () => void {
  // The real process of the worker, outside the test's sandbox: Jest gives each file its own `process`.
  const real = vm.runInThisContext('process') as NodeJS.Process;
  const saved = Object.keys(values).map((k) => [k, process.env[k], real.env[k]] as const);
  for (const [k, v] of Object.entries(values)) {
    process.env[k] = v;
    real.env[k] = v;
  }
  return () => {
    for (const [k, mine, theirs] of saved) {
      if (mine === undefined) delete process.env[k];
      else process.env[k] = mine;
      if (theirs === undefined) delete real.env[k];
      else real.env[k] = theirs;
    }
  };
}

export interface ChildCall {
  tool: string;
  /** Arguments after the program name. */
  argv: string[];
  /** The environment the program was started with, exactly (read from /proc, so the wrapper's shell adds nothing). */
  env: Record<string, string>;
  /** What the tool's `note` snippet printed, if it has one. */
  note: string;
}

export interface ToolSpy {
  /** Put this first on PATH. */
  bin: string;
  /** Every recorded start of `tool` (or of any tool), oldest first. */
  calls: (tool?: string) => ChildCall[];
}

/**
 * Wrapper scripts named like the tools, in `<dir>/bin`: each records the environment, the arguments and
 * the output of its optional `note` (a shell snippet that sees the tool's arguments as "$@"), then execs
 * the real tool, so the publisher runs for real.
 */
export function spyOnTools(dir: string, tools: Readonly<Record<string, { real: string; note?: string }>>): ToolSpy {
  const bin = path.join(dir, 'bin');
  const out = path.join(dir, 'calls');
  mkdirSync(bin, { recursive: true });
  mkdirSync(out, { recursive: true });
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  for (const [tool, { real, note }] of Object.entries(tools)) {
    // A name (a shell builtin, as `command -v true` answers) would exec this wrapper again, forever.
    if (!path.isAbsolute(real) || real.startsWith(`${bin}/`))
      throw new Error(`spyOnTools: the real ${tool} must be an absolute path outside ${bin}, not ${real}`);
    const script = [
      '#!/bin/sh',
      `o=${q(path.join(out, tool))}-"$(date +%s%N)-$$"`,
      'cat /proc/$$/environ > "$o.env"',
      'printf \'%s\\0\' "$@" > "$o.argv"',
      note ? `{ ${note}\n} > "$o.note" 2>&1` : ': > "$o.note"',
      `exec ${q(real)} "$@"`,
      '',
    ].join('\n');
    writeFileSync(path.join(bin, tool), script);
    chmodSync(path.join(bin, tool), 0o755);
  }
  const nul = (file: string) => readFileSync(file, 'utf8').split('\0').slice(0, -1);
  return {
    bin,
    calls: (tool) =>
      readdirSync(out)
        .filter((f) => f.endsWith('.env') && (tool === undefined || f.startsWith(`${tool}-`)))
        .sort((a, b) => (a.split('-').at(-2) ?? '').localeCompare(b.split('-').at(-2) ?? '', 'en', { numeric: true }))
        .map((f) => {
          const base = path.join(out, f.slice(0, -'.env'.length));
          const env = Object.fromEntries(nul(`${base}.env`).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
          return {
            tool: f.slice(0, f.lastIndexOf('-', f.lastIndexOf('-') - 1)),
            argv: nul(`${base}.argv`),
            env,
            note: readFileSync(`${base}.note`, 'utf8'),
          };
        }),
  };
}

/**
 * A child's environment holds exactly the allowlisted variables the parent has (src/exec.ts), HOME and
 * `own` (its destination's credentials and the tool's settings), with those values; and no canary value
 * under any name, nor on its command line.
 */
export function expectOnlyOwnEnv(call: ChildCall, own: Readonly<Record<string, string>> = {}): void {
  const inherited = INHERITED_ENV.filter((k) => process.env[k] !== undefined);
  expect({ tool: call.tool, names: Object.keys(call.env).sort() }).toEqual({
    tool: call.tool,
    names: [...new Set([...inherited, 'HOME', ...Object.keys(own)])].sort(),
  });
  for (const [k, v] of Object.entries(own)) expect({ tool: call.tool, [k]: call.env[k] }).toEqual({ tool: call.tool, [k]: v });
  const seen = `${JSON.stringify(call.env)}\n${call.argv.join('\n')}`;
  for (const [name, value] of Object.entries(PARENT_CANARIES))
    expect({ tool: call.tool, name, leaked: seen.includes(value) }).toEqual({ tool: call.tool, name, leaked: false });
}
