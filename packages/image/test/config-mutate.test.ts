import {
  appendEmptyLayerHistory,
  appendLayer,
  configPlatform,
  createImageConfig,
  digestOf,
  historyEntry,
  imageId,
  layerHistory,
  MediaTypes,
  parseImageConfig,
  schemaProblems,
  serializeImageConfig,
  withContainerConfig,
  type DiffID,
} from '@ctr/image';

const DIFF1 = digestOf('one') as string as DiffID;
const DIFF2 = digestOf('two') as string as DiffID;
const WHEN = '2024-05-06T07:08:09.000Z';

describe('history entries', () => {
  test('historyEntry stamps RFC 3339 time and marks empty layers', () => {
    expect(historyEntry('CMD ["sh"]', { emptyLayer: true, created: new Date(WHEN), comment: 'c' })).toEqual({
      created: WHEN,
      created_by: 'CMD ["sh"]',
      comment: 'c',
      empty_layer: true,
    });
    expect(historyEntry('RUN x').created).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });
});

describe('building a config step by step', () => {
  const base = createImageConfig({ platform: { os: 'linux', architecture: 'aarch64' }, created: new Date(WHEN) });

  test('a new config is for the normalised platform with no layers', () => {
    expect(base).toEqual({ architecture: 'arm64', os: 'linux', created: WHEN, rootfs: { type: 'layers', diff_ids: [] }, history: [] });
    expect(configPlatform(base)).toEqual({ os: 'linux', architecture: 'arm64' });
  });

  test('layers and history accumulate; inputs are left unchanged', () => {
    const one = appendLayer(base, DIFF1, historyEntry('COPY . /', { created: WHEN }));
    const two = appendEmptyLayerHistory(one, historyEntry('CMD ["sh"]', { created: '2024-05-06T07:08:10Z' }));
    const three = appendLayer(two, DIFF2, historyEntry('RUN /bin/sh -c true', { created: WHEN, emptyLayer: true }));
    expect(base.rootfs.diff_ids).toEqual([]);
    expect(one.history).toHaveLength(1);
    expect(three.rootfs.diff_ids).toEqual([DIFF1, DIFF2]);
    expect(three.history?.map((h) => h.empty_layer === true)).toEqual([false, true, false]);
    expect(layerHistory(three)).toHaveLength(2);
    expect(two.created).toBe('2024-05-06T07:08:10Z');
  });

  test('withContainerConfig merges runtime defaults', () => {
    const configured = withContainerConfig(withContainerConfig(base, { Cmd: ['sh'], Env: ['A=1'] }), { Cmd: ['bash'] });
    expect(configured.config).toEqual({ Cmd: ['bash'], Env: ['A=1'] });
    expect(base.config).toBeUndefined();
  });

  test('serialised configs are canonical, parse back, satisfy the OCI schema, and their digest is the image ID', () => {
    const made = withContainerConfig(appendLayer(base, DIFF1, historyEntry('COPY . /', { created: WHEN })), { Cmd: ['sh'] });
    const { bytes, descriptor } = serializeImageConfig(made);
    expect(descriptor.mediaType).toBe(MediaTypes.ociConfig);
    expect(imageId(descriptor.digest)).toBe(digestOf(bytes));
    expect(serializeImageConfig(JSON.parse(bytes.toString()) as typeof made).bytes.equals(bytes)).toBe(true);
    expect(parseImageConfig(bytes)).toEqual(made);
    expect(schemaProblems('config', bytes)).toEqual([]);
    expect(serializeImageConfig(made, MediaTypes.dockerConfig).descriptor.mediaType).toBe(MediaTypes.dockerConfig);
  });
});
