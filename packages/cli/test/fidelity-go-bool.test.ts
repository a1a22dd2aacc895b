import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags, type FlagSpec } from '../src/flags';
import { ctrOn, type CtrResult } from './local-ctr';

// pflag's bool flags, --mount's and the context's `key=bool` options all parse with Go's strconv.ParseBool (goParseBool).

test('a bool flag takes T and False as pflag does, and refuses yes in its words', () => {
  const specs: FlagSpec[] = [{ name: 'rm', type: 'bool', description: '' }];
  expect(parseFlags(['--rm=T'], specs).flags.rm).toBe(true);
  expect(parseFlags(['--rm=False'], specs).flags.rm).toBe(false);
  expect(() => parseFlags(['--rm=yes'], specs)).toThrow('invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax');
});

describe("context create's skip-tls-verify", () => {
  let work: string;
  let ctr: (...args: string[]) => Promise<CtrResult>;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ctr-fidelity-bool-'));
    const on = ctrOn(join(work, 'root'), join(work, 'run'));
    ctr = (...args) => on.runWith({ env: { ...process.env, CTR_CONFIG: join(work, 'config') } }, ...args);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('refuses an empty value in docker\'s words', async () => {
    expect(await ctr('context', 'create', 'b1', '--docker', 'host=unix:///x.sock,skip-tls-verify=')).toMatchObject({
      code: 1,
      stderr: 'unable to create docker endpoint config: skip-tls-verify: parsing "": invalid syntax\n',
    });
  });

  test('takes T as true', async () => {
    expect(await ctr('context', 'create', 'b2', '--docker', 'host=unix:///x.sock,skip-tls-verify=T')).toMatchObject({ code: 0 });
    expect((await ctr('context', 'inspect', '--format', '{{.Endpoints.docker.SkipTLSVerify}}', 'b2')).stdout).toBe('true\n');
  });
});
