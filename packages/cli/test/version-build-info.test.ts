/**
 * `ctr version` and `GET /version` carry the build's Git commit and build time, as docker's
 * binaries carry theirs: what `npm run build` recorded (packages/engine/dist/build-info.json),
 * the time as docker's CLI prints it (reformatDate: time.ANSIC of the RFC 3339 time).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, json, request } from '../../api/test/fixture';
import { goAnsicTime } from '../src/format';
import { localCtr, type LocalCtr } from './local-ctr';
import { startTestDaemon, type TestDaemon } from './remote-fixture';

/** What the build under test recorded. */
const build = JSON.parse(readFileSync(join(__dirname, '..', '..', 'engine', 'dist', 'build-info.json'), 'utf8')) as { GitCommit: string; BuildTime: string };

describe("docker's reformatDate of a build time", () => {
  test('an RFC 3339 time in UTC prints as time.ANSIC', () => {
    expect(goAnsicTime('2025-05-30T12:07:35.000000000+00:00')).toBe('Fri May 30 12:07:35 2025');
  });

  test('a day of one digit is padded with a space, as ANSIC pads it', () => {
    expect(goAnsicTime('2025-05-02T09:00:00Z')).toBe('Fri May  2 09:00:00 2025');
  });

  test("the clock is the offset's it was written with, as Go's Parse keeps it", () => {
    expect(goAnsicTime('2025-05-30T23:30:00-05:00')).toBe('Fri May 30 23:30:00 2025');
  });

  test('anything that is not an RFC 3339 time is printed as it is', () => {
    expect([goAnsicTime(''), goAnsicTime('yesterday'), goAnsicTime('2025-13-45T99:00:00Z')]).toEqual(['', 'yesterday', '2025-13-45T99:00:00Z']);
  });
});

describe('the build recorded by npm run build', () => {
  test('is a short commit (in a git checkout) and an RFC 3339 time', () => {
    expect(build.GitCommit).toMatch(/^([0-9a-f]{7,})?$/);
    expect(new Date(build.BuildTime).toISOString()).toBe(build.BuildTime);
  });
});

describe('ctr version (the built ctr, its engine in-process)', () => {
  let ctr: LocalCtr;
  beforeAll(async () => {
    ctr = await localCtr('version-build-info');
  });
  afterAll(async () => {
    await ctr?.cleanup();
  });

  test("the client and the engine show the build's commit and its time as docker prints it", async () => {
    const { code, stdout } = await ctr.run('version');
    const built = goAnsicTime(build.BuildTime);
    expect(code).toBe(0);
    expect(stdout).toContain(`\n Git commit:        ${build.GitCommit}\n Built:             ${built}\n OS/Arch:`);
    expect(stdout).toContain(`\n  Git commit:       ${build.GitCommit}\n  Built:            ${built}\n  OS/Arch:`);
  });

  test('{{json .}} has the reformatted time in the client and the engine component, the RFC 3339 one in the server', async () => {
    const { stdout } = await ctr.run('version', '--format', '{{json .}}');
    const { Client, Server } = JSON.parse(stdout) as { Client: Record<string, string>; Server: { BuildTime: string; GitCommit: string; Components: { Name: string; Details: Record<string, string> }[] } };
    const built = goAnsicTime(build.BuildTime);
    expect([Client.GitCommit, Client.BuildTime]).toEqual([build.GitCommit, built]);
    expect([Server.GitCommit, Server.BuildTime]).toEqual([build.GitCommit, build.BuildTime]);
    expect(Server.Components.find((c) => c.Name === 'Engine')?.Details.BuildTime).toBe(built);
  });

  test("info's ClientInfo carries the client's build", async () => {
    const { stdout } = await ctr.run('info', '--format', '{{.ClientInfo.GitCommit}}|{{.ClientInfo.BuildTime}}');
    expect(stdout).toBe(`${build.GitCommit}|${goAnsicTime(build.BuildTime)}\n`);
  });
});

describe('GET /version through ctrd', () => {
  let t: TestDaemon;
  beforeAll(async () => {
    t = await startTestDaemon();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('carries GitCommit and the RFC 3339 BuildTime, at the top and in the engine component', async () => {
    const body = json(await request(t.socket, 'GET', '/v1.47/version')) as { GitCommit: string; BuildTime: string; Components: { Name: string; Details: Record<string, string> }[] };
    const engine = body.Components.find((c) => c.Name === 'Engine');
    expect([body.GitCommit, body.BuildTime]).toEqual([build.GitCommit, build.BuildTime]);
    expect([engine?.Details.GitCommit, engine?.Details.BuildTime]).toEqual([build.GitCommit, build.BuildTime]);
  });

  test('docker version prints the engine\'s Git commit and Built as ctr prints them', async () => {
    const { stdout } = await docker(t.env, ['version']);
    expect(stdout).toContain(`\n  Git commit:       ${build.GitCommit}\n  Built:            ${goAnsicTime(build.BuildTime)}\n`);
  });
});
