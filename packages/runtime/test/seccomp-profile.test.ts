/**
 * `--security-opt seccomp=<profile>`: a profile in Docker's format becomes the spec's seccomp
 * as moby's LoadProfile makes it, and runc applies it to a real container.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateSpec, type RunOptions, type Spec, type SpecContext } from '@ctr/runtime';
import { Collector, testBed, type TestBed } from './helpers';

const context: SpecContext = { id: 'abcdef0123456789', rootfs: '/rootfs', rlimitCeilings: { nofile: 20000 }, arch: 'x64', kernelRelease: '5.10.0-28-amd64' };

/** The spec's seccomp for a profile given as JSON (text, or a value to write as JSON). */
function seccompOf(profile: unknown, options: RunOptions = {}, ctx: SpecContext = context): Spec['linux']['seccomp'] {
  const text = typeof profile === 'string' ? profile : JSON.stringify(profile);
  return generateSpec({ Cmd: ['sh'] }, { ...options, seccomp: { profile: text } }, ctx).linux.seccomp;
}

const names = (profile: unknown, options?: RunOptions, ctx?: SpecContext): string[][] => (seccompOf(profile, options, ctx)?.syscalls ?? []).map((r) => r.names);

describe('the spec a profile makes', () => {
  test("a profile's own fields reach the spec as runc takes them", () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      listenerPath: '/run/agent.sock',
      listenerMetadata: 'meta',
      syscalls: [
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }], comment: 'x' },
        { names: ['syslog'], action: 'SCMP_ACT_ERRNO', errnoRet: 12345 },
      ],
    };
    expect(seccompOf(profile)).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      listenerPath: '/run/agent.sock',
      listenerMetadata: 'meta',
      syscalls: [
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
        { names: ['syslog'], action: 'SCMP_ACT_ERRNO', errnoRet: 12345 },
      ],
    });
  });

  test("archMap gives the host's architecture and its sub-architectures only", () => {
    const archMap = [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ];
    expect(seccompOf({ defaultAction: 'SCMP_ACT_ALLOW', archMap })?.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(seccompOf({ defaultAction: 'SCMP_ACT_ALLOW', archMap }, {}, { ...context, arch: 'arm64' })?.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  });

  test('rules for other architectures are left out, by includes and by excludes', () => {
    const syscalls = [
      { names: ['a'], action: 'SCMP_ACT_ERRNO', includes: { arches: ['arm64'] } },
      { names: ['b'], action: 'SCMP_ACT_ERRNO', includes: { arches: ['amd64', 'x86'] } },
      { names: ['c'], action: 'SCMP_ACT_ERRNO', excludes: { arches: ['amd64'] } },
    ];
    expect(names({ defaultAction: 'SCMP_ACT_ALLOW', syscalls })).toEqual([['b']]);
  });

  test("rules hang on the container's capabilities: includes needs each one, excludes any one", () => {
    const syscalls = [
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_PTRACE'] } },
      { names: ['chmod'], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_FOWNER', 'CAP_SYS_ADMIN'] } },
    ];
    expect(names({ defaultAction: 'SCMP_ACT_ALLOW', syscalls })).toEqual([]);
    expect(names({ defaultAction: 'SCMP_ACT_ALLOW', syscalls }, { capAdd: ['SYS_PTRACE'], capDrop: ['FOWNER'] })).toEqual([['ptrace'], ['chmod']]);
  });

  test("rules hang on the kernel's version by minKernel", () => {
    const syscalls = [
      { names: ['old'], action: 'SCMP_ACT_ERRNO', excludes: { minKernel: '4.8' } },
      { names: ['new'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.11' } },
      { names: ['now'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.10' } },
    ];
    expect(names({ defaultAction: 'SCMP_ACT_ALLOW', syscalls })).toEqual([['now']]);
  });

  test("an argument's uint64 past 2^53 reaches the spec exactly, as a bigint", () => {
    const profile = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":18446744073709551615,"valueTwo":9007199254740993,"op":"SCMP_CMP_MASKED_EQ"}]}]}';
    expect(seccompOf(profile)?.syscalls[0]?.args).toEqual([{ index: 1, value: 18446744073709551615n, valueTwo: 9007199254740993n, op: 'SCMP_CMP_MASKED_EQ' }]);
  });

  test("an old profile's single name is a rule's names", () => {
    expect(names({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'mkdir', action: 'SCMP_ACT_ERRNO' }] })).toEqual([['mkdir']]);
  });

  test("the fields are found whatever their case, as Go's decoder finds them", () => {
    expect(seccompOf({ DefaultAction: 'SCMP_ACT_ALLOW', SYSCALLS: [{ Names: ['mkdir'], Action: 'SCMP_ACT_ERRNO' }] })).toMatchObject({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
    });
  });

  test('a profile with neither a default action nor rules leaves the container without seccomp, as moby does', () => {
    expect(seccompOf({})).toBeUndefined();
  });

  test('a privileged container has no seccomp, and its profile is not read', () => {
    expect(seccompOf('not json', { privileged: true })).toBeUndefined();
  });

  test("Docker's own profile stays the default", () => {
    expect(generateSpec({ Cmd: ['sh'] }, { seccomp: 'default' }, context).linux.seccomp).toEqual(generateSpec({ Cmd: ['sh'] }, {}, context).linux.seccomp);
  });
});

describe("a profile refused at create, in moby's words", () => {
  const refused = (profile: unknown, message: string): void => {
    expect(() => seccompOf(profile)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message }));
  };

  test('text that is not JSON', () => {
    refused('{"defaultAction": ', 'Decoding seccomp profile failed: unexpected end of JSON input');
  });

  test('a field of the wrong type', () => {
    refused({ defaultAction: 1 }, 'Decoding seccomp profile failed: json: cannot unmarshal number into Go struct field Seccomp.defaultAction of type specs.LinuxSeccompAction');
    refused({ syscalls: [{ names: 'mkdir' }] }, 'Decoding seccomp profile failed: json: cannot unmarshal string into Go struct field Syscall.syscalls.names of type []string');
    refused({ syscalls: [{ errnoRet: -1 }] }, 'Decoding seccomp profile failed: json: cannot unmarshal number -1 into Go struct field Syscall.syscalls.errnoRet of type uint');
  });

  test('a uint64 past 2^64 - 1, named as written', () => {
    refused('{"syscalls":[{"names":["a"],"args":[{"value":18446744073709551616}]}]}', 'Decoding seccomp profile failed: json: cannot unmarshal number 18446744073709551616 into Go struct field LinuxSeccompArg.syscalls.args.value of type uint64');
  });

  test('a number that is no integer, named as written', () => {
    refused('{"syscalls":[{"names":["a"],"args":[{"value":1e3}]}]}', 'Decoding seccomp profile failed: json: cannot unmarshal number 1e3 into Go struct field LinuxSeccompArg.syscalls.args.value of type uint64');
  });

  test('JSON that is not an object', () => {
    refused([], 'Decoding seccomp profile failed: json: cannot unmarshal array into Go value of type seccomp.Seccomp');
  });

  test('a minKernel that is no "<kernel>.<major>"', () => {
    refused({ syscalls: [{ names: ['a'], includes: { minKernel: '5' } }] }, 'Decoding seccomp profile failed: invalid kernel version: "5", expected "<kernel>.<major>"');
  });

  test('both architectures and archMap', () => {
    refused(
      { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], archMap: [{ architecture: 'SCMP_ARCH_X86_64' }] },
      "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
  });

  test('both name and names in one rule', () => {
    refused({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'a', names: ['b'], action: 'SCMP_ACT_ERRNO' }] }, "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
  });
});

