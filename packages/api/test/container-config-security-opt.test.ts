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

test("an option dockerd does not know is refused in its words", () => {
  expect(() => securityOf(['seccomp'])).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid --security-opt 1: "seccomp"' }));
});

test("a remote ctr's create sends the profile as docker's CLI does, and the daemon reads it back", () => {
  const options = { image: 'busybox', noNewPrivileges: true, seccomp: { profile: '{"defaultAction":"SCMP_ACT_ALLOW"}' } };
  const body = createRequest(options);
  expect(body.HostConfig?.SecurityOpt).toEqual(['no-new-privileges', 'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']);
  expect(createOptionsFromBody(body as unknown as Record<string, unknown>, undefined)).toMatchObject({ noNewPrivileges: true, seccomp: options.seccomp });
});
