/** `HostConfig.SecurityOpt` read as moby's parseSecurityOpt reads it, kept as given, and a build's narrower share of it. */
import { buildSecurityOptions, securityOptList, securitySettings } from '@ctr/engine';

/** What the options set, leaving out the list as given. */
const applied = (values: string[]): unknown => {
  const { securityOpt: _given, ...settings } = securitySettings(values);
  return settings;
};

describe('reading', () => {
  test('seccomp=<JSON> is a profile of the user\'s, kept as given', () => {
    expect(applied(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'])).toEqual({ seccomp: { profile: '{"defaultAction":"SCMP_ACT_ALLOW"}' } });
  });

  test('seccomp=unconfined runs without a profile, builtin (or nothing) with Docker\'s', () => {
    expect(applied(['seccomp=unconfined'])).toEqual({ seccomp: 'unconfined' });
    expect(applied(['seccomp=builtin'])).toEqual({ seccomp: 'default' });
    expect(applied(['seccomp='])).toEqual({ seccomp: 'default' });
  });

  test('the older key:value spelling is read too', () => {
    expect(applied(['seccomp:unconfined', 'no-new-privileges:true'])).toEqual({ seccomp: 'unconfined', noNewPrivileges: true });
  });

  test('no-new-privileges takes a Go boolean', () => {
    expect(applied(['no-new-privileges'])).toEqual({ noNewPrivileges: true });
    expect(applied(['no-new-privileges=false'])).toEqual({ noNewPrivileges: false });
  });

  test('label, apparmor and disable are taken, with nothing to apply', () => {
    expect(applied(['label=disable', 'apparmor=unconfined', 'disable'])).toEqual({});
  });

  test("anything else is refused in dockerd's words", () => {
    expect(() => securitySettings(['bogus'])).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid --security-opt 1: "bogus"' }));
    expect(() => securitySettings(['no-new-privileges=maybe'])).toThrow('invalid --security-opt 2: "no-new-privileges=maybe"');
  });

  test("systempaths=unconfined, docker's CLI's own option, is refused as dockerd refuses it", () => {
    expect(() => securitySettings(['systempaths=unconfined'])).toThrow('invalid --security-opt 2: "systempaths=unconfined"');
  });
});

test('the options are kept as given, whatever they apply', () => {
  const given = ['seccomp=', 'label=disable', 'apparmor=unconfined', 'no-new-privileges=false'];
  expect(securitySettings(given).securityOpt).toEqual(given);
  expect(securitySettings([])).toEqual({});
});

test('shown back from the settings alone, a profile is the whole seccomp= entry', () => {
  expect(securityOptList({ noNewPrivileges: true, seccomp: { profile: '{"defaultAction":"SCMP_ACT_ERRNO"}' } })).toEqual(['no-new-privileges', 'seccomp={"defaultAction":"SCMP_ACT_ERRNO"}']);
  expect(securityOptList({ seccomp: 'default' })).toEqual(['seccomp=builtin']);
  expect(securityOptList({})).toEqual([]);
});

describe("a build's steps", () => {
  test('take no-new-privileges as a Go boolean, and the options that change nothing', () => {
    expect(buildSecurityOptions(['no-new-privileges=0', 'seccomp:unconfined', 'apparmor=unconfined', 'label=disable'])).toEqual({ noNewPrivileges: false, seccomp: 'unconfined' });
  });

  test('refuse an option a container takes but a step cannot apply, with what steps take', () => {
    expect(() => buildSecurityOptions(['seccomp=builtin'])).toThrow(
      expect.objectContaining({ message: '--security-opt seccomp=builtin is not supported for build steps', hint: expect.stringContaining('Build steps honour') }),
    );
  });

  test("refuse a malformed option in dockerd's words, with what steps take", () => {
    expect(() => buildSecurityOptions(['seccomp'])).toThrow(expect.objectContaining({ message: 'invalid --security-opt 1: "seccomp"', hint: expect.stringContaining('Build steps honour') }));
  });
});
