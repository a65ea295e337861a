import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storeConformance } from './conformance';
import { SqliteStore } from './sqlite';

storeConformance('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-store-'));
  const store = new SqliteStore({ file: path.join(dir, 'state.db'), leaseCheckIntervalMs: 100 });
  return { store, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});