describe('a profile in a real container (runc)', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await testBed();
  });
  afterAll(async () => {
    await bed.cleanup();
  });

  const denyMkdir = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] });

  /** A created container started to its end: its exit code and what it said on stderr. */
  async function ran(id: string): Promise<{ exitCode: number; stderr: string }> {
    const stderr = new Collector();
    const { attached } = await bed.runtime.start(id, { attach: { stderr } });
    const { exitCode } = await bed.runtime.wait(id);
    await attached;
    return { exitCode, stderr: stderr.text() };
  }

  test('a syscall the profile denies fails with EPERM inside the container', async () => {
    await bed.runtime.create('deny-mkdir', { rootfs: await bed.rootfs(), image: { Cmd: ['mkdir', '/x'] }, run: { seccomp: { profile: denyMkdir } } });
    const { exitCode, stderr } = await ran('deny-mkdir');
    expect(exitCode).toBe(1);
    expect(stderr).toContain('Operation not permitted');
  });

  test('a rule masking with 2^64 - 1 is written exactly to config.json, and runc applies it', async () => {
    // mkdir(path, 0777): its mode masked with every bit set is 0777 (511).
    const maskAll = (index: number): string => `{"index":${index},"value":18446744073709551615,"valueTwo":511,"op":"SCMP_CMP_MASKED_EQ"}`;
    const profile = `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[${maskAll(1)}]},{"names":["mkdirat"],"action":"SCMP_ACT_ERRNO","args":[${maskAll(2)}]}]}`;
    await bed.runtime.create('mask-all', { rootfs: await bed.rootfs(), image: { Cmd: ['mkdir', '/x'] }, run: { seccomp: { profile } } });
    const config = await fs.readFile(path.join(bed.base, 'root', 'containers', 'mask-all', 'config.json'), 'utf8');
    expect(config).toContain('"args":[{"index":1,"value":18446744073709551615,"valueTwo":511,"op":"SCMP_CMP_MASKED_EQ"}]');
    const { exitCode, stderr } = await ran('mask-all');
    expect(exitCode).toBe(1);
    expect(stderr).toContain('Operation not permitted');
  });

  test('an invalid profile refuses the create and leaves no container', async () => {
    const create = bed.runtime.create('bad-profile', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] }, run: { seccomp: { profile: '{"syscalls": 1}' } } });
    await expect(create).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('Decoding seccomp profile failed: json: cannot unmarshal number') });
    expect((await bed.runtime.list()).map((c) => c.id)).not.toContain('bad-profile');
  });
});
