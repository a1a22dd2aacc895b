import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isInvalidArgument } from '@ctr/errors';
import { resolveUser, resolveUserFrom } from '@ctr/runtime';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000:web:/home/web:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n';
const group = 'root:x:0:\nweb:x:1000:\ndocker:x:999:web\nnogroup:x:65534:\n';

test('a user name resolves to its uid, gid, groups and home', () => {
  expect(resolveUserFrom('web', passwd, group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [999], home: '/home/web' });
});

test('a uid in passwd takes its entry; one not in passwd runs with gid 0', () => {
  expect(resolveUserFrom('65534', passwd, group)).toMatchObject({ uid: 65534, gid: 65534 });
  expect(resolveUserFrom('4242', passwd, group)).toEqual({ uid: 4242, gid: 0, additionalGids: [] });
});

test('uid:gid and name:group set the group and drop supplementary groups', () => {
  expect(resolveUserFrom('4242:4343', passwd, group)).toEqual({ uid: 4242, gid: 4343, additionalGids: [] });
  expect(resolveUserFrom('web:nogroup', passwd, group)).toMatchObject({ uid: 1000, gid: 65534, additionalGids: [] });
});

test('no user means root', () => {
  expect(resolveUserFrom('', passwd, group)).toMatchObject({ uid: 0, gid: 0 });
});

test('an unknown user or group is refused with runc\'s words', () => {
  expect(() => resolveUserFrom('nope', passwd, group)).toThrow('unable to find user nope: no matching entries in passwd file');
  expect(() => resolveUserFrom('web:nope', passwd, group)).toThrow('unable to find group nope: no matching entries in group file');
  let error: unknown;
  try {
    resolveUserFrom('nope', '', '');
  } catch (e) {
    error = e;
  }
  expect(isInvalidArgument(error)).toBe(true);
});

test('the rootfs passwd file is read inside the rootfs: a symlink out of it is not followed', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-user-'));
  try {
    const rootfs = path.join(dir, 'rootfs');
    await fs.mkdir(path.join(rootfs, 'etc'), { recursive: true });
    await fs.writeFile(path.join(dir, 'passwd'), 'evil:x:0:0::/:/bin/sh\n');
    // An absolute link is taken as the container sees it: /<..>/passwd inside the rootfs.
    await fs.symlink(path.join(dir, 'passwd'), path.join(rootfs, 'etc', 'passwd'));
    await expect(resolveUser(rootfs, 'evil')).rejects.toThrow('unable to find user evil');
    await fs.rm(path.join(rootfs, 'etc', 'passwd'));
    await fs.symlink('../../../../passwd', path.join(rootfs, 'etc', 'passwd'));
    await expect(resolveUser(rootfs, 'evil')).rejects.toThrow('unable to find user evil');
    // A link that stays inside the rootfs is followed, as in the container.
    await fs.writeFile(path.join(rootfs, 'etc', 'real-passwd'), passwd);
    await fs.rm(path.join(rootfs, 'etc', 'passwd'));
    await fs.symlink('/etc/real-passwd', path.join(rootfs, 'etc', 'passwd'));
    expect((await resolveUser(rootfs, 'web')).uid).toBe(1000);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
