import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Runtime } from '@ctr/runtime';
import { testBed, type TestBed } from './helpers';

/**
 * conmon's first process writes the monitor's pid file (`-P`) after the fork that makes the
 * monitor, while the monitor runs `runc create` and answers on the sync pipe: on a loaded
 * machine the answer can come first. A look at the container meanwhile must not take the
 * missing (or last run's) monitor for a dead one. Here conmon's pid file comes a while late.
 */
let bed: TestBed;
let late: Runtime;
beforeAll(async () => {
  bed = await testBed();
  const conmon = path.join(bed.base, 'conmon-late');
  await fs.writeFile(
    conmon,
    `#!/bin/sh
# conmon, its pid file written 2 s after it would be (as by a first process starved of CPU)
pidfile= ; n=$#
while [ $n -gt 0 ]; do
  if [ "$1" = -P ]; then pidfile=$2; set -- "$@" -P "$2.late"; shift 2; n=$((n - 2)); else set -- "$@" "$1"; shift; n=$((n - 1)); fi
done
conmon "$@" || exit
[ -z "$pidfile" ] || (sleep 2; mv "$pidfile.late" "$pidfile") 3>&- </dev/null >/dev/null 2>&1 &
`,
    { mode: 0o755 },
  );
  late = new Runtime({ root: path.join(bed.base, 'root'), runRoot: path.join(bed.base, 'run'), cgroupParent: bed.cgroupParent, conmonPath: conmon });
});
afterAll(async () => {
  await bed.cleanup();
});

test('a container runs, to a look right after its start, before its monitor has written its pid', async () => {
  await late.create('first', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] } });
  await late.start('first');
  expect(await late.state('first')).toMatchObject({ status: 'running', running: true });
});

test("a restarted container is not killed by a look that finds its last run's monitor dead", async () => {
  await bed.runtime.create('again', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] } });
  await bed.runtime.start('again');
  await bed.runtime.stop('again', { timeout: 0 });
  const starting = late.start('again');
  let started = false;
  void starting.finally(() => (started = true));
  // Looked at all the while it starts, its last monitor's pid dead beside its new process.
  while (!started) {
    await late.state('again');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await starting;
  expect(await late.state('again')).toMatchObject({ status: 'running', running: true });
});
