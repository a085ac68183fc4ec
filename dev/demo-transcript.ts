/** DEVELOPMENT helpers of `npm run demo`: the release channel as text, and its Block Kit as files. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SlackStandIn, StandInMessage } from './slack-stand-in.js';

const indent = (block: string, prefix: string) =>
  block
    .split('\n')
    .map((l) => `${prefix}${l}`)
    .join('\n');

/**
 * The channel as a reader sees it now: each message in its latest version (its plain-text
 * fallback) after the first lines of its earlier versions (the progress), and its thread replies.
 */
export function channelTranscript(slack: SlackStandIn, channel: string): string {
  const messages = slack.messages(channel);
  const top = messages.filter((m) => !m.threadTs);
  return top
    .map((m) => {
      const earlier = [...new Set(m.versions.slice(0, -1).map((v) => v.text.split('\n')[0] ?? ''))];
      const replies = messages.filter((r) => r.threadTs === m.ts);
      return [
        ...earlier.map((line) => `   | (earlier) ${line}`),
        indent(m.text, '   | '),
        ...replies.map((r) => indent(r.text, '   |     thread: ')),
      ].join('\n');
    })
    .join('\n   |\n');
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 48) || 'message'
  );
}

/**
 * Writes every message the bot sent with Block Kit — channel messages in their final version, and the
 * replies only the requester saw — as `{ "blocks": [...] }`, the form Block Kit Builder takes.
 */
export function saveBlockKit(slack: SlackStandIn, outDir: string): string[] {
  const dir = path.join(outDir, 'blocks');
  mkdirSync(dir, { recursive: true });
  const items: { name: string; text: string; blocks: unknown[] }[] = [];
  const channelMessages: StandInMessage[] = slack.messages().filter((m) => m.blocks.length > 0);
  for (const m of channelMessages) {
    // A release message: also its first version that shows destinations at work (the progress view).
    const progress = m.versions.find((v) => v.text.includes('(publishing)'));
    if (progress) items.push({ name: 'progress', text: progress.text, blocks: progress.blocks });
    items.push({ name: m.threadTs ? 'thread' : 'channel', text: m.text, blocks: m.blocks });
  }
  for (const c of slack.calls) {
    const blocks = c.body.blocks;
    if ((c.method === 'response_url' || c.method === 'chat.postEphemeral') && Array.isArray(blocks) && blocks.length > 0) {
      items.push({ name: 'ephemeral', text: String(c.body.text ?? ''), blocks });
    }
  }
  return items.map((item, i) => {
    const file = path.join(dir, `${String(i + 1).padStart(2, '0')}-${item.name}-${slug(item.text.split('\n')[0] ?? '')}.json`);
    writeFileSync(file, `${JSON.stringify({ blocks: item.blocks }, null, 2)}\n`);
    return file;
  });
}
