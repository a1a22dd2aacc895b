import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine, type TestEngine } from '../../engine/test/fixture';
import * as lifecycle from '../src/lifecycle';
import { project, service } from './lifecycle-project';

/** `up` and `create` hand on the output of the builds they make, line by line, by service. */
describe('build output during up', () => {
  let t: TestEngine;
  let context: string;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-compose-gaps-build-'));
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo built by compose\n');
  }, 60_000);
  afterAll(async () => {
    await t?.cleanup();
    await rm(context, { recursive: true, force: true });
  });

  it('reaches onBuildOutput: the steps (the labels compose adds last) and what RUN prints, for the service built', async () => {
    const p = project('buildout', [service('web', { build: { context, args: {}, labels: {}, tags: [], cache_from: [], extra_hosts: [], secrets: [], platforms: [] }, command: ['true'] })]);
    const lines: string[] = [];
    try {
      await lifecycle.up(t.engine, p, { noStart: true, onBuildOutput: (name, line) => lines.push(`${name}: ${line}`) });
      expect(lines).toContain('web: Step 1/5 : FROM busybox');
      expect(lines).toContain('web: built by compose');
    } finally {
      await lifecycle.down(t.engine, p, { images: 'local' });
    }
  }, 120_000);
});
