/**
 * Pull-style reading over a stream of chunks: exact reads for headers, zero-copy slices for
 * entry data. Every byte that arrives is shown to `observe` once (the diffID hash), so the
 * hash covers the whole uncompressed stream even when the reader skips data.
 */
export class ByteSource {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  private ended = false;

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly observe: (chunk: Buffer) => void = () => undefined,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Pull one more chunk; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done === true) {
      this.ended = true;
      return false;
    }
    const value = next.value;
    const chunk = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (chunk.length === 0) return true;
    this.observe(chunk);
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    return true;
  }

  /** Exactly `n` bytes, or fewer only when the stream ends first. */
  async read(n: number): Promise<Buffer> {
    while (this.buffered < n) {
      if (!(await this.fill())) break;
    }
    const want = Math.min(n, this.buffered);
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= want) {
      const out = first.subarray(this.head, this.head + want);
      this.consume(want);
      return out;
    }
    const out = Buffer.allocUnsafe(want);
    let filled = 0;
    while (filled < want) {
      const chunk = this.chunks[0] as Buffer;
      const take = Math.min(want - filled, chunk.length - this.head);
      chunk.copy(out, filled, this.head, this.head + take);
      filled += take;
      this.consume(take);
    }
    return out;
  }

  /** Up to `max` bytes without copying; an empty buffer only at the end of the stream. */
  async chunk(max: number): Promise<Buffer> {
    while (this.buffered === 0) {
      if (!(await this.fill())) return Buffer.alloc(0);
    }
    const first = this.chunks[0] as Buffer;
    const take = Math.min(max, first.length - this.head);
    const out = first.subarray(this.head, this.head + take);
    this.consume(take);
    return out;
  }

  /** Skip `n` bytes; resolves with how many could be skipped before the end. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const part = await this.chunk(left);
      if (part.length === 0) break;
      left -= part.length;
    }
    return n - left;
  }

  /** Read (and so hash) everything that is left, e.g. the zero blocks after the end marker. */
  async drain(): Promise<void> {
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    while (await this.fill()) {
      this.chunks = [];
      this.buffered = 0;
    }
  }

  private consume(n: number): void {
    this.buffered -= n;
    let left = n;
    while (left > 0) {
      const first = this.chunks[0] as Buffer;
      const available = first.length - this.head;
      if (left < available) {
        this.head += left;
        return;
      }
      left -= available;
      this.chunks.shift();
      this.head = 0;
    }
  }
}
