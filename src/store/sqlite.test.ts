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

// The same suite with commits on the caller's thread (the fallback when the writer thread cannot run).
storeConformance('sqlite, inline writer', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-store-'));
  const store = new SqliteStore({ file: path.join(dir, 'state.db'), leaseCheckIntervalMs: 100, writerThread: false });
  return { store, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});
