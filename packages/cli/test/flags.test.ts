import { parseFlags, type FlagSpec } from '../src/flags';

const specs: FlagSpec[] = [
  { name: 'interactive', short: 'i', type: 'bool', description: '' },
  { name: 'tty', short: 't', type: 'bool', description: '' },
  { name: 'env', short: 'e', type: 'list', description: '' },
  { name: 'name', type: 'string', description: '' },
  { name: 'time', short: 't', type: 'number', description: '' },
];
const runSpecs = specs.filter((s) => s.name !== 'time');

describe('flag parsing like docker', () => {
  test('short bool flags combine', () => {
    const { flags } = parseFlags(['-it', 'busybox'], runSpecs);
    expect(flags).toMatchObject({ interactive: true, tty: true });
  });

  test('values attach with a space, an equals sign or directly', () => {
    const { flags } = parseFlags(['-e', 'A=1', '-e=B=2', '-eC=3', '--env', 'D=4', '--env=E=5', '--name=web'], runSpecs);
    expect(flags.env).toEqual(['A=1', 'B=2', 'C=3', 'D=4', 'E=5']);
    expect(flags.name).toBe('web');
  });

  test('parsing stops at the image so the command keeps its own flags', () => {
    const { positionals, flags } = parseFlags(['-i', 'busybox', 'ls', '-la', '--name', 'x'], runSpecs, { stopAtPositional: true });
    expect(positionals).toEqual(['busybox', 'ls', '-la', '--name', 'x']);
    expect(flags.name).toBeUndefined();
  });

  test('an unknown flag is an error naming it', () => {
    expect(() => parseFlags(['--nope'], runSpecs)).toThrow('unknown flag: --nope');
  });

  test('a missing value is an error', () => {
    expect(() => parseFlags(['--name'], runSpecs)).toThrow('flag needs an argument: --name');
  });

  test('a number flag rejects words', () => {
    const stop = [{ name: 'time', short: 't', type: 'number', description: '' }] as FlagSpec[];
    expect(parseFlags(['-t', '3'], stop).flags.time).toBe(3);
    expect(() => parseFlags(['-t', 'soon'], stop)).toThrow('invalid argument "soon"');
  });
});
