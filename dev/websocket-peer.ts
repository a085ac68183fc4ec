/**
 * DEVELOPMENT: the server end of a WebSocket (RFC 6455) on a loopback HTTP server, just enough for the
 * Slack stand-in's Socket Mode: text messages (fragmented or not), ping/pong, the close handshake.
 * No extensions (permessage-deflate is not offered back, so the client sends plain frames), no TLS.
 * Written here rather than taken from a package: the bot has no WebSocket server dependency, and a
 * stand-in must not add one to the release machine.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** RFC 6455 section 1.3: the key is concatenated with this GUID, SHA-1 hashed and base64 encoded. */
const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_MESSAGE = 1024 * 1024;

const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface WebSocketPeerEvents {
  message: [text: string];
  /** The close code the other end sent, if any. */
  close: [code: number | undefined];
}

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
  /** Bytes the frame took in the buffer. */
  size: number;
}

export class WebSocketPeer extends EventEmitter<WebSocketPeerEvents> {
  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closed = false;
  private closeSent = false;

  /** Completes the handshake of an HTTP upgrade; undefined (and a 400 sent) when it is not a WebSocket upgrade. */
  static accept(req: IncomingMessage, socket: Duplex, head: Buffer): WebSocketPeer | undefined {
    const key = req.headers['sec-websocket-key'];
    if (
      String(req.headers.upgrade).toLowerCase() !== 'websocket' ||
      typeof key !== 'string' ||
      req.headers['sec-websocket-version'] !== '13'
    ) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return undefined;
    }
    const accept = createHash('sha1')
      .update(key + HANDSHAKE_GUID)
      .digest('base64');
    socket.write(
      ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, '', ''].join(
        '\r\n',
      ),
    );
    return new WebSocketPeer(socket, head);
  }

  private constructor(
    private readonly socket: Duplex,
    head: Buffer,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.finish(undefined));
    socket.on('error', () => socket.destroy());
    // Bytes that came with the upgrade request: handled once the caller has attached its listeners.
    if (head.length > 0) setImmediate(() => this.receive(head));
  }

  get isOpen(): boolean {
    return !this.closed && !this.closeSent;
  }

  send(text: string): void {
    if (this.isOpen) this.socket.write(frame(OP.text, Buffer.from(text, 'utf8')));
  }

  /** Starts the close handshake; the socket is cut if the other end does not answer within a second. */
  close(code = 1000): void {
    if (!this.isOpen) return;
    this.closeSent = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    this.socket.write(frame(OP.close, payload));
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Cuts the connection without a close frame (what a network failure looks like). */
  terminate(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (!this.closed) {
      let f: Frame | undefined;
      try {
        f = parseFrame(this.buffer);
      } catch {
        this.socket.destroy();
        return;
      }
      if (!f) return;
      this.buffer = this.buffer.subarray(f.size);
      this.handle(f);
    }
  }

  private handle(f: Frame): void {
    switch (f.opcode) {
      case OP.text:
      case OP.binary:
      case OP.continuation: {
        if (f.opcode !== OP.continuation) this.fragments = [];
        this.fragments.push(f.payload);
        if (this.fragments.reduce((n, b) => n + b.length, 0) > MAX_MESSAGE) {
          this.socket.destroy();
          return;
        }
        if (f.fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = [];
          this.emit('message', text);
        }
        return;
      }
      case OP.ping:
        this.socket.write(frame(OP.pong, f.payload));
        return;
      case OP.pong:
        return;
      case OP.close: {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined;
        if (!this.closeSent) {
          this.closeSent = true;
          this.socket.write(frame(OP.close, f.payload.subarray(0, 2)));
        }
        this.socket.end();
        this.finish(code);
        return;
      }
      default:
        this.socket.destroy();
    }
  }

  private finish(code: number | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', code);
  }
}

/** A server frame: final, unmasked (RFC 6455 5.1: servers never mask). */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) header = Buffer.from([0x80 | opcode, length]);
  else if (length < 65_536) {
    header = Buffer.alloc(4);
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(126, 1);
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(127, 1);
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** The first complete frame in `buf`, unmasked; undefined while it is incomplete. Throws on an oversized one. */
function parseFrame(buf: Buffer): Frame | undefined {
  if (buf.length < 2) return undefined;
  const b0 = buf.readUInt8(0);
  const b1 = buf.readUInt8(1);
  const masked = (b1 & 0x80) !== 0;
  let length = b1 & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buf.length < 4) return undefined;
    length = buf.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buf.length < 10) return undefined;
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(MAX_MESSAGE)) throw new Error('WebSocket frame too large');
    length = Number(big);
    offset = 10;
  }
  if (length > MAX_MESSAGE) throw new Error('WebSocket frame too large');
  const maskAt = offset;
  if (masked) offset += 4;
  if (buf.length < offset + length) return undefined;
  const payload = Buffer.from(buf.subarray(offset, offset + length));
  if (masked) {
    const mask = buf.subarray(maskAt, maskAt + 4);
    for (let i = 0; i < payload.length; i += 1) payload.writeUInt8(payload.readUInt8(i) ^ mask.readUInt8(i & 3), i);
  }
  return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload, size: offset + length };
}
