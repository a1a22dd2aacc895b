import { createOptionsFromBody } from '@ctr/api';

test('Config.Volumes is passed on as posted, the targets binds cover included (dockerd keeps them all)', () => {
  const options = createOptionsFromBody(
    { Image: 'busybox', Volumes: { '/anon': {}, '/html': {}, '/named': {} }, HostConfig: { Binds: ['/srv/html:/html:rw', 'named:/named:rw'] } },
    undefined,
  );
  expect(options.configVolumes).toEqual(['/anon', '/html', '/named']);
  expect(options.volumes).toEqual(['/srv/html:/html:rw', 'named:/named:rw', '/anon']);
});
