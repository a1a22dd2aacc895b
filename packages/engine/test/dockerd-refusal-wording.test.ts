/**
 * Refusals in dockerd's words: a restart policy checked as moby's ValidateRestartPolicy checks
 * it (create and update); `update`'s refusals of what the request asks said bare, as
 * verifyContainerSettings' are (only the container's state and the runtime's name it);
 * a rename's name refused as daemon/rename.go wraps it; a signal number Linux has none for.
 */
import { cpus } from 'node:os';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let sleeper: string;

beforeAll(async () => {
  t = await testEngine();
  sleeper = (await t.engine.create({ image: 'busybox', name: 'refusals', cmd: ['sleep', '1000'], network: 'none', pull: 'never' })).id;
  await t.engine.start(sleeper);
});

afterAll(async () => {
  await t?.cleanup();
});

const invalid = (message: string): { code: string; message: string } => ({ code: 'InvalidArgument', message });
const create = (restart: string): Promise<unknown> => t.engine.create({ image: 'busybox', network: 'none', pull: 'never', restart });

describe('restart policy', () => {
  test("a retry count with a policy other than on-failure is refused", async () => {
    await expect(create('always:3')).rejects.toMatchObject(invalid("invalid restart policy: maximum retry count can only be used with 'on-failure'"));
  });

  test('a negative retry count with such a policy is refused for both', async () => {
    await expect(create('unless-stopped:-1')).rejects.toMatchObject(
      invalid("invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"),
    );
  });

  test('a negative retry count with on-failure is refused', async () => {
    await expect(create('on-failure:-2')).rejects.toMatchObject(invalid('invalid restart policy: maximum retry count cannot be negative'));
  });

  test('an unknown policy is refused naming the four there are', async () => {
    await expect(create('bogus')).rejects.toMatchObject(
      invalid("invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"),
    );
  });

  test('on-failure with a count and the others without are taken', async () => {
    for (const [restart, Name, MaximumRetryCount] of [['on-failure:3', 'on-failure', 3], ['always', 'always', 0], ['no', 'no', 0]] as const) {
      const { id } = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never', restart });
      expect((await t.engine.inspect(id)).HostConfig.RestartPolicy).toEqual({ Name, MaximumRetryCount });
      await t.engine.remove(id);
    }
  });

  test('update refuses an invalid policy bare, as create does, and keeps the one there', async () => {
    await expect(t.engine.update(sleeper, { restart: 'always:3' })).rejects.toMatchObject(invalid("invalid restart policy: maximum retry count can only be used with 'on-failure'"));
    expect((await t.engine.inspect(sleeper)).HostConfig.RestartPolicy).toEqual({ Name: 'no', MaximumRetryCount: 0 });
  });
});

describe("update's refusals of what it asks, said bare", () => {
  test.each([
    ['--cpus 100', { cpus: 100 }, `Range of CPUs is from 0.01 to ${cpus().length}.00, as there are only ${cpus().length} CPUs available`],
    ['--memory 1k', { memory: '1k' }, 'Minimum memory limit allowed is 6MB'],
    ['--memory-swap below --memory', { memory: '64m', memorySwap: '32m' }, 'Minimum memoryswap limit should be larger than memory limit, see usage'],
    ['--blkio-weight 5', { blkioWeight: 5 }, 'Range of blkio weight is from 10 to 1000'],
    ['--cpuset-cpus beyond the host', { cpusetCpus: String(cpus().length + 5) }, `Requested CPUs are not available - requested ${cpus().length + 5}, available: 0-${cpus().length - 1}`],
  ])('%s', async (_flag, options, message) => {
    await expect(t.engine.update(sleeper, options)).rejects.toMatchObject(invalid(message));
  });
});

describe('rename', () => {
  test('to a name another container has is refused as allocating the new name', async () => {
    const other = await t.engine.create({ image: 'busybox', name: 'rename-taken', network: 'none', pull: 'never' });
    await expect(t.engine.rename(sleeper, 'rename-taken')).rejects.toMatchObject({
      code: 'Conflict',
      message: `Error when allocating new name: Conflict. The container name "/rename-taken" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`,
    });
  });

  test('to an invalid name is refused as allocating the new name', async () => {
    await expect(t.engine.rename(sleeper, 'bad name!')).rejects.toMatchObject(
      invalid('Error when allocating new name: Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'),
    );
  });
});

describe('kill', () => {
  test('a signal number Linux has no signal for is refused as the daemon not supporting it', async () => {
    await expect(t.engine.kill(sleeper, '65')).rejects.toMatchObject(invalid('the linux daemon does not support signal 65'));
    expect((await t.engine.inspect(sleeper)).State.Running).toBe(true);
  });
});
