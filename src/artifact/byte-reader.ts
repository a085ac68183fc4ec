import { padded, tarRefused } from './tar-headers.js';

/** Exact reads over an async stream of chunks, counting every byte against a cap. */
export class ByteReader {
  private chunk: Buffer = Buffer.alloc(0);
  private offset = 0;
  private total = 0;
  private done = false;

  constructor(
    private readonly source: AsyncIterator<Buffer | Uint8Array>,
    private readonly maxBytes: number,
  ) {}

  /** Exactly `n` bytes, or undefined at the end of the stream. */
  async read(n: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      if (!(await this.fill())) return undefined;
      const take = Math.min(need, this.chunk.length - this.offset);
      parts.push(this.chunk.subarray(this.offset, this.offset + take));
      this.offset += take;
      need -= take;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }

  /** `size` bytes of an entry plus its padding to the next block; a short stream is refused. */
  async readPadded(size: number): Promise<Buffer> {
    const data = await this.read(size);
    if (data === undefined) throw tarRefused('the archive ends inside an entry (truncated?)');
    await this.skip(padded(size) - size);
    return Buffer.from(data);
  }

  async skip(n: number): Promise<void> {
    let need = n;
    while (need > 0) {
      if (!(await this.fill())) throw tarRefused('the archive ends inside an entry (truncated?)');
      const take = Math.min(need, this.chunk.length - this.offset);
      this.offset += take;
      need -= take;
    }
  }

  async expectZerosToEnd(): Promise<void> {
    while (await this.fill()) {
      const rest = this.chunk.subarray(this.offset);
      if (rest.some((b) => b !== 0)) throw tarRefused('data after the end-of-archive marker');
      this.offset = this.chunk.length;
    }
  }

  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      if (this.done) return false;
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      this.chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.offset = 0;
      this.total += this.chunk.length;
      if (this.total > this.maxBytes) throw tarRefused(`the archive is larger than ${this.maxBytes} bytes unpacked`);
    }
    return true;
  }
}
