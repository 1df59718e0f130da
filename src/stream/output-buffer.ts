/** Keeps the newest `capacity` bytes written to it; older bytes are dropped. */
export class OutputRing {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(readonly capacity: number = 256 * 1024) {}

  push(data: Buffer): void {
    if (data.length >= this.capacity) {
      this.dropped += this.size + data.length - this.capacity;
      this.chunks = [Buffer.from(data.subarray(data.length - this.capacity))];
      this.size = this.capacity;
      return;
    }
    this.chunks.push(data);
    this.size += data.length;
    while (this.size > this.capacity) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.capacity;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  /** Returns everything held and empties the ring. */
  drain(): Buffer {
    const all = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    return all;
  }

  get length(): number {
    return this.size;
  }

  /** Bytes lost to overflow since creation. */
  get droppedBytes(): number {
    return this.dropped;
  }
}
