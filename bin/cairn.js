#!/bin/sh
':' //; exec node --max-semi-space-size=2 "$0" "$@"
// The line above is the launcher: sh runs it (`:` does nothing, then node replaces the shell),
// Node reads it as a string and a comment. It caps V8's young generation at 3 × 2 MiB on the main
// thread (from a 48 MiB default), where signing and verifying a model of tens of thousands of files
// keep one object per file alive: 10–20 MiB less peak memory, no measurable cost in speed
// (docs/performance.md). `node bin/cairn.js` also works, without the cap.
import { main } from '../dist/src/cli/main.js';

// `cairn digest --manifest | head` closes stdout early: stop quietly instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv);
