import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

describe('generated names that clash', () => {
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

  /** A record for `id`, so its name is held by a live container rather than left by a crash. */
  const holder = (id: string): void => {
    fs.writeFileSync(path.join(root, 'engine', 'containers', `${id}.json`), '{}');
  };

  test('a retried name carries a digit, as Docker retries do', () => {
    expect(randomName(1)).toMatch(/^[a-z]+_[a-z]+\d$/);
  });

  test('a clash with a container that holds the name is answered with another name', async () => {
    const first = newId();
    holder(first);
    await records.claimName('happy_hopper', first);
    jest.spyOn(names, 'randomName').mockImplementation((retry = 0) => (retry === 0 ? 'happy_hopper' : 'happy_hopper7'));
    const second = newId();
    await expect(records.claimGeneratedName(second)).resolves.toBe('happy_hopper7');
    expect(fs.readlinkSync(path.join(root, 'engine', 'names', 'happy_hopper7'))).toBe(second);
    expect(fs.readlinkSync(path.join(root, 'engine', 'names', 'happy_hopper'))).toBe(first);
  });

  test('after six clashes the name is the short ID', async () => {
    const first = newId();
    holder(first);
    await records.claimName('happy_hopper', first);
    const generate = jest.spyOn(names, 'randomName').mockReturnValue('happy_hopper');
    const second = newId();
    await expect(records.claimGeneratedName(second)).resolves.toBe(second.slice(0, 12));
    expect(generate).toHaveBeenCalledTimes(6);
  });
});
