import { spawn } from 'node:child_process';
import { procStat, START_TIME } from '../src/proc-stat';

test('the fields of a process whose name holds spaces and parentheses are read after its name', async () => {
  // perl sets its command name (comm) from $0.
  const child = spawn('perl', ['-e', '$0 = "x) (y z"; print "named\\n"; sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const fields = procStat(child.pid as number);
    expect(fields?.[1]).toBe(String(process.pid));
    expect(Number(fields?.[START_TIME])).toBeGreaterThan(0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('a process that is not there has no fields', () => {
  expect(procStat(2 ** 22 + 1)).toBeUndefined();
});
