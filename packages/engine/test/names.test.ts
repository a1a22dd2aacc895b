import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { procStat, START_TIME } from '@ctr/runtime';
import { ContainerRecords } from '../src/container-records';
import * as names from '../src/names';
import { isValidContainerName, newId, randomName } from '../src/names';

describe('container IDs and names', () => {
  test('an ID is 64 lowercase hex characters, different each time', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newId()));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a generated name is adjective_surname, a valid container name, and never boring_wozniak', () => {
    const names = Array.from({ length: 2000 }, () => randomName());
    for (const name of names) {
      expect(name).toMatch(/^[a-z]+_[a-z]+$/);
      expect(isValidContainerName(name)).toBe(true);
    }
    expect(names).not.toContain('boring_wozniak');
  });

  test('generated names spread over the lists rather than repeating a few', () => {
    const names = new Set(Array.from({ length: 2000 }, () => randomName()));
    expect(names.size).toBeGreaterThan(1500);
  });
});

describe('the random source', () => {
  test('one that returns nothing fails the ID with an Internal error rather than looping', () => {
    const readSync = jest.spyOn(fs, 'readSync').mockReturnValue(0);
    try {
      expect(() => newId()).toThrow(expect.objectContaining({ code: 'Internal', message: expect.stringContaining('/dev/urandom ended') }));
    } finally {
      readSync.mockRestore();
    }
  });
});

