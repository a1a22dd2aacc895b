import { testEngine, type TestEngine } from './fixture';
import { entriesOf } from './tar-fixture';

const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;

async function namesOf(t: TestEngine, id: string, inside: string): Promise<string[]> {
  return (await entriesOf((await t.engine.getArchive(id, inside)).tar)).map((e) => e.name);
}

/**
 * `docker cp` of a source that is a symlink to a directory (moby's ResolvePath): without a
 * trailing slash the link itself is copied; `LINK/` and `LINK/.` name the directory it points
 * to, resolved inside the container — never the host's directory of the same name.
 */
describe('docker cp of a symlinked source directory', () => {
  let t: TestEngine;
  let id: string;
  beforeAll(async () => {
    t = await testEngine();
    ({ id } = await t.engine.run({
      image: 'busybox',
      network: 'none',
      cmd: ['sh', '-c', 'echo in-container > /etc/cp-marker && ln -s /etc /tmp/dirlnk && ln -s /etc/passwd /tmp/filelnk && mkdir -p /tmp/a/b && ln -s ../../.. /tmp/a/b/up'],
    }));
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('a link without a trailing slash is copied as the link', async () => {
    const { stat, tar } = await t.engine.getArchive(id, '/tmp/dirlnk');
    expect(stat).toMatchObject({ name: 'dirlnk', linkTarget: '/etc' });
    expect(stat.mode & GO_SYMLINK).toBeTruthy();
    expect(await entriesOf(tar)).toEqual([{ name: 'dirlnk', type: '2', text: '', linkname: '/etc' }]);
  });

  test('a link with a trailing slash copies the container’s target directory under the link’s name', async () => {
    const names = await namesOf(t, id, '/tmp/dirlnk/');
    expect(names[0]).toBe('dirlnk/');
    expect(names).toEqual(expect.arrayContaining(['dirlnk/cp-marker', 'dirlnk/passwd']));
    expect(names.filter((n) => !n.startsWith('dirlnk/'))).toEqual([]);
  });

  test('the stat of a link with a trailing slash is its target directory’s, named for the link', async () => {
    const stat = await t.engine.statPath(id, '/tmp/dirlnk/');
    expect(stat).toMatchObject({ name: 'dirlnk', linkTarget: '' });
    expect(stat.mode & GO_DIR).toBeTruthy();
  });

  test('LINK/. copies the contents of the container’s target directory', async () => {
    const names = await namesOf(t, id, '/tmp/dirlnk/.');
    expect(names).toEqual(expect.arrayContaining(['./', './cp-marker', './passwd']));
    expect((await t.engine.statPath(id, '/tmp/dirlnk/.')).name).toBe('.');
  });

  test('a link climbing above the root, followed with a trailing slash, copies the container’s root', async () => {
    const climbed = (await namesOf(t, id, '/tmp/a/b/up/')).map((n) => n.replace(/^up\//, ''));
    const root = (await namesOf(t, id, '/.')).map((n) => n.replace(/^\.\//, ''));
    expect(climbed).toEqual(root);
    expect(climbed).toContain('etc/cp-marker');
  });

  test('a link to a file with a trailing slash is not a directory', async () => {
    await expect(t.engine.getArchive(id, '/tmp/filelnk/')).rejects.toMatchObject({ code: 'InvalidArgument', message: '/tmp/filelnk/ is not a directory' });
  });
});
