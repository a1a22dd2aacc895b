/**
 * The build's record of itself (`npm run build` writes it; `version` shows it): its fields
 * as written, and, for a checkout never built or a file that is not one, empty fields
 * rather than a failure, as a Go binary built without -ldflags shows them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBuildInfo } from '../src/host-info';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-build-info-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a build-info file gives its commit and time as written', async () => {
  const file = join(dir, 'written.json');
  await writeFile(file, JSON.stringify({ GitCommit: 'a549036', BuildTime: '2025-05-30T12:07:35.123Z' }));
  expect(readBuildInfo(file)).toEqual({ GitCommit: 'a549036', BuildTime: '2025-05-30T12:07:35.123Z' });
});

test('no build-info file (a fresh clone) gives empty fields', () => {
  expect(readBuildInfo(join(dir, 'missing.json'))).toEqual({ GitCommit: '', BuildTime: '' });
});

test('a build-info file that is not JSON, or holds other types, gives empty fields', async () => {
  const garbled = join(dir, 'garbled.json');
  const typed = join(dir, 'typed.json');
  await writeFile(garbled, '{not json');
  await writeFile(typed, JSON.stringify({ GitCommit: 7, BuildTime: null }));
  expect([readBuildInfo(garbled), readBuildInfo(typed)]).toEqual([
    { GitCommit: '', BuildTime: '' },
    { GitCommit: '', BuildTime: '' },
  ]);
});
