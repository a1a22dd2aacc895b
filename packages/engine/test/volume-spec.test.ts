import { apiMount, mountRequest, parseVolumeSpec } from '@ctr/engine';

describe('-v modes, as dockerd accepts them', () => {
  test.each(['cached', 'delegated', 'consistent', 'z', 'Z', 'rw', 'nocopy', 'ro,z', 'rw,Z,delegated'])('name:/p:%s is accepted', (mode) => {
    expect(parseVolumeSpec(`data:/p:${mode}`)).toMatchObject({ kind: 'named', name: 'data', target: '/p', mode });
  });

  test('a consistency mode has no effect: the volume is writable and filled from the image', () => {
    expect(parseVolumeSpec('data:/p:cached')).toMatchObject({ readOnly: false, copy: true });
  });

  test('ro makes the mount read-only', () => {
    expect(parseVolumeSpec('/host:/p:ro,z')).toMatchObject({ kind: 'bind', source: '/host', readOnly: true });
  });

  test('nocopy keeps a named volume from being filled from the image', () => {
    expect(parseVolumeSpec('data:/p:nocopy')).toMatchObject({ kind: 'named', copy: false });
  });

  test('a propagation mode reaches a bind', () => {
    expect(parseVolumeSpec('/host:/p:rslave')).toMatchObject({ kind: 'bind', propagation: 'rslave' });
  });

  test('an unknown mode is refused with dockerd\'s words', () => {
    expect(() => parseVolumeSpec('data:/p:bogus')).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid mode: bogus' }));
  });

  test('two modes of one family are refused', () => {
    expect(() => parseVolumeSpec('data:/p:cached,delegated')).toThrow('invalid mode: cached,delegated');
    expect(() => parseVolumeSpec('data:/p:ro,rw')).toThrow('invalid mode: ro,rw');
  });

  test('a destination with a mode and no source is no volume', () => {
    expect(() => parseVolumeSpec('/p:ro')).toThrow("invalid volume specification: '/p:ro'");
  });

  test('nocopy on a bind is refused, as dockerd refuses volume options on one', () => {
    expect(() => parseVolumeSpec('/host:/p:nocopy')).toThrow(`invalid volume specification: '/host:/p:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`);
  });

  test('a propagation mode on a volume is refused', () => {
    expect(() => parseVolumeSpec('data:/p:shared')).toThrow(`invalid volume specification: 'data:/p:shared': invalid mount config for type "volume": field BindOptions must not be specified`);
  });

  test('a relative destination is refused', () => {
    expect(() => parseVolumeSpec('data:p')).toThrow(`invalid volume specification: 'data:p': invalid mount config for type "volume": invalid mount path: 'p' mount path must be absolute`);
  });

  test('the root as destination is refused', () => {
    expect(() => parseVolumeSpec('data:/')).toThrow(`invalid volume specification: 'data:/': invalid mount config for type "volume": invalid specification: destination can't be '/'`);
  });

  test('a path alone is an anonymous volume, filled from the image', () => {
    expect(parseVolumeSpec('/cache/')).toEqual({ kind: 'anonymous', target: '/cache', readOnly: false, copy: true });
  });
});

describe('--mount as the engine takes it', () => {
  test('volume options make a named volume with labels and driver options, not filled with volume-nocopy', () => {
    expect(
      mountRequest({ Type: 'volume', Source: 'vol', Target: '/x', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } } } }),
    ).toEqual({ kind: 'named', name: 'vol', target: '/x', readOnly: false, copy: false, create: { labels: { a: 'b' }, options: { type: 'tmpfs', device: 'tmpfs' } } });
  });

  test('a bind needs its source to exist unless CreateMountpoint says to make it', () => {
    expect(mountRequest({ Type: 'bind', Source: '/srv', Target: '/x' })).toMatchObject({ kind: 'bind', mustExist: true });
    expect(mountRequest({ Type: 'bind', Source: '/srv', Target: '/x', BindOptions: { CreateMountpoint: true } })).not.toHaveProperty('mustExist');
  });

  test('a subpath is kept, normalized', () => {
    expect(mountRequest({ Type: 'volume', Source: 'vol', Target: '/x', VolumeOptions: { Subpath: 'a//b/' } })).toMatchObject({ subpath: 'a/b' });
  });

  test('a subpath leaving the volume is refused in dockerd\'s words', () => {
    for (const Subpath of ['../x', '/abs', 'a/../../x']) {
      expect(() => mountRequest({ Type: 'volume', Source: 'vol', Target: '/x', VolumeOptions: { Subpath } })).toThrow(
        'invalid mount config for type "volume": subpath must be a relative path within the volume',
      );
    }
  });

  test('a subpath of an anonymous volume is refused', () => {
    expect(() => mountRequest({ Type: 'volume', Target: '/x', VolumeOptions: { Subpath: 'a' } })).toThrow('invalid mount config for type "volume": must not set Subpath when using anonymous volumes');
  });

  test('a read-only anonymous volume is refused', () => {
    expect(() => mountRequest({ Type: 'volume', Target: '/x', ReadOnly: true })).toThrow('invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes');
  });

  test('a volume driver named is the one a missing volume is made with', () => {
    expect(mountRequest({ Type: 'volume', Source: 'vol', Target: '/x', VolumeOptions: { DriverConfig: { Name: 'nfs' } } })).toMatchObject({ kind: 'named', create: { driver: 'nfs' } });
  });

  test('a tmpfs mount keeps its size, mode and read-only flag', () => {
    expect(mountRequest({ Type: 'tmpfs', Target: '/t', ReadOnly: true, TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1770 } })).toEqual({
      type: 'tmpfs',
      target: '/t',
      size: 1048576,
      mode: 0o1770,
      readOnly: true,
    });
  });

  test('a tmpfs mount with a source is refused', () => {
    expect(() => mountRequest({ Type: 'tmpfs', Source: 'x', Target: '/t' })).toThrow('invalid mount config for type "tmpfs": field Source must not be specified');
  });

  test('an unknown type, a missing target and a relative bind source are refused in dockerd\'s words', () => {
    expect(() => mountRequest({ Type: 'bind', Source: '/a' })).toThrow('invalid mount config for type "bind": field Target must not be empty');
    expect(() => mountRequest({ Type: 'bind', Source: 'site', Target: '/s' })).toThrow(`invalid mount config for type "bind": invalid mount path: 'site' mount path must be absolute`);
  });

  test('an image mount is refused: ctr has none', () => {
    expect(() => mountRequest({ Type: 'image', Source: 'busybox', Target: '/x' })).toThrow('invalid mount config for type "image": ctr has no image mounts');
  });
});

describe("a client's Mount as the API's", () => {
  test('an unknown type is refused in dockerd\'s words', () => {
    expect(() => apiMount({ Type: 'npipe', Target: '/x' })).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid mount config for type "npipe": mount type unknown' }));
  });

  test('an unknown bind propagation is refused', () => {
    expect(() => apiMount({ Type: 'bind', Source: '/a', Target: '/x', BindOptions: { Propagation: 'bogus' } })).toThrow('invalid mount config for type "bind": invalid propagation mode: bogus');
  });

  test('a consistency the API does not know is dropped; the rest is kept as sent', () => {
    expect(apiMount({ Type: 'bind', Source: '/a', Target: '/x', Consistency: 'bogus', BindOptions: { Propagation: 'rslave' } })).toEqual({
      Type: 'bind',
      Source: '/a',
      Target: '/x',
      BindOptions: { Propagation: 'rslave' },
    });
  });
});
