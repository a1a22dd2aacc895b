import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL, COMPOSE_VERSION } from '../src/labels';
import { configHash, containerOptions, extraNetworks, networksByPriority } from '../src/convert';
import { project, service } from './lifecycle-project';

describe('containerOptions', () => {
  it('names the container <project>-<service>-<n> and labels it as compose does', () => {
    const web = service('web', { image: 'busybox', labels: { team: 'a' }, depends_on: { db: { condition: 'service_healthy', required: true, restart: true } } });
    const p = project('app', [web, service('db', { image: 'busybox' })]);
    const options = containerOptions(p, web, { number: 2 });
    expect(options.name).toBe('app-web-2');
    expect(options.image).toBe('busybox');
    expect(options.labels).toEqual({
      team: 'a',
      [LABEL.project]: 'app',
      [LABEL.service]: 'web',
      [LABEL.containerNumber]: '2',
      [LABEL.oneoff]: 'False',
      [LABEL.configHash]: configHash(p, web),
      [LABEL.workingDir]: '/tmp/app',
      [LABEL.configFiles]: '/tmp/app/compose.yaml',
      [LABEL.dependsOn]: 'db:service_healthy:true',
      [LABEL.version]: COMPOSE_VERSION,
    });
  });

  it('uses container_name, and the project-named image of a built service', () => {
    const web = service('web', { build: { context: '/x', args: {}, labels: {}, tags: [], cache_from: [], extra_hosts: [], secrets: [], platforms: [] }, container_name: 'front' });
    const options = containerOptions(project('app', [web]), web, { number: 1 });
    expect(options.name).toBe('front');
    expect(options.image).toBe('app-web');
  });

  it('joins the first network with the container name, service name and aliases', () => {
    const web = service('web', { image: 'busybox', networks: { back: { aliases: ['api'], ipv4_address: '10.9.0.5' }, front: { priority: 10 } } });
    const p = project('app', [web], {
      networks: { back: { name: 'app_back', driver_opts: {}, labels: {} }, front: { name: 'app_front', driver_opts: {}, labels: {} } },
    });
    expect(networksByPriority(web)).toEqual(['front', 'back']);
    const options = containerOptions(p, web, { number: 1 });
    expect(options.network).toBe('app_front');
    expect(options.networkAliases).toEqual(['app-web-1', 'web']);
    expect(extraNetworks(p, web, { number: 1 })).toEqual([{ network: 'app_back', aliases: ['app-web-1', 'web', 'api'], ip: '10.9.0.5' }]);
  });

  it('gives a one-off container its name alone as alias', () => {
    const web = service('web', { image: 'busybox' });
    const options = containerOptions(project('app', [web]), web, { number: 1, oneoff: true, name: 'app-web-run-0123456789ab' });
    expect(options.networkAliases).toEqual(['app-web-run-0123456789ab']);
    expect(options.labels?.[LABEL.oneoff]).toBe('True');
  });

  it('turns network_mode service:x into the container of x', () => {
    const db = service('db', { image: 'busybox' });
    const web = service('web', { image: 'busybox', network_mode: 'service:db' });
    expect(containerOptions(project('app', [db, web]), web, { number: 1 }).network).toBe('container:app-db-1');
  });

  it('converts ports, environment, healthcheck durations, restart and limits', () => {
    const web = service('web', {
      image: 'busybox',
      environment: { A: '1', UNSET: null },
      ports: [
        { target: 80, published: '8080', protocol: 'tcp', mode: 'ingress' },
        { target: 53, host_ip: '127.0.0.1', protocol: 'udp', mode: 'ingress' },
        { target: 81, published: '9000', host_ip: '::1', protocol: 'tcp', mode: 'ingress' },
      ],
      healthcheck: { test: ['CMD-SHELL', 'true'], interval: '1m30s', timeout: '500ms', retries: 3 },
      stop_grace_period: '1m',
      deploy: { restart_policy: { condition: 'on-failure', max_attempts: 3 }, resources: { limits: { memory: '64m', cpus: '0.5', pids: 20 } } },
    });
    const options = containerOptions(project('app', [web]), web, { number: 1 });
    expect(options.env).toEqual(['A=1']);
    expect(options.publish).toEqual(['8080:80/tcp', '127.0.0.1::53/udp', '[::1]:9000:81/tcp']);
    expect(options.healthcheck).toEqual({ Test: ['CMD-SHELL', 'true'], Interval: 90e9, Timeout: 500e6, Retries: 3 });
    expect(options.stopTimeout).toBe(60);
    expect(options.restart).toBe('on-failure:3');
    expect(options).toMatchObject({ memory: '64m', cpus: '0.5', pidsLimit: 20 });
  });

  it('mounts binds as -v, project volumes by engine name, tmpfs and file secrets as read-only binds', () => {
    const web = service('web', {
      image: 'busybox',
      volumes: [
        { type: 'bind', source: '/srv/code', target: '/code', read_only: true },
        { type: 'volume', source: 'data', target: '/data' },
        { type: 'tmpfs', target: '/scratch', tmpfs: { size: '1m' } },
      ],
      secrets: [{ source: 'token' }],
    });
    const p = project('app', [web], { volumes: { data: { name: 'app_data', driver_opts: {}, labels: {} } }, secrets: { token: { name: 'app_token', file: '/srv/token' } } });
    const options = containerOptions(p, web, { number: 1 });
    expect(options.volumes).toEqual(['/srv/code:/code:ro']);
    expect(options.mountSpecs).toEqual([
      { Type: 'volume', Source: 'app_data', Target: '/data' },
      { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1024 * 1024 } },
      { Type: 'bind', Source: '/srv/token', Target: '/run/secrets/token', ReadOnly: true },
    ]);
  });
});

