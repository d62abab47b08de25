import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireService } from './services.js';

test('a missing service fails the test under CI=true instead of skipping it', (t) => {
  const saved = process.env['CI'];
  process.env['CI'] = 'true';
  try {
    assert.throws(
      () => requireService(t, 'PostgreSQL', 'apt-get install postgresql'),
      /CI must have it/,
    );
  } finally {
    if (saved === undefined) delete process.env['CI'];
    else process.env['CI'] = saved;
  }
});
