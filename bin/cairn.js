#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// `cairn digest --manifest | head` closes stdout early: stop quietly instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv);
