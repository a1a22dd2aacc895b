import { createOptionsFromBody, updateOptionsFromBody } from '@ctr/api';

test('Config and HostConfig map to the engine create options', () => {
  const options = createOptionsFromBody(
    {
      Image: 'busybox',
      Cmd: ['sh', '-c', 'true'],
      Entrypoint: null,
      Env: ['A=1'],
      WorkingDir: '/w',
      User: '1000:1000',
      Tty: true,
      OpenStdin: true,
      Labels: { a: 'b' },
      Volumes: { '/anon': {} },
      ExposedPorts: { '80/tcp': {} },
      HostConfig: {
        Binds: ['/host:/ctr:ro'],
        NetworkMode: 'none',
        PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
        AutoRemove: false,
        Memory: 64 * 1024 * 1024,
        NanoCpus: 1_500_000_000,
        PidsLimit: 0,
        Mounts: [{ Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 1024 } }, { Type: 'volume', Source: 'data', Target: '/data', ReadOnly: true }],
        Tmpfs: { '/scratch': 'size=64m' },
        CapDrop: ['NET_RAW'],
        SecurityOpt: ['no-new-privileges:true', 'seccomp=unconfined'],
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      },
    },
    'named',
  );
  expect(options).toEqual({
    image: 'busybox',
    pull: 'never',
    name: 'named',
    cmd: ['sh', '-c', 'true'],
    env: ['A=1'],
    workingDir: '/w',
    user: '1000:1000',
    tty: true,
    openStdin: true,
    labels: { a: 'b' },
    volumes: ['/host:/ctr:ro', '/anon'],
    configVolumes: ['/anon'],
    tmpfs: ['/scratch:size=64m'],
    mountSpecs: [{ Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 1024 } }, { Type: 'volume', Source: 'data', Target: '/data', ReadOnly: true }],
    network: 'none',
    publish: ['127.0.0.1:8080:80/tcp'],
    expose: ['80/tcp'],
    restart: 'on-failure:3',
    autoRemove: false,
    memory: 64 * 1024 * 1024,
    cpus: 1.5,
    capDrop: ['NET_RAW'],
    noNewPrivileges: true,
    seccomp: 'unconfined',
    securityOpt: ['no-new-privileges:true', 'seccomp=unconfined'],
    ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }],
  });
});

test('the default network mode and a user network from NetworkingConfig', () => {
  expect(createOptionsFromBody({ Image: 'busybox', HostConfig: { NetworkMode: 'default' } }, undefined).network).toBeUndefined();
  const options = createOptionsFromBody(
    { Image: 'busybox', HostConfig: { NetworkMode: 'app' }, NetworkingConfig: { EndpointsConfig: { app: { Aliases: ['web'], IPAMConfig: { IPv4Address: '10.0.0.5' } } } } },
    undefined,
  );
  expect(options).toMatchObject({ network: 'app', networkAliases: ['web'], ip: '10.0.0.5' });
});

test("Config.Shell, the shell of the container's CMD-SHELL health checks, reaches the create options; an empty one is none", () => {
  expect(createOptionsFromBody({ Image: 'busybox', Shell: ['/bin/bash', '-c'] }, undefined).shell).toEqual(['/bin/bash', '-c']);
  expect(createOptionsFromBody({ Image: 'busybox', Shell: [] }, undefined)).not.toHaveProperty('shell');
});

test('a string Cmd is one argument, as Docker strslice', () => {
  expect(createOptionsFromBody({ Image: 'busybox', Cmd: 'date' }, undefined).cmd).toEqual(['date']);
});

test('a Config.Volumes path that a bind, mount or tmpfs also takes is no anonymous volume: the bind wins, as in dockerd', () => {
  const options = createOptionsFromBody(
    {
      Image: 'busybox',
      Volumes: { '/data': {}, '/cache/': {}, '/scratch': {}, '/anon': {} },
      HostConfig: {
        Binds: ['project_data:/data:rw'],
        Mounts: [{ Type: 'volume', Source: 'cache', Target: '/cache' }],
        Tmpfs: { '/scratch': 'size=1m' },
      },
    },
    undefined,
  );
  expect(options.volumes).toEqual(['project_data:/data:rw', '/anon']);
  expect(options.mountSpecs).toEqual([{ Type: 'volume', Source: 'cache', Target: '/cache' }]);
  expect(options.tmpfs).toEqual(['/scratch:size=1m']);
});

test('a mount with a field of the wrong type is InvalidArgument (the engine checks the rest, as dockerd does)', () => {
  expect(() => createOptionsFromBody({ Image: 'b', HostConfig: { Mounts: [{ Type: 'volume', Target: 5 }] } }, undefined)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
});

describe('an update body as the engine update options', () => {
  test('limits and the restart policy map to the options; zeros mean unchanged', () => {
    expect(
      updateOptionsFromBody({ Memory: 100 * 1024 * 1024, MemorySwap: 0, NanoCpus: 1_500_000_000, CpuShares: 0, PidsLimit: 50, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } }),
    ).toEqual({ memory: 100 * 1024 * 1024, cpus: 1.5, pidsLimit: 50, restart: 'on-failure:2' });
  });

  test('a pids limit of 0 or -1 lifts the limit; null leaves it', () => {
    expect(updateOptionsFromBody({ PidsLimit: 0 })).toEqual({ pidsLimit: -1 });
    expect(updateOptionsFromBody({ PidsLimit: -1 })).toEqual({ pidsLimit: -1 });
    expect(updateOptionsFromBody({ PidsLimit: null })).toEqual({});
  });

  test('a field of the wrong type is an invalid-argument error', () => {
    expect(() => updateOptionsFromBody({ Memory: '64m' })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});

test('a mount keeps the options dockerd reads: volume options with driver options, bind and tmpfs options', () => {
  const mounts = [
    { Type: 'volume', Source: 'v1', Target: '/v', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, Subpath: 'sub', DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } } },
    { Type: 'bind', Source: '/srv', Target: '/b', BindOptions: { Propagation: 'rslave', CreateMountpoint: true } },
    { Type: 'tmpfs', Target: '/t', ReadOnly: true, TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1770 } },
  ];
  expect(createOptionsFromBody({ Image: 'busybox', HostConfig: { Mounts: mounts } }, undefined).mountSpecs).toEqual(mounts);
});

test('annotations and sysctls in HostConfig reach the create options', () => {
  const options = createOptionsFromBody({ Image: 'busybox', HostConfig: { Annotations: { 'org.example.a': '1' }, Sysctls: { 'net.ipv4.ip_forward': '1' } } }, undefined);
  expect(options).toMatchObject({ annotations: { 'org.example.a': '1' }, sysctls: { 'net.ipv4.ip_forward': '1' } });
});

test('PortBindings become -p values that keep the host address as given: none, 0.0.0.0, or an IPv6 one in brackets', () => {
  const bindings = { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '81/tcp': [{ HostIp: '0.0.0.0', HostPort: '8081' }], '82/tcp': [{ HostIp: '::', HostPort: '8082' }] };
  expect(createOptionsFromBody({ Image: 'busybox', HostConfig: { PortBindings: bindings } }, undefined).publish).toEqual(['8080:80/tcp', '0.0.0.0:8081:81/tcp', '[::]:8082:82/tcp']);
});
