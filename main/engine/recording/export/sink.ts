// Where an exporter writes: a file written beside its final name and renamed into place
// when complete, so a reader never sees half an export and a failed one leaves nothing.
// Output is buffered and written in blocks of about 1 MiB: one syscall for many frames.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

const FLUSH_AT = 1 << 20;

export class FileSink {
  private readonly tmp: string;
  private fd: number | null;
  private text = '';
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  /** bytes handed to the file so far */
  written = 0;

  constructor(readonly path: string) {
    this.tmp = `${path}.partial`;
    this.fd = openSync(this.tmp, 'w');
  }

  /** Appends text (UTF-8). */
  write(s: string): void {
    this.sealBlock();
    if (this.chunkBytes > 0) this.flushBytes();
    this.text += s;
    if (this.text.length >= FLUSH_AT) this.flushText();
  }

  /** Appends bytes (not copied: the caller must not change them afterwards). */
  bytes(b: Uint8Array): void {
    if (this.text) this.flushText();
    this.sealBlock();
    this.chunks.push(b);
    this.chunkBytes += b.length;
    if (this.chunkBytes >= FLUSH_AT) this.flushBytes();
  }

  private flushText(): void {
    if (!this.text) return;
    this.written += writeSync(this.fd!, this.text);
    this.text = '';
  }

  /**
   * A writable region of `size` bytes at the end of the output, to fill in place (it is not
   * zeroed: write every byte). Valid until the next call on the sink.
   */
  reserve(size: number): Uint8Array {
    if (this.text) this.flushText();
    if (!this.block || this.blockUsed + size > this.block.length) {
      this.sealBlock();
      this.block = Buffer.allocUnsafe(Math.max(FLUSH_AT, size));
      this.blockUsed = 0;
    }
    const region = this.block.subarray(this.blockUsed, this.blockUsed + size);
    this.blockUsed += size;
    return region;
  }

  private block: Buffer | null = null;
  private blockUsed = 0;

  /** Hands the filled part of the reserve block to the byte queue. */
  private sealBlock(): void {
    if (this.block && this.blockUsed > 0) {
      this.chunks.push(this.block.subarray(0, this.blockUsed));
      this.chunkBytes += this.blockUsed;
    }
    this.block = null;
    this.blockUsed = 0;
    if (this.chunkBytes >= FLUSH_AT) this.flushBytes();
  }

  private flushBytes(): void {
    if (this.chunkBytes === 0) return;
    const all = this.chunks.length === 1 ? Buffer.from(this.chunks[0]!.buffer, this.chunks[0]!.byteOffset, this.chunkBytes) : Buffer.concat(this.chunks, this.chunkBytes);
    let at = 0;
    while (at < all.length) at += writeSync(this.fd!, all, at, all.length - at);
    this.written += all.length;
    this.chunks = [];
    this.chunkBytes = 0;
  }

  /** Writes what is pending and moves the file to its name. */
  finish(): void {
    try {
      this.flushText();
      this.sealBlock();
      this.flushBytes();
    } finally {
      closeSync(this.fd!);
      this.fd = null;
    }
    renameSync(this.tmp, this.path);
    this.renamed = true;
  }

  private renamed = false;

  /** Gives up: the partial file is removed. Safe after finish() (then it does nothing). */
  abort(): void {
    if (this.renamed) return;
    try {
      if (this.fd !== null) closeSync(this.fd);
    } finally {
      this.fd = null;
      rmSync(this.tmp, { force: true });
    }
  }
}

/** Runs `write` with a sink for `path`: finished on success, removed on any failure. */
export function withSink<T>(path: string, write: (sink: FileSink) => T): T {
  const sink = new FileSink(path);
  try {
    const result = write(sink);
    sink.finish();
    return result;
  } catch (err) {
    sink.abort();
    throw err;
  }
}

/**
 * Merges per-connection streams into one, ordered by time: always the stream whose next
 * item is earliest (ties: the lower stream index). Items of one stream keep their order
 * even when their times do not increase. Holds one pending item per stream.
 */
export function* mergeByTime<T>(streams: Array<Iterator<T>>, timeOf: (item: T) => number): Generator<T> {
  interface Head {
    item: T;
    time: number;
    index: number;
  }
  const heap: Head[] = [];
  const less = (a: Head, b: Head) => a.time < b.time || (a.time === b.time && a.index < b.index);
  const push = (h: Head) => {
    heap.push(h);
    for (let i = heap.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): Head => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  streams.forEach((s, index) => {
    const n = s.next();
    if (!n.done) push({ item: n.value, time: timeOf(n.value), index });
  });
  while (heap.length > 0) {
    const h = pop();
    yield h.item;
    const n = streams[h.index]!.next();
    if (!n.done) push({ item: n.value, time: timeOf(n.value), index: h.index });
  }
}
