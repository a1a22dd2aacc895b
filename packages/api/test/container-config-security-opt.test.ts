/** `HostConfig.SecurityOpt` at create: docker's CLI sends a seccomp profile's JSON, which the container keeps. */
import { createOptionsFromBody } from '@ctr/api';
import { createRequest } from '../src/create-request';

const securityOf = (SecurityOpt: string[]): unknown => {
  const { noNewPrivileges, seccomp } = createOptionsFromBody({ Image: 'busybox', HostConfig: { SecurityOpt } }, undefined);
  return { noNewPrivileges, seccomp };
};

test('seccomp=<profile JSON> is the seccomp profile of the container', () => {
  const profile = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}';
  expect(securityOf([`seccomp=${profile}`, 'no-new-privileges'])).toEqual({ noNewPrivileges: true, seccomp: { profile } });
});

test('the options are kept as given, for inspect', () => {
  const SecurityOpt = ['seccomp=', 'label=disable', 'apparmor=unconfined', 'no-new-privileges=false'];
  expect(createOptionsFromBody({ Image: 'busybox', HostConfig: { SecurityOpt } }, undefined).securityOpt).toEqual(SecurityOpt);
});

test('MaskedPaths and ReadonlyPaths given replace the defaults; [] is none, null the defaults', () => {
  const paths = (HostConfig: Record<string, unknown>): unknown => {
    const { maskedPaths, readonlyPaths } = createOptionsFromBody({ Image: 'busybox', HostConfig }, undefined);
    return { maskedPaths, readonlyPaths };
  };
  expect(paths({ MaskedPaths: [], ReadonlyPaths: ['/proc/sys'] })).toEqual({ maskedPaths: [], readonlyPaths: ['/proc/sys'] });
  expect(paths({ MaskedPaths: null })).toEqual({ maskedPaths: undefined, readonlyPaths: undefined });
});

test("a remote ctr's create sends empty system paths, which the daemon reads back as none", () => {
  const body = createRequest({ image: 'busybox', maskedPaths: [], readonlyPaths: [] });
  expect(body.HostConfig).toMatchObject({ MaskedPaths: [], ReadonlyPaths: [] });
  expect(createOptionsFromBody(body as unknown as Record<string, unknown>, undefined)).toMatchObject({ maskedPaths: [], readonlyPaths: [] });
});

test("an option dockerd does not know is refused in its words", () => {
  expect(() => securityOf(['seccomp'])).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid --security-opt 1: "seccomp"' }));
});

test("a remote ctr's create sends the profile as docker's CLI does, and the daemon reads it back", () => {
  const options = { image: 'busybox', noNewPrivileges: true, seccomp: { profile: '{"defaultAction":"SCMP_ACT_ALLOW"}' } };
  const body = createRequest(options);
  expect(body.HostConfig?.SecurityOpt).toEqual(['no-new-privileges', 'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']);
  expect(createOptionsFromBody(body as unknown as Record<string, unknown>, undefined)).toMatchObject({ noNewPrivileges: true, seccomp: options.seccomp });
});

test("a remote ctr's create sends the options as given when it has them", () => {
  const body = createRequest({ image: 'busybox', noNewPrivileges: false, securityOpt: ['no-new-privileges=false', 'label=disable'] });
  expect(body.HostConfig?.SecurityOpt).toEqual(['no-new-privileges=false', 'label=disable']);
});