describe('containerOptions: security_opt, as compose parses it', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctr-compose-security-opt-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const optionsOf = (securityOpt: string[]): ReturnType<typeof containerOptions> => {
    const web = service('web', { image: 'busybox', security_opt: securityOpt });
    return containerOptions(project('app', [web], { working_dir: dir }), web, { number: 1 });
  };

  it("reads a seccomp profile file relative to the project's directory and sends its JSON compacted", () => {
    writeFileSync(join(dir, 'profile.json'), '{ "defaultAction" : "SCMP_ACT_ALLOW",\n  "syscalls": [ ] }\n');
    expect(optionsOf(['seccomp=profile.json']).seccomp).toEqual({ profile: '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}' });
  });

  it('takes key:value as key=value', () => {
    expect(optionsOf(['seccomp:unconfined', 'no-new-privileges:true'])).toMatchObject({ seccomp: 'unconfined', noNewPrivileges: true });
  });

  it("refuses an option with no value in compose's words", () => {
    expect(() => optionsOf(['label'])).toThrow('Invalid security-opt: "label"');
  });

  it("refuses a seccomp profile file that cannot be read in compose's words", () => {
    expect(() => optionsOf(['seccomp=missing.json'])).toThrow(`opening seccomp profile (missing.json) failed: open ${join(dir, 'missing.json')}: no such file or directory`);
  });

  it("refuses a seccomp profile file that is not JSON in compose's words", () => {
    writeFileSync(join(dir, 'broken.json'), '{"defaultAction": }');
    expect(() => optionsOf(['seccomp=broken.json'])).toThrow("compacting json for seccomp profile (broken.json) failed: invalid character '}' looking for beginning of value");
  });

  it("refuses an option dockerd does not know in dockerd's words", () => {
    expect(() => optionsOf(['foo=bar'])).toThrow('invalid --security-opt 2: "foo=bar"');
  });

  it('takes systempaths=unconfined for itself: no masked or read-only paths, and the option not sent', () => {
    const options = optionsOf(['systempaths=unconfined', 'no-new-privileges']);
    expect(options).toMatchObject({ maskedPaths: [], readonlyPaths: [], noNewPrivileges: true });
    expect(options.securityOpt).toEqual(['no-new-privileges']);
  });
});

describe('containerOptions: platform', () => {
  it("creates the container for the service's platform", () => {
    const web = service('web', { image: 'busybox', platform: 'linux/arm64' });
    expect(containerOptions(project('app', [web]), web, { number: 1 }).imagePlatform).toEqual({ os: 'linux', architecture: 'arm64' });
  });

  it('takes DOCKER_DEFAULT_PLATFORM from the project environment for a service without platform:', () => {
    const web = service('web', { image: 'busybox' });
    const p = project('app', [web], { environment: { DOCKER_DEFAULT_PLATFORM: 'linux/arm/v7' } });
    expect(containerOptions(p, web, { number: 1 }).imagePlatform).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
  });

  it('leaves the platform to the engine when neither is set', () => {
    const web = service('web', { image: 'busybox' });
    expect(containerOptions(project('app', [web]), web, { number: 1 }).imagePlatform).toBeUndefined();
  });
});

describe('configHash', () => {
  it('ignores the replica count, build and dependencies, and key order', () => {
    const a = service('web', { image: 'busybox', environment: { A: '1', B: '2' } });
    const b = service('web', { image: 'busybox', environment: { B: '2', A: '1' }, scale: 3, depends_on: { db: { condition: 'service_started', required: true, restart: false } } });
    expect(configHash(project('app', [a]), a)).toBe(configHash(project('app', [b]), b));
  });

  it('changes with the command', () => {
    const a = service('web', { image: 'busybox', command: ['sleep', '1'] });
    const b = service('web', { image: 'busybox', command: ['sleep', '2'] });
    expect(configHash(project('app', [a]), a)).not.toBe(configHash(project('app', [b]), b));
  });
});
