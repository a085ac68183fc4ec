import dgram from 'node:dgram';
import { hostname } from 'node:os';
import net from 'node:net';
import { canonicalJson } from './canonical.js';
import type { AuditEntry, AuditType } from './log.js';
import type { AuditSink } from './forwarder.js';

/** RFC 5424 facility 10, authpriv: security and authorization messages, where access records belong. */
const FACILITY = 10;
const SEVERITY = { warning: 4, notice: 5, info: 6 } as const;
const WARNING_TYPES: ReadonlySet<AuditType> = new Set([
  'denied',
  'stage-refused',
  'failed',
  'interrupted',
  'config-rejected',
  'yank-failed',
  'yank-interrupted',
]);
const NOTICE_TYPES: ReadonlySet<AuditType> = new Set(['frozen', 'unfrozen', 'config-changed', 'yanked']);
/**
 * The private structured-data id. An SD-ID of one's own must carry an IANA private enterprise
 * number; 32473 is the number RFC 5612 reserves for documentation. Log pipelines match on the name.
 */
export const SD_ID = 'release-bot@32473';
/** The largest UDP payload; longer messages are cut (the full entry stays in the local log). */
const UDP_MAX_BYTES = 65_000;
const BOM = '\uFEFF';

/** SD-PARAM values escape `"`, `\` and `]` (RFC 5424 section 6.3.3). */
function sdValue(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** HOSTNAME, APP-NAME and MSGID are printable US-ASCII without spaces, or the NILVALUE `-`. */
function header(v: string | undefined, max: number): string {
  const clean = (v ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/**
 * One audit entry as an RFC 5424 message: the key facts as structured data for log pipelines, and
 * the whole entry (with both hashes) as canonical JSON, so the remote copy can be verified and used
 * as an anchor for the local chain.
 */
export function formatSyslog(entry: AuditEntry, options: { hostname?: string; appName?: string } = {}): string {
  const severity = WARNING_TYPES.has(entry.type) ? SEVERITY.warning : NOTICE_TYPES.has(entry.type) ? SEVERITY.notice : SEVERITY.info;
  const params: [string, string | number | null | undefined][] = [
    ['id', entry.id],
    ['seq', entry.seq],
    ['type', entry.type],
    ['project', entry.project],
    ['version', entry.version],
    ['release', entry.releaseId],
    ['login', entry.actor.conjurLogin],
    ['via', entry.actor.via],
    ['hash', entry.hash],
    ['prevHash', entry.prevHash],
  ];
  const sd = `[${SD_ID}${params
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => ` ${k}="${sdValue(String(v))}"`)
    .join('')}][meta sequenceId="${((entry.seq - 1) % 2147483647) + 1}"]`;
  return [
    `<${FACILITY * 8 + severity}>1`,
    entry.at,
    header(options.hostname ?? hostname(), 255),
    header(options.appName ?? 'release-bot', 48),
    '-',
    header(entry.type, 32),
    sd,
    `${BOM}${canonicalJson(entry)}`,
  ].join(' ');
}

/** TCP framing by octet counting (RFC 6587 section 3.4.1): `<length> <message>`, length in bytes. */
export function frameOctetCounting(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

function cutForUdp(message: string, entry: AuditEntry): Buffer {
  const buf = Buffer.from(message, 'utf8');
  if (buf.length <= UDP_MAX_BYTES) return buf;
  const note = ` …[cut at ${UDP_MAX_BYTES} bytes: release-bot audit show ${entry.id}]`;
  return Buffer.concat([buf.subarray(0, UDP_MAX_BYTES - Buffer.byteLength(note)), Buffer.from(note)]);
}

export interface SyslogTarget {
  protocol: 'udp' | 'tcp';
  host: string;
  port: number;
}

/** Parses AUDIT_SYSLOG_URL: `udp://host:port` or `tcp://host:port` (IPv6 in brackets). */
export function parseSyslogUrl(url: string): SyslogTarget {
  const m = /^(udp|tcp):\/\/(\[[0-9a-fA-F:.]+\]|[^/:\s]+):(\d{1,5})$/.exec(url);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) throw new Error(`AUDIT_SYSLOG_URL ${JSON.stringify(url)} is not udp://host:port or tcp://host:port`);
  return { protocol: m[1] as 'udp' | 'tcp', host: (m[2] as string).replace(/^\[|\]$/g, ''), port };
}

export interface SyslogSinkOptions {
  hostname?: string;
  connectTimeoutMs?: number;
  /**
   * UDP: how long to wait after sending for the ICMP "port unreachable" that a down listener
   * answers with; a refusal within it fails the batch, which is then sent again.
   */
  udpSettleMs?: number;
}

/**
 * Sends entries to a syslog receiver. TCP: one connection, octet-counted frames, a batch counts as
 * handed over when the kernel took it. UDP: one datagram per entry on a connected socket, so that a
 * refusal comes back as an error; beyond that UDP cannot confirm delivery (use tcp:// for that).
 */
export class SyslogSink implements AuditSink {
  readonly name: string;
  private readonly target: SyslogTarget;
  private tcp: net.Socket | undefined;
  private udp: dgram.Socket | undefined;
  private udpError: Error | undefined;

  constructor(
    url: string,
    private readonly options: SyslogSinkOptions = {},
  ) {
    this.target = parseSyslogUrl(url);
    this.name = `syslog:${url}`;
  }

  async send(entries: readonly AuditEntry[]): Promise<void> {
    const messages = entries.map((e) => formatSyslog(e, { hostname: this.options.hostname }));
    if (this.target.protocol === 'tcp') await this.sendTcp(Buffer.concat(messages.map(frameOctetCounting)));
    else await this.sendUdp(messages.map((m, i) => cutForUdp(m, entries[i] as AuditEntry)));
  }

  private async sendTcp(data: Buffer): Promise<void> {
    const socket = this.tcp && !this.tcp.destroyed && this.tcp.readyState === 'open' ? this.tcp : await this.connectTcp();
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      socket.once('error', onError);
      socket.write(data, (err) => {
        socket.off('error', onError);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private connectTcp(): Promise<net.Socket> {
    this.tcp?.destroy();
    this.tcp = undefined;
    const { host, port } = this.target;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(
        () => socket.destroy(new Error(`no connection to syslog ${host}:${port} within ${this.options.connectTimeoutMs ?? 5000} ms`)),
        this.options.connectTimeoutMs ?? 5000,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setKeepAlive(true, 30_000);
        // The receiver never talks back; anything it sends is ignored. A close makes the next send reconnect.
        socket.on('data', () => undefined);
        socket.on('error', () => socket.destroy());
        socket.on('close', () => {
          if (this.tcp === socket) this.tcp = undefined;
        });
        this.tcp = socket;
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
    });
  }

  private async sendUdp(datagrams: Buffer[]): Promise<void> {
    const socket = this.udp ?? (await this.connectUdp());
    this.udpError = undefined;
    for (const d of datagrams) {
      await new Promise<void>((resolve, reject) => socket.send(d, (err) => (err ? reject(err) : resolve())));
    }
    await new Promise((r) => setTimeout(r, this.options.udpSettleMs ?? 200));
    const refused = this.udpError;
    if (refused) {
      this.udp?.close();
      this.udp = undefined;
      throw refused;
    }
  }

  private connectUdp(): Promise<dgram.Socket> {
    const { host, port } = this.target;
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      socket.on('error', (err) => {
        this.udpError = err;
      });
      socket.connect(port, host, (err?: Error) => {
        if (err) {
          socket.close();
          reject(err);
          return;
        }
        socket.unref();
        this.udp = socket;
        resolve(socket);
      });
    });
  }

  async close(): Promise<void> {
    const tcp = this.tcp;
    this.tcp = undefined;
    if (tcp && !tcp.destroyed) await new Promise<void>((resolve) => tcp.end(() => resolve()));
    tcp?.destroy();
    this.udp?.close();
    this.udp = undefined;
  }
}
