import dgram from 'node:dgram';
import net from 'node:net';

/** A loopback syslog receiver for tests: collects whole messages, UDP (one per datagram) or TCP (octet counting). */
export interface SyslogListener {
  port: number;
  messages: string[];
  /** Resolves when at least `n` messages arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<string[]>;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

export async function listenSyslog(protocol: 'udp' | 'tcp', port = 0): Promise<SyslogListener> {
  const messages: string[] = [];
  let close: () => Promise<void>;
  let bound: number;
  if (protocol === 'udp') {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (m) => messages.push(m.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => resolve());
    });
    bound = socket.address().port;
    close = () => new Promise((resolve) => socket.close(() => resolve()));
  } else {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        // Octet counting (RFC 6587 3.4.1): "<len> <len bytes>", repeated.
        for (;;) {
          const space = buf.indexOf(0x20);
          if (space < 0) return;
          const len = Number(buf.subarray(0, space).toString('ascii'));
          if (!Number.isInteger(len) || len <= 0) throw new Error(`bad frame header ${JSON.stringify(buf.subarray(0, space).toString())}`);
          if (buf.length < space + 1 + len) return;
          messages.push(buf.subarray(space + 1, space + 1 + len).toString('utf8'));
          buf = buf.subarray(space + 1 + len);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    bound = (server.address() as net.AddressInfo).port;
    close = () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
  }
  return {
    port: bound,
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} syslog message(s), got ${messages.length}:\n${messages.join('\n')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return messages;
    },
    close: () => close(),
  };
}

/** The parts of an RFC 5424 message; throws when the line is not one. */
export function parse5424(line: string): {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  app: string;
  procid: string;
  msgid: string;
  sd: string;
  msg: string;
} {
  const m = /^<(\d{1,3})>(1) (\S+) (\S+) (\S+) (\S+) (\S+) ((?:\[[^\]]*(?:\\\][^\]]*)*\])+|-) \uFEFF(.*)$/s.exec(line);
  if (!m) throw new Error(`not an RFC 5424 message: ${line.slice(0, 200)}`);
  return {
    pri: Number(m[1]),
    version: Number(m[2]),
    timestamp: m[3] as string,
    hostname: m[4] as string,
    app: m[5] as string,
    procid: m[6] as string,
    msgid: m[7] as string,
    sd: m[8] as string,
    msg: m[9] as string,
  };
}
