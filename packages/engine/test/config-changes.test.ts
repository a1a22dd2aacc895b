/**
 * `--change` for `import` and `commit`: Dockerfile instructions applied to an image config,
 * with words processed as a Dockerfile's are (quotes removed, `$VAR` from the config's env).
 */
import { applyConfigChanges } from '../src/config-changes';

test('ENV removes the quotes around a value, as a Dockerfile does', () => {
  expect(applyConfigChanges(['ENV A="x y"']).Env).toEqual(['A=x y']);
});

test('ENV replaces an inherited value in place and keeps the other variables', () => {
  expect(applyConfigChanges(['ENV B=2'], { Env: ['PATH=/bin', 'B=1', 'C=3'] }).Env).toEqual(['PATH=/bin', 'B=2', 'C=3']);
});

test('a variable set by an earlier change expands in a later one', () => {
  expect(applyConfigChanges(['ENV DIR=/srv', 'WORKDIR $DIR/app']).WorkingDir).toBe('/srv/app');
});

test('the values of one ENV expand with the environment from before it', () => {
  expect(applyConfigChanges(['ENV A=new B=$A'], { Env: ['A=old'] }).Env).toEqual(['A=new', 'B=old']);
});

test('LABEL removes quotes from keys and values', () => {
  expect(applyConfigChanges(['LABEL "com.example.name"="my app" version=1']).Labels).toEqual({ 'com.example.name': 'my app', version: '1' });
});

test('USER, EXPOSE, VOLUME and STOPSIGNAL expand variables', () => {
  const config = applyConfigChanges(['USER ${WHO}', 'EXPOSE $PORT', 'VOLUME $DATA', 'STOPSIGNAL $SIG'], { Env: ['WHO=app', 'PORT=8080', 'DATA=/data', 'SIG=SIGINT'] });
  expect(config).toMatchObject({ User: 'app', ExposedPorts: { '8080/tcp': {} }, Volumes: { '/data': {} }, StopSignal: 'SIGINT' });
});

test('CMD in JSON form keeps its words as written', () => {
  expect(applyConfigChanges(['CMD ["echo", "$HOME"]']).Cmd).toEqual(['echo', '$HOME']);
});

test('an unterminated quote is InvalidArgument', () => {
  expect(() => applyConfigChanges(['ENV A="x'])).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
});

test('an instruction docker does not allow here is InvalidArgument naming it', () => {
  expect(() => applyConfigChanges(['RUN true'])).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'run is not a valid change command' }));
});

test('an unknown instruction is not a valid change command, as docker words it, not a Dockerfile error', () => {
  expect(() => applyConfigChanges(['BOGUS x'])).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'bogus is not a valid change command' }));
});

test('EXPOSE takes ranges and protocols as a Dockerfile does', () => {
  expect(applyConfigChanges(['EXPOSE 8000-8002/udp 9000']).ExposedPorts).toEqual({ '8000/udp': {}, '8001/udp': {}, '8002/udp': {}, '9000/tcp': {} });
});

test('EXPOSE splits a variable into the ports it holds, as a Dockerfile does', () => {
  expect(applyConfigChanges(['EXPOSE $PORTS 9000'], { Env: ['PORTS=80 443/udp'] }).ExposedPorts).toEqual({ '80/tcp': {}, '443/udp': {}, '9000/tcp': {} });
});

test('an invalid port or signal is InvalidArgument naming it', () => {
  expect(() => applyConfigChanges(['EXPOSE http'])).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('Invalid containerPort: http') }));
  expect(() => applyConfigChanges(['STOPSIGNAL SIGNOPE'])).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('Invalid signal: SIGNOPE') }));
});

test('a relative WORKDIR is taken from the image\'s working directory', () => {
  expect(applyConfigChanges(['WORKDIR app'], { WorkingDir: '/srv' }).WorkingDir).toBe('/srv/app');
});

test('an empty VOLUME is InvalidArgument', () => {
  expect(() => applyConfigChanges(['VOLUME [""]'])).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
});

test('ENTRYPOINT clears the CMD the image had, unless a change set one too (docker\'s rule)', () => {
  expect(applyConfigChanges(['ENTRYPOINT ["/app"]'], { Cmd: ['sh'] })).not.toHaveProperty('Cmd');
  expect(applyConfigChanges(['CMD ["--help"]', 'ENTRYPOINT ["/app"]'], { Cmd: ['sh'] })).toMatchObject({ Entrypoint: ['/app'], Cmd: ['--help'] });
});

test('HEALTHCHECK and ONBUILD are allowed, SHELL is not', () => {
  const config = applyConfigChanges(['HEALTHCHECK --interval=5s CMD true', 'ONBUILD RUN echo hi']);
  expect(config).toMatchObject({ Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5_000_000_000 }, OnBuild: ['RUN echo hi'] });
  expect(() => applyConfigChanges(['SHELL ["/bin/bash", "-c"]'])).toThrow(expect.objectContaining({ message: 'shell is not a valid change command' }));
});
