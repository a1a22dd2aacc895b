/**
 * What a list command's `{{.}}` prints: docker CLI 28 hands its template a formatter context,
 * a Go struct of unexported fields that hold the API's item, and Go's fmt prints that struct
 * (`{v1 v2 …}`), a pointer inside it as an address. The expected outputs are what docker 28
 * printed for the same items (driven against ctrd); an address is any Go heap address, as
 * docker's differ on every run.
 */
import type { ContainerSummary, ImageSummary } from '@ctr/engine';
import { containerContext } from '../src/commands/containers';
import { imageContext } from '../src/commands/images';
import { volumeContext } from '../src/commands/volumes';
import { formatList } from '../src/format';

const ADDRESS = '0xc[0-9a-f]{9}';

/** `text` with each Go address in it made `ADDRESS`, for a pattern of the whole output. */
const withAddresses = (text: string): RegExp => new RegExp(`^${text.replace(/[[\]{}()+*?.^$|\\]/g, '\\$&').replace(/ADDRESS/g, ADDRESS)}$`);

const container: ContainerSummary = {
  Id: '840185ff68cbfe523f06b681a6975c149a8aaf881b58fc752b02130958a41481',
  Names: ['/c1'],
  Image: 'busybox',
  ImageID: 'sha256:f231cf9f907aa4def40f1da2b5119bf97736850cf9edc1e5c5d78d6a9c89e07a',
  Command: 'sleep 1000',
  Created: 1795398316,
  Ports: [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 53, Type: 'udp' },
  ],
  Labels: { z: '1', a: 'b' },
  State: 'running',
  Status: 'Up 2 seconds',
  HostConfig: { NetworkMode: 'bridge' },
  NetworkSettings: { Networks: {} },
  Mounts: [
    { Type: 'volume', Name: 'v1', Source: '/var/lib/ctr/volumes/v1/_data', Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
    { Type: 'bind', Source: '/srv/a', Destination: '/bb', Mode: '', RW: false, Propagation: 'rprivate' },
  ],
};

const image: ImageSummary = {
  Id: 'sha256:58674717cd9f4c3175648445c9e2f9985e54735ea035cba554b323d06c6ca974',
  ParentId: '',
  RepoTags: ['busybox:latest'],
  RepoDigests: [],
  Created: 1795464856,
  Size: 1_984_233,
  SharedSize: -1,
  VirtualSize: 1_984_233,
  Labels: {},
  Containers: -1,
};

const volume = { Name: 'v1', Driver: 'local' as const, Mountpoint: '/tmp/root/volumes/v1/_data', CreatedAt: '2026-11-23T20:18:56Z', Labels: {}, Options: {}, Scope: 'local' as const };

describe("ps's {{.}}: docker's ContainerContext", () => {
  test('prints its header, trunc, the API container.Summary in its order (ports, mounts as structs; NetworkSettings a pointer) and FieldsUsed', () => {
    expect(formatList('{{.}}', [containerContext(container, true)], {})).toMatch(
      withAddresses(
        '{{<nil>} true {840185ff68cbfe523f06b681a6975c149a8aaf881b58fc752b02130958a41481 [/c1] busybox sha256:f231cf9f907aa4def40f1da2b5119bf97736850cf9edc1e5c5d78d6a9c89e07a <nil> sleep 1000 1795398316 ' +
          '[{0.0.0.0 80 8080 tcp} { 53 0 udp}] 0 0 map[a:b z:1] running Up 2 seconds {bridge map[]} ADDRESS ' +
          '[{volume v1 /var/lib/ctr/volumes/v1/_data /data local z true } {bind  /srv/a /bb   false rprivate}]} map[]}\n',
      ),
    );
  });

  test('--no-trunc is its trunc false; the template fields it prints are untouched', () => {
    expect(formatList('{{.}}', [containerContext(container, false)], {})).toMatch(/^\{\{<nil>\} false \{840185ff/);
    expect(formatList('{{.ID}}', [containerContext(container, true)], {})).toBe('840185ff68cb\n');
  });

  test('printf "%+v" is given the pointer docker gives (&{…}); its + names the fields, at every depth, and signs no number', () => {
    expect(formatList('{{printf "%+v" .}}', [containerContext({ ...container, Ports: [], Mounts: [] }, true)], {})).toMatch(
      withAddresses(
        '&{HeaderContext:{Header:<nil>} trunc:true c:{ID:840185ff68cbfe523f06b681a6975c149a8aaf881b58fc752b02130958a41481 Names:[/c1] Image:busybox ' +
          'ImageID:sha256:f231cf9f907aa4def40f1da2b5119bf97736850cf9edc1e5c5d78d6a9c89e07a ImageManifestDescriptor:<nil> Command:sleep 1000 Created:1795398316 Ports:[] ' +
          'SizeRw:0 SizeRootFs:0 Labels:map[a:b z:1] State:running Status:Up 2 seconds HostConfig:{NetworkMode:bridge Annotations:map[]} NetworkSettings:ADDRESS Mounts:[]} FieldsUsed:map[]}\n',
      ),
    );
  });

  test('its json is still the map of its template fields', () => {
    expect(Object.keys(JSON.parse(formatList('json', [containerContext(container, true)], {})) as object)).toContain('RunningFor');
  });
});

test('print and println, given the context, print the pointer as &{…} too', () => {
  expect(formatList('{{print .}}', [volumeContext(volume)], {})).toBe('&{{<nil>} {<nil> 2026-11-23T20:18:56Z local map[] /tmp/root/volumes/v1/_data v1 map[] local map[] <nil>}}\n');
  expect(formatList('{{println .}}', [volumeContext(volume)], {})).toBe('&{{<nil>} {<nil> 2026-11-23T20:18:56Z local map[] /tmp/root/volumes/v1/_data v1 map[] local map[] <nil>}}\n\n');
});

test("images' {{.}}: docker's imageContext, the API image.Summary then the row's repository, tag and digest", () => {
  expect(formatList('{{.}}', [imageContext(image, { repo: 'busybox', tag: 'latest', digest: '<none>' }, true)], {})).toBe(
    '{{<nil>} true {-1 1795464856 sha256:58674717cd9f4c3175648445c9e2f9985e54735ea035cba554b323d06c6ca974 map[]  <nil> [] [] [busybox:latest] -1 1984233 1984233} busybox latest <none>}\n',
  );
});

test("volume ls' {{.}}: docker's volumeContext, the API volume.Volume; usage data is a pointer", () => {
  expect(formatList('{{.}}', [volumeContext(volume)], {})).toBe('{{<nil>} {<nil> 2026-11-23T20:18:56Z local map[] /tmp/root/volumes/v1/_data v1 map[] local map[] <nil>}}\n');
  expect(formatList('{{.}}', [volumeContext({ ...volume, UsageData: { Size: 1, RefCount: 0 } })], {})).toMatch(withAddresses('{{<nil>} {<nil> 2026-11-23T20:18:56Z local map[] /tmp/root/volumes/v1/_data v1 map[] local map[] ADDRESS}}\n'));
});

test('printf "%+v" of a number is the number: the + names fields, it does not sign', () => {
  expect(formatList('{{printf "%+v|%+d|%+v" 5 5 -5}}', [{}], {})).toBe('5|+5|-5\n');
});
