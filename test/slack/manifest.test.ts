import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { RELEASE_COMMAND } from '../../handlers/slack/listeners.js';
import { SLACK_EVENTS_PATH } from '../../handlers/slack/mount.js';
import { repoRoot } from '../support/cli.js';

interface Manifest {
  features: { slash_commands: Array<{ command: string; url?: string; should_escape: boolean }> };
  oauth_config: { scopes: { bot: string[] } };
  settings: { interactivity: { is_enabled: boolean; request_url?: string }; socket_mode_enabled: boolean };
}

const read = (name: string) => YAML.parse(readFileSync(path.join(repoRoot, 'deploy/slack', name), 'utf8')) as Manifest;

describe('deploy/slack manifests agree with the code', () => {
  it.each([
    ['manifest.yml', false],
    ['manifest.socket-mode.yml', true],
  ])('%s: the one command, interactivity, only the scopes the bot uses', (name, socket) => {
    const m = read(name);
    expect(m.features.slash_commands.map((c) => c.command)).toEqual([RELEASE_COMMAND]);
    expect(m.settings.interactivity.is_enabled).toBe(true);
    expect(m.settings.socket_mode_enabled).toBe(socket);
    expect([...m.oauth_config.scopes.bot].sort()).toEqual(['chat:write', 'commands', 'users:read', 'users:read.email']);
    if (!socket) {
      for (const url of [m.features.slash_commands[0]?.url, m.settings.interactivity.request_url]) {
        expect(new URL(url as string).pathname).toBe(SLACK_EVENTS_PATH);
        expect(url).toMatch(/^https:\/\//);
      }
    }
  });
});
