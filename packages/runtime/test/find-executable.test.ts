import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findExecutable } from '../src/host-facts';

describe('finding a program on PATH', () => {
  let base: string;
  let savedPath: string | undefined;
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'ctr-find-'));
    savedPath = process.env.PATH;
  });
  afterEach(() => {
    process.env.PATH = savedPath;
    fs.rmSync(base, { recursive: true, force: true });
  });

  const dir = (name: string): string => {
    const d = path.join(base, name);
    fs.mkdirSync(d);
    return d;
  };

  test('the first executable file wins, past directories without it and a directory of its name', async () => {
    const empty = dir('empty');
    const shadow = dir('shadow');
    fs.mkdirSync(path.join(shadow, 'tool'));
    const bin = dir('bin');
    fs.writeFileSync(path.join(bin, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    process.env.PATH = [empty, shadow, bin].join(':');
    await expect(findExecutable('tool')).resolves.toBe(path.join(bin, 'tool'));
  });

  test('nothing usable is reported with what each place held', async () => {
    const empty = dir('empty');
    const shadow = dir('shadow');
    fs.mkdirSync(path.join(shadow, 'tool'));
    process.env.PATH = [empty, shadow].join(':');
    await expect(findExecutable('tool')).rejects.toMatchObject({
      code: 'Unavailable',
      message: `tool not found (tried ${path.join(empty, 'tool')}: ENOENT; ${path.join(shadow, 'tool')}: not a file)`,
    });
  });
});
