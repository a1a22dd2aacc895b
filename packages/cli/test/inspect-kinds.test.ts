import { localCtr, type LocalCtr } from './local-ctr';

/** `ctr inspect` tries every kind of object; `ctr image inspect` and `ctr container inspect` one kind each, as docker's. */
let ctr: LocalCtr;
beforeAll(async () => {
  ctr = await localCtr('ctr-inspect-kinds-');
  await ctr.run('create', '--name', 'named-like-an-image', '--network', 'none', 'busybox');
}, 60_000);
afterAll(async () => {
  await ctr?.cleanup();
});

test('image inspect of a name only a container has is no such image', async () => {
  expect(await ctr.run('image', 'inspect', 'named-like-an-image')).toEqual({ code: 1, stdout: '[]\n', stderr: 'Error response from daemon: No such image: named-like-an-image:latest\n' });
});

test('container inspect of an image name is no such container', async () => {
  expect(await ctr.run('container', 'inspect', 'busybox')).toEqual({ code: 1, stdout: '[]\n', stderr: 'Error response from daemon: No such container: busybox\n' });
});

test('inspect finds the container by its name', async () => {
  expect(await ctr.run('inspect', '--format', '{{.Name}}', 'named-like-an-image')).toEqual({ code: 0, stdout: '/named-like-an-image\n', stderr: '' });
});

test('inspect of a name nothing has is no such object', async () => {
  expect(await ctr.run('inspect', 'nothing-by-this-name')).toEqual({ code: 1, stdout: '[]\n', stderr: 'Error: No such object: nothing-by-this-name\n' });
});

test('what is found is shown, and what is not is said after it, with exit status 1', async () => {
  const result = await ctr.run('image', 'inspect', '--format', '{{json .RepoTags}}', 'busybox', 'missing-image');
  expect(result).toEqual({ code: 1, stdout: '["busybox:latest"]\n', stderr: 'Error response from daemon: No such image: missing-image:latest\n' });
});
