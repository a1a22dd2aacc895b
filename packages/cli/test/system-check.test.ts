/**
 * `ctr system check` as podman 5's `system check` prints and exits: nothing and 0 on a sound
 * root; each finding (`Damaged image ID:`, go-multierror's list, then what a repair would do)
 * and 125 with `Error: damage detected in local storage` without `-r`; with `-r` what was
 * deleted, then a second check, 125 if damage is left (`… still present after repair
 * attempt`); `-f` also removes the containers on damaged images. The root is damaged for
 * real: a blob's bytes changed on disk.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { localCtr, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
beforeEach(async () => {
  ctr = await localCtr('check');
});
afterEach(async () => {
  await ctr.cleanup();
});

/** The image's config blob, its bytes changed: the image ID no longer names them. */
async function corruptImage(): Promise<string> {
  const id = (await ctr.run('image', 'inspect', '-f', '{{.Id}}', 'busybox')).stdout.trim();
  const file = `${ctr.root}/content/blobs/sha256/${id.slice('sha256:'.length)}`;
  writeFileSync(file, `${readFileSync(file, 'utf8')} `);
  return id;
}

test('a sound root: nothing printed, exit 0', async () => {
  expect(await ctr.run('system', 'check')).toMatchObject({ code: 0, stdout: '', stderr: '' });
});

test('damage without --repair: each finding and what a repair would do, then exit 125', async () => {
  const id = await corruptImage();
  const result = await ctr.run('system', 'check');
  expect(result.code).toBe(125);
  expect(result.stderr).toBe('Error: damage detected in local storage\n');
  expect(result.stdout).toContain(
    `Damaged image ${id}:\n1 error occurred:\n\t* image docker.io/library/busybox:latest has corrupt blob ${id}\n\nRepair: the image is removed (no container uses it); pull or build it again\n`,
  );
  expect(result.stdout).toContain(`Damaged blob ${id}:\n1 error occurred:\n\t* corrupt blob ${id} (its content hashes to sha256:`);
});

test('--repair removes a damaged image no container uses; a second check finds nothing', async () => {
  const id = await corruptImage();
  const repaired = await ctr.run('system', 'check', '--repair');
  expect(repaired).toMatchObject({ code: 0, stderr: '' });
  expect(repaired.stdout).toMatch(new RegExp(`Deleted damaged blob: ${id}\nDeleted damaged image: ${id}\n$`));
  expect(repaired.stdout).not.toContain('Repair:');
  expect(await ctr.run('system', 'check')).toMatchObject({ code: 0, stdout: '' });
  expect((await ctr.run('image', 'inspect', 'busybox')).code).toBe(1);
});

test('-r leaves a damaged image a container uses (exit 125); -r -f removes both (exit 0)', async () => {
  const container = (await ctr.run('create', '--pull', 'never', '--network', 'none', 'busybox', 'true')).stdout.trim();
  const id = await corruptImage();

  const repaired = await ctr.run('system', 'check', '-r');
  expect(repaired.code).toBe(125);
  expect(repaired.stderr).toBe('Error: damage in local storage still present after repair attempt\n');
  expect(repaired.stdout).toContain(`Repair: left: used by container ${container.slice(0, 12)}; --force removes the image and its containers\n`);

  const forced = await ctr.run('system', 'check', '-r', '-f');
  expect(forced).toMatchObject({ code: 0, stderr: '' });
  expect(forced.stdout).toMatch(new RegExp(`Deleted damaged container: ${container}\nDeleted damaged image: ${id}\n$`));
  expect((await ctr.run('ps', '-aq')).stdout).toBe('');
  expect(await ctr.run('system', 'check')).toMatchObject({ code: 0, stdout: '' });
});

test('--max takes a Go duration; another value is a usage error (exit 125)', async () => {
  expect((await ctr.run('system', 'check', '--max', '1h30m')).code).toBe(0);
  const bad = await ctr.run('system', 'check', '-m', 'soon');
  expect(bad.code).toBe(125);
  expect(bad.stderr).toContain('invalid argument "soon" for "-m, --max" flag: time: invalid duration "soon"');
});

test('--help shows podman\'s flags', async () => {
  const help = await ctr.run('system', 'check', '--help');
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage:  ctr system check [OPTIONS]\n\nCheck storage consistency\n');
  for (const line of ['-f, --force ', '-m, --max duration ', '(default 24h0m0s)', '-q, --quick ', '-r, --repair ']) expect(help.stdout).toContain(line);
});

test('through a daemon (-H) it refuses: the Engine API has no such call', async () => {
  const result = await ctr.run('-H', `unix://${ctr.runRoot}/none.sock`, 'system', 'check');
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('system check works on the local store only');
});
