import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLines } from '../../../test/support/processes';
import { ctrOn, eventually, importBusybox, processesNaming } from './local-ctr';

/** The health check timer a daemonless start leaves behind ends with its container, and leaves nothing behind. */
test("a removed container's health timer ends at its next wake without making the container's root again", async () => {
  const root = await mkdtemp(join(tmpdir(), 'ctr-cli-health-end-'));
  const runRoot = await mkdtemp(join(tmpdir(), 'ctr-cli-health-end-run-'));
  const ctr = ctrOn(root, runRoot);
  try {
    await importBusybox(ctr);
    const run = await ctr.run('run', '-d', '--pull', 'never', '--network', 'none', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '60');
    const id = run.stdout.trim();
    expect(run.code).toBe(0);
    await ctr.run('rm', '-f', id);
    // What still works on the root is not the timer's next wake.
    expect(await eventually(async () => processesNaming([id]).length === 0)).toBe(true);
    await rm(root, { recursive: true, force: true, maxRetries: 5 });
    // Several of the timer's intervals.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const timers = commandLines().filter((line) => line.includes('ctr-healthcheck') && line.includes(id));
    expect({ rootMadeAgain: existsSync(root), timers }).toEqual({ rootMadeAgain: false, timers: [] });
  } finally {
    await rm(root, { recursive: true, force: true, maxRetries: 5 });
    await rm(runRoot, { recursive: true, force: true, maxRetries: 5 });
  }
}, 60_000);
