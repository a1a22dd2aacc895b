import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { holdCgroupMovesFast, keepCgroupMovesFastFor, keepingCgroupMovesFast } from '../src/cgroup-moves';

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
  await sleep(150);
  expect(keepingCgroupMovesFast()).toBe(false);
});

test('a create keeps the moves going only for the time a start is likely', async () => {
  keepCgroupMovesFastFor(20);
  expect(keepingCgroupMovesFast()).toBe(true);
  await sleep(150);
  expect(keepingCgroupMovesFast()).toBe(false);
});

test('releasing a hold twice does not release another start’s hold', async () => {
  const first = holdCgroupMovesFast();
  const second = holdCgroupMovesFast();
  first();
  first();
  await sleep(40);
  expect(keepingCgroupMovesFast()).toBe(true);
  second();
  await sleep(150);
  expect(keepingCgroupMovesFast()).toBe(false);
});
