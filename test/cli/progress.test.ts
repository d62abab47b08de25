// The terminal progress bars of hashing and transfers, rendered into a fake terminal: figures in
// MiB (cli-progress fills `{total}`/`{value}` itself, in bytes, over any payload of that name),
// no unfilled `{placeholders}`, a total that follows the walk, silence off a terminal.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { progressReporter, type Io } from '../../src/cli/output.js';
import { transferProgress } from '../../src/cli/transfer.js';

const MiB = 1024 * 1024;

/** An Io whose stderr claims to be a terminal and keeps what is written, escapes removed. */
function fakeTerminal(isTTY = true): { io: Io; text: () => string } {
  const stderr = Object.assign(new PassThrough(), { isTTY, columns: 160 });
  const chunks: Buffer[] = [];
  stderr.on('data', (c: Buffer) => chunks.push(c));
  const io: Io = { stdout: new PassThrough(), stderr, env: {}, cwd: '/' };
  return {
    io,
    text: () =>
      Buffer.concat(chunks)
        .toString('utf8')
        // eslint-disable-next-line no-control-regex
        .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '\n'),
  };
}

/** The status lines drawn, in order. */
function frames(text: string): string[] {
  return text
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l.includes('%'));
}

void test('the hashing bar shows MiB and files from its first frame to its last', () => {
  const term = fakeTerminal();
  const reporter = progressReporter(term.io, true, 'verifying');
  const progress = (bytesDone: number, bytesTotal: number, filesDone: number, filesTotal: number) =>
    reporter.onProgress?.({ bytesDone, bytesTotal, filesDone, filesTotal });
  progress(0, 300 * MiB, 0, 3); // the walk has found 300 MiB so far
  progress(100 * MiB, 1024 * MiB, 1, 4); // … and then more
  progress(1024 * MiB, 1024 * MiB, 4, 4);
  reporter.stop();
  const drawn = frames(term.text());
  assert.ok(drawn.length >= 2, term.text());
  for (const line of drawn) assert.doesNotMatch(line, /\{\w+\}/, `unfilled placeholder: ${line}`);
  assert.match(drawn[0]!, /verifying .* 0% \| 0\/300 MiB \| 0\/3 files/);
  assert.match(drawn[drawn.length - 1]!, /100% \| 1024\/1024 MiB \| 4\/4 files/);
});

void test('the hashing bar measures the percentage against the total the walk has reached', () => {
  // Stopped mid-way, the last frame shows the state then: 100 of 1024 MiB, not 100 of 300.
  const term = fakeTerminal();
  const reporter = progressReporter(term.io, true, 'hashing');
  reporter.onProgress?.({ bytesDone: 0, bytesTotal: 300 * MiB, filesDone: 0, filesTotal: 3 });
  reporter.onProgress?.({
    bytesDone: 100 * MiB,
    bytesTotal: 1024 * MiB,
    filesDone: 1,
    filesTotal: 4,
  });
  reporter.stop();
  const drawn = frames(term.text());
  assert.match(drawn[drawn.length - 1]!, /hashing .* 9% \| 100\/1024 MiB \| 1\/4 files/);
});

void test('the hashing bar stays away from small models, pipes and --json', () => {
  for (const [isTTY, enabled, total] of [
    [true, true, 100 * MiB], // under 256 MiB: done before a bar would help
    [false, true, 1024 * MiB], // stderr is not a terminal
    [true, false, 1024 * MiB], // --json
  ] as const) {
    const term = fakeTerminal(isTTY);
    const reporter = progressReporter(term.io, enabled, 'hashing');
    reporter.onProgress?.({ bytesDone: 0, bytesTotal: total, filesDone: 0, filesTotal: 2 });
    reporter.stop();
    assert.equal(term.text(), '', `isTTY ${isTTY}, enabled ${enabled}, ${total} bytes`);
  }
});

void test('the transfer bar shows MiB, not bytes labelled MiB', () => {
  const term = fakeTerminal();
  const bar = transferProgress(term.io, true, 'pushing', 64 * MiB);
  bar.add(16 * MiB);
  bar.add(48 * MiB);
  bar.stop();
  const drawn = frames(term.text());
  assert.ok(drawn.length >= 1, term.text());
  for (const line of drawn) assert.doesNotMatch(line, /\{\w+\}/, `unfilled placeholder: ${line}`);
  assert.match(drawn[0]!, /pushing .* 0% \| 0\/64 MiB/);
  assert.match(drawn[drawn.length - 1]!, /100% \| 64\/64 MiB/);
});
