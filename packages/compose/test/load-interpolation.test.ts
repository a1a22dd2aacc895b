import { substitute } from '../src/interpolate';
import { load, removeFixtures } from './load-support';

afterAll(removeFixtures);

const env: Record<string, string> = { SET: 'value', EMPTY: '' };
const lookup = (name: string): string | undefined => env[name];
const sub = (template: string): string => substitute(template, lookup);

describe('interpolation forms', () => {
  test('$VAR and ${VAR} take the value', () => {
    expect(sub('a-$SET-${SET}-b')).toBe('a-value-value-b');
  });

  test('${VAR:-default} falls back when unset or empty', () => {
    expect([sub('${UNSET:-d}'), sub('${EMPTY:-d}'), sub('${SET:-d}')]).toEqual(['d', 'd', 'value']);
  });

  test('${VAR-default} falls back only when unset', () => {
    expect([sub('${UNSET-d}'), sub('${EMPTY-d}'), sub('${SET-d}')]).toEqual(['d', '', 'value']);
  });

  test('${VAR:+alt} gives the alternative when set and not empty', () => {
    expect([sub('${UNSET:+alt}'), sub('${EMPTY:+alt}'), sub('${SET:+alt}')]).toEqual(['', '', 'alt']);
  });

  test('${VAR+alt} gives the alternative when set, even empty', () => {
    expect([sub('${UNSET+alt}'), sub('${EMPTY+alt}'), sub('${SET+alt}')]).toEqual(['', 'alt', 'alt']);
  });

  test('defaults nest', () => {
    expect(sub('${UNSET:-${ALSO_UNSET:-${SET}}}/x')).toBe('value/x');
  });

  test('$$ is a literal dollar', () => {
    expect(sub('echo $$HOME $${SET}')).toBe('echo $HOME ${SET}');
  });

  test('${VAR:?err} fails on an empty value with compose\'s words', () => {
    expect(() => sub('${EMPTY:?must be set}')).toThrow('required variable EMPTY is missing a value: must be set');
  });

  test('${VAR?err} fails only when unset', () => {
    expect(sub('${EMPTY?boom}')).toBe('');
    expect(() => sub('${UNSET?boom}')).toThrow('required variable UNSET is missing a value: boom');
  });

  test('an unset plain variable is reported and becomes blank', () => {
    const unset: string[] = [];
    expect(substitute('x${NOPE}y', lookup, (name) => unset.push(name))).toBe('xy');
    expect(unset).toEqual(['NOPE']);
  });
});

describe('interpolation of a compose file', () => {
  test('warns once per unset variable, in compose\'s words', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: busybox:${TAG}\n    hostname: ${TAG}\n' });
    expect(project.services.web?.image).toBe('busybox:');
    expect(project.warnings).toEqual(['The "TAG" variable is not set. Defaulting to a blank string.']);
  });

  test('the process environment wins over .env', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: busybox:${TAG}\n', '.env': 'TAG=fromfile\n' }, { env: { TAG: 'fromenv' } });
    expect(project.services.web?.image).toBe('busybox:fromenv');
  });

  test('.env values are used when the process does not set them', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: busybox:${TAG}\n', '.env': 'TAG=fromfile\n' });
    expect(project.services.web?.image).toBe('busybox:fromfile');
  });

  test('--env-file replaces the default .env', async () => {
    const project = await load(
      { 'compose.yaml': 'services:\n  web:\n    image: busybox:${TAG}\n', '.env': 'TAG=default\n', 'prod.env': 'TAG=prod\n' },
      { envFiles: ['prod.env'] },
    );
    expect(project.services.web?.image).toBe('busybox:prod');
  });

  test('a missing --env-file is an error', async () => {
    await expect(load({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n' }, { envFiles: ['nope.env'] })).rejects.toThrow("couldn't find env file:");
  });

  test('a missing required variable names the path', async () => {
    await expect(load({ 'compose.yaml': 'services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n' })).rejects.toThrow(
      'error while interpolating services.web.image: required variable IMAGE is missing a value: set IMAGE',
    );
  });

  test('an invalid template is compose\'s error', async () => {
    await expect(load({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n    command: echo ${}\n' })).rejects.toThrow(
      'invalid interpolation format for services.web.command.\nYou may need to escape any $ with another $.\necho ${}',
    );
  });

  test('interpolated numbers and booleans are read as such', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n    scale: ${N}\n    tty: ${TTY}\n' }, { env: { N: '3', TTY: 'true' } });
    expect(project.services.web?.scale).toBe(3);
    expect(project.services.web?.tty).toBe(true);
  });

  test('--no-interpolate leaves the text as written', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: busybox:${TAG:-latest}\n' }, { interpolate: false });
    expect(project.services.web?.image).toBe('busybox:${TAG:-latest}');
  });

  test('keys are not interpolated', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n    labels:\n      ${K}: v\n' }, { env: { K: 'x' } });
    expect(project.services.web?.labels).toEqual({ '${K}': 'v' });
  });
});
