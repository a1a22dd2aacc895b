import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TarReader } from '@ctr/image';
import { openStore } from '@ctr/store';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
import { collector, testEngine, type TestEngine } from './fixture';

describe('engine images', () => {
  let t: TestEngine;
  let context: string;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-build-ctx-'));
  });
  afterAll(async () => {
    await t?.cleanup();
    await rm(context, { recursive: true, force: true });
  });

  test('an imported image is listed with its name', async () => {
    const images = await t.engine.images();
    expect(images.find((i) => i.RepoTags.includes('busybox:latest'))).toMatchObject({ Id: expect.stringMatching(/^sha256:[a-f0-9]{64}$/) });
  });

  test('a multi-stage build runs, and its rebuild is a full cache hit with the same ID', async () => {
    await writeFile(join(context, 'message.txt'), 'from the context\n');
    await writeFile(
      join(context, 'Dockerfile'),
      [
        'FROM busybox AS base',
        'ARG WHO=builder',
        'RUN echo "made by $WHO" > /made.txt',
        'FROM busybox',
        'ENV GREETING=hello',
        'WORKDIR /app',
        'COPY --from=base /made.txt ./',
        'COPY message.txt ./',
        'ENTRYPOINT ["sh", "-c"]',
        'CMD ["cat made.txt message.txt; echo $GREETING"]',
      ].join('\n'),
    );
    const first = await t.engine.build({ context, tags: ['multi:1'] });
    const events: string[] = [];
    const second = await t.engine.build({ context, tags: ['multi:1'], onEvent: (e) => events.push(e.type) });
    expect(second.id).toBe(first.id);
    expect(events.filter((e) => e === 'cache-hit').length).toBeGreaterThanOrEqual(6);
    const stdout = collector();
    const run = await t.engine.run({ image: 'multi:1', network: 'none', autoRemove: true, stdout });
    expect(run.exitCode).toBe(0);
    expect(stdout.text()).toBe('made by builder\nfrom the context\nhello\n');
  });

  test('a failing RUN fails the build with Docker\'s message and tags nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-build-fail-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nRUN false\n');
    await expect(t.engine.build({ context: dir, tags: ['broken:1'] })).rejects.toMatchObject({
      message: expect.stringContaining("The command '/bin/sh -c false' returned a non-zero code: 1"),
    });
    await expect(t.engine.inspectImage('broken:1')).rejects.toMatchObject({ code: 'NotFound' });
    await rm(dir, { recursive: true, force: true });
  });

  test('commit turns a container\'s changes into an image', async () => {
    const { id } = await t.engine.run({ image: 'busybox', cmd: ['sh', '-c', 'echo committed > /note; rm /bin/vi'], network: 'none' });
    await t.engine.commit(id, { reference: 'committed:1', comment: 'a note' });
    await t.engine.remove(id);
    const stdout = collector();
    await t.engine.run({ image: 'committed:1', cmd: ['sh', '-c', 'cat /note; ls /bin/vi 2>/dev/null || echo vi-gone'], network: 'none', autoRemove: true, stdout });
    expect(stdout.text()).toBe('committed\nvi-gone\n');
    expect((await t.engine.history('committed:1'))[0]).toMatchObject({ Comment: 'a note' });
  });

  test("a committed image keeps the container's environment, command, entrypoint, user, working directory and labels", async () => {
    const { id } = await t.engine.create({
      image: 'busybox',
      network: 'none',
      env: ['FOO=bar'],
      entrypoint: ['sh'],
      cmd: ['-c', 'true'],
      user: '1000',
      workingDir: '/tmp',
      labels: { made: 'by-test' },
    });
    await t.engine.commit(id, { reference: 'committed:config' });
    expect((await t.engine.inspectImage('committed:config')).Config).toMatchObject({
      Env: ['FOO=bar'],
      Entrypoint: ['sh'],
      Cmd: ['-c', 'true'],
      User: '1000',
      WorkingDir: '/tmp',
      Labels: { made: 'by-test' },
    });
    await t.engine.remove(id);
  });

  test("a commit's changes replace what the container had", async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none', env: ['FOO=bar'], cmd: ['sh', '-c', 'true'] });
    await t.engine.commit(id, { reference: 'committed:changed', config: { Cmd: ['echo', 'changed'] } });
    expect((await t.engine.inspectImage('committed:changed')).Config).toMatchObject({ Env: ['FOO=bar'], Cmd: ['echo', 'changed'] });
    await t.engine.remove(id);
  });

  test('a committed layer holds the container\'s changes but not the files the runtime mounts', async () => {
    const { id } = await t.engine.run({ image: 'busybox', cmd: ['sh', '-c', 'echo x > /added'], network: 'none' });
    const { id: imageId } = await t.engine.commit(id, { reference: 'committed:2' });
    await t.engine.remove(id);
    const store = await openStore({ root: t.root });
    const manifest = JSON.parse((await readAll(await store.content.read((await t.engine.inspectImage(imageId)).Descriptor.digest))).toString());
    const top = manifest.layers[manifest.layers.length - 1];
    const names: string[] = [];
    const reader = new TarReader((await store.content.read(top.digest)).pipe(createGunzip()));
    for (let entry = await reader.next(); entry; entry = await reader.next()) names.push(entry.header.name);
    expect(names).toContain('added');
    expect(names.filter((n) => ['etc/hosts', 'etc/resolv.conf', 'etc/hostname'].includes(n))).toEqual([]);
  });

  test('save then load keeps the image ID', async () => {
    const before = await t.engine.inspectImage('busybox');
    const archive = await t.engine.save(['busybox']);
    const chunks: Buffer[] = [];
    for await (const c of archive) chunks.push(c as Buffer);
    await t.engine.removeImage('busybox', { force: true });
    const { loaded } = await t.engine.load(Readable.from([Buffer.concat(chunks)]));
    expect(loaded).toEqual(['Loaded image: busybox:latest']);
    expect((await t.engine.inspectImage('busybox')).Id).toBe(before.Id);
  });

  test("a missing image named without a tag is reported with the tag it was taken to mean, as moby's", async () => {
    await expect(t.engine.inspectImage('no-such-image')).rejects.toMatchObject({ code: 'NotFound', message: 'No such image: no-such-image:latest' });
    await expect(t.engine.inspectImage('no-such-image:2')).rejects.toMatchObject({ message: 'No such image: no-such-image:2' });
    await expect(t.engine.inspectImage('sha256:abcd')).rejects.toMatchObject({ message: 'No such image: sha256:abcd' });
  });

  test('an invalid reference is InvalidArgument', async () => {
    await expect(t.engine.tag('busybox', 'UPPER:case')).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
