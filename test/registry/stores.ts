import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  openFilesystemBlobStore,
  openSqliteStore,
  type BlobStore,
  type MetadataStore,
} from '../../src/store/index.js';

export interface TestStores {
  readonly metadata: MetadataStore;
  readonly blobs: BlobStore;
}

/** Real SQLite and filesystem stores under `dir`, closed after the test. */
export async function openTestStores(t: TestContext, dir: string): Promise<TestStores> {
  const metadata = openSqliteStore({ path: join(dir, 'cairn.sqlite') });
  await metadata.migrate();
  const blobs = openFilesystemBlobStore({ root: join(dir, 'blobs') });
  t.after(async () => {
    await blobs.close();
    await metadata.close();
  });
  return { metadata, blobs };
}
