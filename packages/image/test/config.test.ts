import { readFileSync } from 'node:fs';
import { isCtrError } from '@ctr/errors';
import { digestOf, imageId, layerHistory, parseImageConfig, type DiffID } from '@ctr/image';
import { CONFORMANCE } from '../../../test/conformance';

const DIFF = digestOf('layer tar') as string as DiffID;
const BASE = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [DIFF] } };

function config(extra: Record<string, unknown>, container?: Record<string, unknown>): string {
  return JSON.stringify({ ...BASE, ...extra, ...(container === undefined ? {} : { config: container }) });
}

function refusal(text: string): string {
  try {
    parseImageConfig(text);
  } catch (error) {
    expect(isCtrError(error) && error.code).toBe('InvalidArgument');
    return (error as Error).message;
  }
  throw new Error('expected InvalidArgument');
}

describe('parseImageConfig reads every field Docker and OCI define', () => {
  test('a full config', () => {
    const parsed = parseImageConfig(
      config(
        {
          created: '2024-01-02T03:04:05.123456789Z',
          author: 'me',
          variant: 'v2',
          'os.version': '1',
          'os.features': ['f'],
          docker_version: '24.0.7',
          history: [
            { created: '2024-01-02T03:04:05Z', created_by: '/bin/sh -c #(nop) ADD file:x in / ' },
            { created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true, comment: 'c', author: 'a' },
          ],
        },
        {
          User: '1000:1000',
          ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8080': {} },
          Env: ['PATH=/usr/bin:/bin', 'EMPTY='],
          Entrypoint: ['/entry'],
          Cmd: ['sh', '-c', 'echo hi'],
          Volumes: { '/data': {} },
          WorkingDir: '/app',
          Labels: { 'org.example': 'yes' },
          StopSignal: 'SIGQUIT',
          ArgsEscaped: true,
          Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30e9, Timeout: 5e9, StartPeriod: 0, StartInterval: 1e9, Retries: 3 },
          Shell: ['/bin/bash', '-c'],
          OnBuild: ['RUN echo child'],
        },
      ),
    );
    expect(parsed).toEqual({
      architecture: 'amd64',
      os: 'linux',
      variant: 'v2',
      'os.version': '1',
      'os.features': ['f'],
      created: '2024-01-02T03:04:05.123456789Z',
      author: 'me',
      docker_version: '24.0.7',
      rootfs: { type: 'layers', diff_ids: [DIFF] },
      history: [
        { created: '2024-01-02T03:04:05Z', created_by: '/bin/sh -c #(nop) ADD file:x in / ' },
        { created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true, comment: 'c', author: 'a' },
      ],
      config: {
        User: '1000:1000',
        ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8080': {} },
        Env: ['PATH=/usr/bin:/bin', 'EMPTY='],
        Entrypoint: ['/entry'],
        Cmd: ['sh', '-c', 'echo hi'],
        Volumes: { '/data': {} },
        WorkingDir: '/app',
        Labels: { 'org.example': 'yes' },
        StopSignal: 'SIGQUIT',
        ArgsEscaped: true,
        Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30e9, Timeout: 5e9, StartPeriod: 0, StartInterval: 1e9, Retries: 3 },
        Shell: ['/bin/bash', '-c'],
        OnBuild: ['RUN echo child'],
      },
    });
  });

  test('Go nulls read as absent', () => {
    const parsed = parseImageConfig(config({}, { Cmd: null, Entrypoint: null, Volumes: null, OnBuild: null, Labels: null, Env: null }));
    expect(parsed.config).toEqual({});
  });

  test('a real Docker config (from the image-spec vectors) parses', () => {
    const vectors = JSON.parse(
      readFileSync(`${CONFORMANCE}/oci-image-spec/schema-test-vectors.json`, 'utf8'),
    ) as { backwardsCompatibility: Record<string, { cases: { document: string }[] }> };
    const text = vectors.backwardsCompatibility['TestBackwardsCompatibilityConfig']?.cases[0]?.document ?? '';
    const parsed = parseImageConfig(Buffer.from(text));
    expect(parsed.os).toBe('linux');
    expect(parsed.rootfs.diff_ids.length).toBeGreaterThan(0);
    expect(parsed.config?.Env?.some((entry) => entry.startsWith('PATH='))).toBe(true);
  });

  test('unknown fields are ignored', () => {
    expect(parseImageConfig(config({ container_config: { Hostname: 'x' }, future: 1 }))).toEqual(BASE);
  });
});

