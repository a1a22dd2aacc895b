import fs from 'node:fs';
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
