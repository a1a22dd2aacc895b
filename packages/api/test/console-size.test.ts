/**
 * `HostConfig.ConsoleSize`, the size of the client's terminal that docker's CLI sends with a
 * create: taken by ctrd as the engine's `consoleSize`, sent by ctr's client likewise.
 */
import { createOptionsFromBody } from '@ctr/api';
import { createRequest } from '../src/create-request';

test('ConsoleSize [height, width] is the create option consoleSize', () => {
  expect(createOptionsFromBody({ Image: 'busybox', Tty: true, HostConfig: { ConsoleSize: [31, 97] } }, undefined).consoleSize).toEqual({ height: 31, width: 97 });
});

test('ConsoleSize [0, 0], as docker sends it from no terminal, is none', () => {
  expect(createOptionsFromBody({ Image: 'busybox', HostConfig: { ConsoleSize: [0, 0] } }, undefined)).not.toHaveProperty('consoleSize');
});

test('a ConsoleSize that is not two sizes is refused, naming the field', () => {
  expect(() => createOptionsFromBody({ Image: 'busybox', HostConfig: { ConsoleSize: [31] } }, undefined)).toThrow('invalid HostConfig.ConsoleSize: expected [height, width]');
  expect(() => createOptionsFromBody({ Image: 'busybox', HostConfig: { ConsoleSize: [-1, 5] } }, undefined)).toThrow('invalid HostConfig.ConsoleSize');
});

test("the client sends consoleSize as docker's CLI does", () => {
  expect(createRequest({ image: 'busybox', tty: true, consoleSize: { height: 31, width: 97 } }).HostConfig?.ConsoleSize).toEqual([31, 97]);
  expect(createRequest({ image: 'busybox' }).HostConfig).not.toHaveProperty('ConsoleSize');
});
