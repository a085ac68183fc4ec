import type { types } from '@slack/bolt';

/** What every message builder returns: Block Kit blocks plus the plain-text fallback Slack requires. */
export interface SlackMessage {
  /** The fallback (notifications, clients without blocks): Slack renders `<!channel>` and links here too, so it passes `esc` like any mrkdwn. */
  text: string;
  blocks: types.KnownBlock[];
}

/**
 * Slack's own escaping, the one function for untrusted text anywhere it reaches Slack (mrkdwn blocks
 * and `text` fallbacks): without it, `<!channel>` or `<https://evil|docs>` in a value would render as markup.
 */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code; a backtick inside would end it early, so it becomes a quote. */
export function code(s: string): string {
  return `\`${esc(s).replace(/`/g, "'")}\``;
}

/** A link for http(s) URLs only; anything else is shown as escaped text, never as a link. */
export function link(url: string | undefined, label: string): string {
  if (!url) return esc(label);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return esc(label);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return esc(label);
  // The URL parser already percent-encodes most of these; what it leaves is made inert here, "&" as Slack asks.
  const href = parsed.href.replace(/\|/g, '%7C').replace(/>/g, '%3E').replace(/</g, '%3C').replace(/&/g, '&amp;');
  return `<${href}|${esc(label).replace(/\|/g, '¦')}>`;
}

/** A user mention when the id looks like a Slack user id, else the escaped text. */
export function mention(userId: string | null | undefined, fallback = 'someone'): string {
  return userId && /^[UW][A-Z0-9]{2,20}$/.test(userId) ? `<@${userId}>` : esc(fallback);
}

export function channelRef(channel: string): string {
  return /^[CG][A-Z0-9]{2,20}$/.test(channel) ? `<#${channel}>` : esc(channel);
}

/** The first 12 hex digits of a digest, as the summary shows them. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Slack refuses a section text over 3000 characters. */
export function fit(s: string, max = 2900): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function section(markdown: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: fit(markdown) } };
}

export function header(plain: string): types.HeaderBlock {
  return { type: 'header', text: { type: 'plain_text', text: plain.length > 150 ? `${plain.slice(0, 149)}…` : plain, emoji: true } };
}

export function context(...markdown: string[]): types.ContextBlock {
  return {
    type: 'context',
    elements: markdown
      .filter(Boolean)
      .slice(0, 10)
      .map((text) => ({ type: 'mrkdwn' as const, text: fit(text, 1900) })),
  };
}

export function fields(pairs: ReadonlyArray<readonly [string, string]>): types.SectionBlock {
  return { type: 'section', fields: pairs.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn' as const, text: fit(`*${k}*\n${v}`, 1900) })) };
}

/** Time as Slack renders it in each reader's time zone, with the ISO time as the fallback. */
export function when(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return esc(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${esc(iso)}>`;
}

/** Lines spread over as many sections as it takes to keep each under Slack's 3000 characters (at most `maxBlocks`). */
export function sectionsOf(lines: string[], empty = '_none_', maxBlocks = 20): types.SectionBlock[] {
  if (lines.length === 0) return [section(empty)];
  const blocks: types.SectionBlock[] = [];
  let current = '';
  for (const line of lines) {
    if (current && current.length + line.length + 1 > 2900) {
      blocks.push(section(current));
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current) blocks.push(section(current));
  return blocks.slice(0, maxBlocks);
}
