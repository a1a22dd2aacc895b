import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { holdCgroupMovesFast, keepCgroupMovesFastFor, keepingCgroupMovesFast } from '../src/cgroup-moves';
import { eventually } from './helpers';

const ownCgroups = (): string => readFileSync('/proc/self/cgroup', 'utf8');

test('keeping cgroup moves fast leaves this process in the cgroups it was in', async () => {
  const before = ownCgroups();
  const release = holdCgroupMovesFast();
  await sleep(30);
  release();
  expect(ownCgroups()).toBe(before);
});

test('the moves go on while a start holds them and stop once it lets go', async () => {
  const release = holdCgroupMovesFast();
  await sleep(40);
  expect(keepingCgroupMovesFast()).toBe(true);
  release();
  await eventually(async () => expect(keepingCgroupMovesFast()).toBe(false));
});

test('a create keeps the moves going only for the time a start is likely', async () => {
  keepCgroupMovesFastFor(20);
  expect(keepingCgroupMovesFast()).toBe(true);
  // Kept 20 ms: over well within a second, however late a loaded machine's timers fire.
  await eventually(async () => expect(keepingCgroupMovesFast()).toBe(false), 1000);
});

test('releasing a hold twice does not release another start’s hold', async () => {
  const first = holdCgroupMovesFast();
  const second = holdCgroupMovesFast();
  first();
  first();
  await sleep(40);
  expect(keepingCgroupMovesFast()).toBe(true);
  second();
  await eventually(async () => expect(keepingCgroupMovesFast()).toBe(false));
});

test('a move the kernel refuses stops the moves, and they are not tried again', () => {
  // A module of its own, with its own `write`: the refusal is remembered per process.
  jest.isolateModules(() => {
    const fs = require('node:fs') as typeof import('node:fs');
    const refused = jest.spyOn(fs, 'write').mockImplementation(((_fd: number, _data: string, callback: (error: NodeJS.ErrnoException | null) => void) => {
      callback(Object.assign(new Error('EBUSY: resource busy or locked, write'), { code: 'EBUSY' }));
    }) as unknown as typeof fs.write);
    try {
      const moves = require('../src/cgroup-moves') as typeof import('../src/cgroup-moves');
      const release = moves.holdCgroupMovesFast();
      expect(moves.keepingCgroupMovesFast()).toBe(false);
      release();
      moves.holdCgroupMovesFast()();
      expect(refused).toHaveBeenCalledTimes(1);
    } finally {
      refused.mockRestore();
    }
  });
});
