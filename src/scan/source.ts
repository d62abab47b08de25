import { readSync } from 'node:fs';

/** Random-access bytes: a whole file, a range of one (a stored zip entry), or a buffer. */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `position`; fewer only when the source ends (or the file shrank). */
  read(position: number, length: number): Buffer;
}

export function bufferSource(buf: Buffer): ByteSource {
  return {
    size: buf.length,
    read: (position, length) =>
      buf.subarray(Math.min(position, buf.length), Math.min(position + length, buf.length)),
  };
}

/** `length` bytes of an open file from `start`. Reads are synchronous and short. */
export function fileSource(fd: number, start: number, length: number): ByteSource {
  return {
    size: length,
    read(position, want) {
      const n = Math.max(0, Math.min(want, length - position));
      const buf = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, start + position + got);
        if (r === 0) break;
        got += r;
      }
      return got === n ? buf : buf.subarray(0, got);
    },
  };
}

export function sliceSource(source: ByteSource, start: number, length: number): ByteSource {
  const size = Math.max(0, Math.min(length, source.size - start));
  return {
    size,
    read: (position, want) =>
      source.read(start + position, Math.max(0, Math.min(want, size - position))),
  };
}

/** Bytes one file may still read (shared by every reader of that file). */
export interface ReadBudget {
  remaining: number;
}

/** Why a cursor stopped: the input ended, or reading on would pass the file's byte budget. */
export type CursorStop =
  | { readonly kind: 'truncated'; readonly offset: number; readonly need: number }
  | { readonly kind: 'budget'; readonly offset: number };

/** Thrown by `Cursor` only, and caught by the parsers that use one. */
export class CursorStopped extends Error {
  constructor(readonly stop: CursorStop) {
    super(stop.kind);
  }
}

const WINDOW = 64 * 1024;

/**
 * Sequential reader over a ByteSource with a read-ahead window. Lengths taken from the input are
 * checked against what is left before anything is read or allocated; skipped bytes are not read.
 */
export class Cursor {
  pos = 0;
  private win: Buffer = Buffer.alloc(0);
  private winStart = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly budget: ReadBudget,
  ) {}

  get size(): number {
    return this.source.size;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.source.size;
  }

  /** Throws unless `n` more bytes exist. */
  need(n: number): void {
    if (!(n >= 0) || n > this.source.size - this.pos) {
      throw new CursorStopped({ kind: 'truncated', offset: this.pos, need: n });
    }
  }

  private charge(n: number): void {
    if (n > this.budget.remaining) {
      throw new CursorStopped({ kind: 'budget', offset: this.pos });
    }
    this.budget.remaining -= n;
  }

  private fill(): void {
    const want = Math.min(WINDOW, this.source.size - this.pos);
    this.charge(want);
    this.win = this.source.read(this.pos, want);
    this.winStart = this.pos;
    if (this.win.length < want) {
      // The file shrank under us: treat as the end of input.
      throw new CursorStopped({ kind: 'truncated', offset: this.pos + this.win.length, need: 1 });
    }
  }

  /** The next byte without consuming it, or -1 at the end. */
  peek(): number {
    if (this.pos >= this.source.size) return -1;
    if (this.pos < this.winStart || this.pos >= this.winStart + this.win.length) this.fill();
    return this.win[this.pos - this.winStart]!;
  }

  u8(): number {
    this.need(1);
    const b = this.peek();
    this.pos++;
    return b;
  }

  /** `n` bytes (the caller bounds `n`; `need` has checked it against the input). */
  bytes(n: number): Buffer {
    this.need(n);
    if (n === 0) return Buffer.alloc(0);
    const off = this.pos - this.winStart;
    if (this.pos >= this.winStart && off + n <= this.win.length) {
      this.pos += n;
      return this.win.subarray(off, off + n);
    }
    if (n <= WINDOW / 2) {
      this.fill();
      this.pos += n;
      return this.win.subarray(0, n);
    }
    this.charge(n);
    const out = this.source.read(this.pos, n);
    if (out.length < n) {
      throw new CursorStopped({ kind: 'truncated', offset: this.pos + out.length, need: n });
    }
    this.pos += n;
    return out;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u16(): number {
    return this.bytes(2).readUInt16LE(0);
  }

  u32(): number {
    return this.bytes(4).readUInt32LE(0);
  }

  i32(): number {
    return this.bytes(4).readInt32LE(0);
  }

  /** A u64 as a number, or Infinity when it is above 2^53 (no real length or count is). */
  u64(): number {
    const v = this.bytes(8).readBigUInt64LE(0);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  }

  /**
   * Consumes a line of any length up to the next `\n` and returns its first `keep` bytes, its
   * length (without the `\n`) and its last byte (-1 for an empty line). Nothing else is kept.
   */
  lineHead(keep: number): { head: Buffer; length: number; last: number } {
    const start = this.pos;
    const parts: Buffer[] = [];
    let kept = 0;
    let length = 0;
    let last = -1;
    for (;;) {
      if (this.pos >= this.source.size) {
        this.pos = start;
        throw new CursorStopped({ kind: 'truncated', offset: start, need: length + 1 });
      }
      this.peek();
      const off = this.pos - this.winStart;
      const nl = this.win.indexOf(0x0a, off);
      const end = nl === -1 ? this.win.length : nl;
      if (end > off) last = this.win[end - 1]!;
      length += end - off;
      if (kept < keep) {
        const take = this.win.subarray(off, Math.min(end, off + keep - kept));
        parts.push(take);
        kept += take.length;
      }
      this.pos = this.winStart + end;
      if (nl !== -1) {
        this.pos++;
        return { head: parts.length === 1 ? parts[0]! : Buffer.concat(parts), length, last };
      }
    }
  }

  /**
   * Bytes up to (not including) the next `\n`, which is consumed. Returns undefined when the line
   * is longer than `max` (the cursor is then left where the line started).
   */
  line(max: number): Buffer | undefined {
    const start = this.pos;
    const parts: Buffer[] = [];
    let len = 0;
    for (;;) {
      if (this.pos >= this.source.size) {
        this.pos = start;
        throw new CursorStopped({ kind: 'truncated', offset: start, need: len + 1 });
      }
      this.peek();
      const off = this.pos - this.winStart;
      const nl = this.win.indexOf(0x0a, off);
      const end = nl === -1 ? this.win.length : nl;
      len += end - off;
      if (len > max) {
        this.pos = start;
        return undefined;
      }
      parts.push(this.win.subarray(off, end));
      this.pos = this.winStart + end;
      if (nl !== -1) {
        this.pos++;
        return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      }
    }
  }
}