describe('names on a root', () => {
  let root: string;
  let records: ContainerRecords;
  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ctr-names-'));
    records = new ContainerRecords(root);
    await records.init();
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const link = (name: string): string => path.join(root, 'engine', 'names', name);
  /** A record for `id` under `name`, so the name is held by a live container rather than left by a crash. */
  const holder = (id: string, name: string): void => {
    fs.writeFileSync(path.join(root, 'engine', 'containers', `${id}.json`), JSON.stringify({ id, name }));
  };
  /** The container a name's link points at. */
  const ownerOf = (name: string): string => fs.readlinkSync(link(name)).split(' ')[0] as string;

  describe('generated names that clash', () => {
    test('a retried name carries a digit, as Docker retries do', () => {
      expect(randomName(1)).toMatch(/^[a-z]+_[a-z]+\d$/);
    });

    test('a clash with a container that holds the name is answered with another name', async () => {
      const first = newId();
      holder(first, 'happy_hopper');
      await records.claimName('happy_hopper', first);
      jest.spyOn(names, 'randomName').mockImplementation((retry = 0) => (retry === 0 ? 'happy_hopper' : 'happy_hopper7'));
      const second = newId();
      await expect(records.claimGeneratedName(second)).resolves.toBe('happy_hopper7');
      expect(ownerOf('happy_hopper7')).toBe(second);
      expect(ownerOf('happy_hopper')).toBe(first);
    });

    test('after six clashes the name is the short ID', async () => {
      const first = newId();
      holder(first, 'happy_hopper');
      await records.claimName('happy_hopper', first);
      const generate = jest.spyOn(names, 'randomName').mockReturnValue('happy_hopper');
      const second = newId();
      await expect(records.claimGeneratedName(second)).resolves.toBe(second.slice(0, 12));
      expect(generate).toHaveBeenCalledTimes(6);
    });
  });

  describe('names claimed while their containers are made', () => {
    /** A claim as another process makes it: the container's ID, the claimer's PID and start time. */
    const claimBy = (name: string, id: string, pid: number): void => fs.symlinkSync(`${id} ${pid} ${procStat(pid)?.[START_TIME]}`, link(name));

    test('a name another live process is making a container for is not taken over', async () => {
      const claimer = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        await new Promise((resolve) => claimer.once('spawn', resolve));
        const theirs = newId();
        claimBy('web', theirs, claimer.pid as number);
        await expect(records.claimName('web', newId())).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining(`already in use by container "${theirs}"`) });
      } finally {
        claimer.kill('SIGKILL');
      }
    });

    test('a name whose claimer ended before writing the record is free', async () => {
      const claimer = spawn('sleep', ['30'], { stdio: 'ignore' });
      await new Promise((resolve) => claimer.once('spawn', resolve));
      claimBy('web', newId(), claimer.pid as number);
      claimer.kill('SIGKILL');
      await new Promise((resolve) => claimer.once('close', resolve));
      const ours = newId();
      await expect(records.claimName('web', ours)).resolves.toBe('web');
      expect(ownerOf('web')).toBe(ours);
    });

    test('a second claim of a name this process is still making a container for is refused', async () => {
      const first = newId();
      await records.claimName('web', first);
      await expect(records.claimName('web', newId())).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining(first) });
    });

    test('once the record is written the link names the container alone, and holds while the record exists', async () => {
      const id = newId();
      await records.claimName('web', id);
      holder(id, 'web');
      await records.confirmName('web', id);
      expect(fs.readlinkSync(link('web'))).toBe(id);
      await expect(records.claimName('web', newId())).rejects.toMatchObject({ code: 'Conflict' });
    });

    test('a confirmation that cannot be made (a full disk) leaves the claim in progress, still the container\'s', async () => {
      const id = newId();
      await records.claimName('web', id);
      holder(id, 'web');
      const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      jest.spyOn(fs, 'renameSync').mockImplementation(() => {
        throw full;
      });
      try {
        await expect(records.confirmName('web', id)).resolves.toBeUndefined();
      } finally {
        jest.restoreAllMocks();
      }
      expect(fs.readlinkSync(link('web'))).toMatch(new RegExp(`^${id} ${process.pid} `));
      expect(fs.readdirSync(path.join(root, 'engine', 'names'))).toEqual(['web']);
      await expect(records.claimName('web', newId())).rejects.toMatchObject({ code: 'Conflict' });
    });

    test('a confirmed name whose record has gone (a crash between the removals) is free', async () => {
      const id = newId();
      await records.claimName('web', id);
      await records.confirmName('web', id);
      const next = newId();
      await expect(records.claimName('web', next)).resolves.toBe('web');
    });

    describe('a rename cut short', () => {
      /** A container `id` whose record names it `recorded`, with `links` (name → link target) as a rename left them. */
      const renamed = (id: string, recorded: string, links: Record<string, string>): void => {
        holder(id, recorded);
        for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, link(name));
      };

      test('before the record was rewritten: the new name is free again and finds nothing', async () => {
        const claimer = spawn('sleep', ['30'], { stdio: 'ignore' });
        await new Promise((resolve) => claimer.once('spawn', resolve));
        const id = newId();
        renamed(id, 'old', { old: id, new: `${id} ${claimer.pid as number} ${procStat(claimer.pid as number)?.[START_TIME]}` });
        claimer.kill('SIGKILL');
        await new Promise((resolve) => claimer.once('close', resolve));
        await expect(records.find('new')).rejects.toMatchObject({ code: 'NotFound' });
        const next = newId();
        await expect(records.claimName('new', next)).resolves.toBe('new');
        expect(ownerOf('new')).toBe(next);
        await expect(records.find('old')).resolves.toMatchObject({ id, name: 'old' });
      });

      test('after the record was rewritten: the old name is free again and finds nothing', async () => {
        const id = newId();
        renamed(id, 'new', { old: id, new: id });
        await expect(records.find('old')).rejects.toMatchObject({ code: 'NotFound' });
        await expect(records.claimName('old', newId())).resolves.toBe('old');
        await expect(records.claimName('new', newId())).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining(id) });
      });

      test('while a live process renames the container, the name it claimed is not taken over', async () => {
        const claimer = spawn('sleep', ['30'], { stdio: 'ignore' });
        try {
          await new Promise((resolve) => claimer.once('spawn', resolve));
          const id = newId();
          renamed(id, 'old', { old: id, new: `${id} ${claimer.pid as number} ${procStat(claimer.pid as number)?.[START_TIME]}` });
          await expect(records.claimName('new', newId())).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining(id) });
        } finally {
          claimer.kill('SIGKILL');
        }
      });
    });

    test('a released claim is free for the next container', async () => {
      const id = newId();
      await records.claimName('web', id);
      await records.releaseName('web', id);
      expect(fs.existsSync(link('web'))).toBe(false);
      await expect(records.claimName('web', newId())).resolves.toBe('web');
    });
  });
});
