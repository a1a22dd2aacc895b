import { localCtr, type LocalCtr } from './local-ctr';

/** `ctr images`' Containers: dockerd's image list does not count them (moby's newImageSummary gives -1). */
describe('images Containers', () => {
  let local: LocalCtr;

  beforeAll(async () => {
    local = await localCtr('image-list-containers');
    expect((await local.run('create', '--network', 'none', '--pull', 'never', 'busybox')).code).toBe(0);
  });

  afterAll(async () => {
    await local?.cleanup();
  });

  test('a template shows N/A for an image a container uses', async () => {
    expect(await local.run('images', '--format', '{{.Repository}} {{.Containers}}')).toEqual({ code: 0, stdout: 'busybox N/A\n', stderr: '' });
  });

  test('--format json shows N/A', async () => {
    const { stdout } = await local.run('images', '--format', 'json');
    expect(JSON.parse(stdout)).toMatchObject({ Repository: 'busybox', Containers: 'N/A' });
  });

  test('system df -v still counts the containers', async () => {
    expect((await local.run('system', 'df', '-v', '--format', '{{range .Images}}{{.Containers}}{{end}}')).stdout.trim()).toBe('1');
  });
});
