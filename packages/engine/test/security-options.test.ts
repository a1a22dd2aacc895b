/** `HostConfig.SecurityOpt` read as moby's parseSecurityOpt reads it, and shown back as inspect shows it. */
import { securityOptList, securitySettings } from '@ctr/engine';

describe('reading', () => {
  test('seccomp=<JSON> is a profile of the user\'s, kept as given', () => {
    expect(securitySettings(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'])).toEqual({ seccomp: { profile: '{"defaultAction":"SCMP_ACT_ALLOW"}' } });
  });

  test('seccomp=unconfined runs without a profile, builtin (or nothing) with Docker\'s', () => {
    expect(securitySettings(['seccomp=unconfined'])).toEqual({ seccomp: 'unconfined' });
    expect(securitySettings(['seccomp=builtin'])).toEqual({ seccomp: 'default' });
    expect(securitySettings(['seccomp='])).toEqual({ seccomp: 'default' });
  });

  test('the older key:value spelling is read too', () => {
    expect(securitySettings(['seccomp:unconfined', 'no-new-privileges:true'])).toEqual({ seccomp: 'unconfined', noNewPrivileges: true });
  });

  test('no-new-privileges takes a Go boolean', () => {
    expect(securitySettings(['no-new-privileges'])).toEqual({ noNewPrivileges: true });
    expect(securitySettings(['no-new-privileges=false'])).toEqual({ noNewPrivileges: false });
  });

  test('label, apparmor and disable are taken, with nothing to apply', () => {
    expect(securitySettings(['label=disable', 'apparmor=unconfined', 'disable'])).toEqual({});
  });

  test("anything else is refused in dockerd's words", () => {
    expect(() => securitySettings(['bogus'])).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid --security-opt 1: "bogus"' }));
    expect(() => securitySettings(['no-new-privileges=maybe'])).toThrow('invalid --security-opt 2: "no-new-privileges=maybe"');
  });
});

test('shown back, a profile is the whole seccomp= entry', () => {
  expect(securityOptList({ noNewPrivileges: true, seccomp: { profile: '{"defaultAction":"SCMP_ACT_ERRNO"}' } })).toEqual(['no-new-privileges', 'seccomp={"defaultAction":"SCMP_ACT_ERRNO"}']);
  expect(securityOptList({ seccomp: 'default' })).toEqual(['seccomp=builtin']);
  expect(securityOptList({})).toEqual([]);
});
