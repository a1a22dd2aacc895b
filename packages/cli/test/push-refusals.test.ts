/**
 * What `ctr push` and `ctr rmi --platform` refuse, as docker does, before any registry is
 * reached (the registry named, on 127.0.0.1, is never listened on): a tag not here (dockerd's
 * two wordings), a digest (docker's client says nothing else), a platform the image is not for.
 */
import { formatPlatform, hostPlatform } from '@ctr/image';
import { localCtr, type LocalCtr } from './local-ctr';

let local: LocalCtr;
const ctr = (...args: string[]): ReturnType<LocalCtr['run']> => local.run(...args);
const REGISTRY = '127.0.0.1:9';
const HOST = formatPlatform(hostPlatform());
const mismatch = (ref: string): string =>
  `image with reference ${ref} was found but does not match the specified platform: wanted linux/s390x, actual: ${HOST}`;

beforeAll(async () => {
  local = await localCtr('push-refusals');
  expect((await ctr('tag', 'busybox', `${REGISTRY}/here/app:v1`)).code).toBe(0);
});

afterAll(async () => {
  await local?.cleanup();
});

test('push of a tag whose repository has no name here says so in dockerd\'s words, naming the repository', async () => {
  expect(await ctr('push', `${REGISTRY}/none/app:v1`)).toEqual({
    code: 1,
    stdout: `The push refers to repository [${REGISTRY}/none/app]\n`,
    stderr: `An image does not exist locally with the tag: ${REGISTRY}/none/app\n`,
  });
});

test('push of a tag its repository lacks here says so in dockerd\'s words, naming the tag', async () => {
  expect(await ctr('push', `${REGISTRY}/here/app:v2`)).toMatchObject({ code: 1, stderr: `tag does not exist: ${REGISTRY}/here/app:v2\n` });
});

test('push of a digest reference is refused in docker\'s words, before anything is said', async () => {
  expect(await ctr('push', `${REGISTRY}/here/app@sha256:${'a'.repeat(64)}`)).toEqual({ code: 1, stdout: '', stderr: 'cannot push a digest reference\n' });
});

test('push --platform of a platform the image is not for is dockerd\'s NotFound', async () => {
  expect(await ctr('push', '--platform', 'linux/s390x', `${REGISTRY}/here/app:v1`)).toMatchObject({ code: 1, stderr: `${mismatch(`${REGISTRY}/here/app:v1`)}\n` });
});

test('rmi --platform of a platform the image is not for is dockerd\'s NotFound, and the image stays', async () => {
  expect(await ctr('rmi', '--platform', 'linux/s390x', `${REGISTRY}/here/app:v1`)).toEqual({
    code: 1,
    stdout: '',
    stderr: `Error response from daemon: ${mismatch(`${REGISTRY}/here/app:v1`)}\n`,
  });
  expect((await ctr('images', '-q', `${REGISTRY}/here/app:v1`)).stdout).not.toBe('');
});