describe('bad configs are InvalidArgument naming the field', () => {
  test.each([
    ['no architecture', config({ architecture: undefined }), 'field "architecture" is required'],
    ['numeric os', config({ os: 123 }), 'field "os" must be a string, not a number'],
    ['no rootfs', config({ rootfs: undefined }), 'field "rootfs" is required'],
    ['rootfs of another type', config({ rootfs: { type: 'tarball', diff_ids: [] } }), 'field "rootfs.type" must be "layers"'],
    ['bad diff_id', config({ rootfs: { type: 'layers', diff_ids: [DIFF, 'sha256:../x'] } }), 'field "rootfs.diff_ids[1]" is invalid'],
    ['diff_ids missing', config({ rootfs: { type: 'layers' } }), 'field "rootfs.diff_ids" is required'],
    ['history not an array', config({ history: 'x' }), 'field "history" must be an array'],
    ['history entry not an object', config({ history: [1] }), 'field "history[0]" must be an object'],
    ['empty_layer not a boolean', config({ history: [{ empty_layer: 'yes' }] }), 'field "history[0].empty_layer" must be true or false'],
    ['bad created', config({ created: 'yesterday' }), 'field "created" "yesterday" is not an RFC 3339 date-time'],
    ['numeric User', config({}, { User: 0 }), 'field "config.User" must be a string'],
    ['Env entry without =', config({}, { Env: ['PATH'] }), 'field "config.Env[0]" "PATH" is not of the form KEY=value'],
    ['Env entry with empty key', config({}, { Env: ['=x'] }), 'config.Env[0]'],
    ['numeric Env entry', config({}, { Env: [1] }), 'field "config.Env[0]" must be a string'],
    ['Cmd as a string', config({}, { Cmd: 'sh' }), 'field "config.Cmd" must be an array'],
    ['Volumes as an array', config({}, { Volumes: ['/data'] }), 'field "config.Volumes" must be an object'],
    ['a volume that is not an object', config({}, { Volumes: { '/data': 'yes' } }), 'field "config.Volumes./data" must be an object'],
    ['label not a string', config({}, { Labels: { a: true } }), 'field "config.Labels.a" must be a string'],
    ['negative health interval', config({}, { Healthcheck: { Interval: -1 } }), 'field "config.Healthcheck.Interval" must be at least 0'],
    ['config not an object', config({ config: [] }), 'field "config" must be an object, not an array'],
    ['not JSON', '{"os":', 'image config is not valid JSON'],
  ])('%s', (_name, text, wording) => {
    expect(refusal(text)).toContain(wording);
  });
});

describe('image IDs and history', () => {
  test('the image ID is the config digest', () => {
    const bytes = Buffer.from(config({}));
    expect(imageId(digestOf(bytes))).toBe(digestOf(bytes));
  });

  test('layerHistory pairs non-empty history entries with diff_ids', () => {
    const parsed = parseImageConfig(config({ history: [{ created_by: 'ADD' }, { created_by: 'CMD', empty_layer: true }] }));
    expect(layerHistory(parsed)).toEqual([{ created_by: 'ADD' }]);
  });

  test('layerHistory refuses history that does not match the layers', () => {
    const parsed = parseImageConfig(config({ history: [{ created_by: 'CMD', empty_layer: true }] }));
    expect(() => layerHistory(parsed)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});
