import { classicStreamText, formatEvent, streamedStderr } from '@ctr/dockerfile';

describe('build events as Docker prints them', () => {
  it.each([
    [{ type: 'step', step: 2, total: 5, stage: 0, instruction: 'RUN make', line: 3 }, 'Step 2/5 : RUN make\n'],
    [{ type: 'cache-hit', step: 2 }, ' ---> Using cache\n'],
    [{ type: 'container', step: 2, id: '0123456789ab' }, ' ---> Running in 0123456789ab\n'],
    [{ type: 'container-removed', step: 2, id: '0123456789ab' }, ' ---> Removed intermediate container 0123456789ab\n'],
    [{ type: 'trigger', count: 2, stage: 0 }, '# Executing 2 build triggers\n'],
    [{ type: 'output', step: 2, stream: 'stdout', data: Buffer.from('hi\n') }, 'hi\n'],
    [{ type: 'warning', message: 'One or more build-args [X] were not consumed' }, '[Warning] One or more build-args [X] were not consumed\n'],
    [{ type: 'warning', message: 'Empty continuation line found in: RUN a b', parser: true }, '[WARNING]: Empty continuation line found in: RUN a b\n'],
    [{ type: 'note', step: 3, message: 'overriding previous HEALTHCHECK: [CMD true]' }, 'Note: overriding previous HEALTHCHECK: [CMD true]\n'],
    [{ type: 'stage-skipped', stage: 0 }, ''],
    [{ type: 'done', id: 'sha256:0123456789abcdef0123' }, 'Successfully built 0123456789ab\n'],
  ] as [Parameters<typeof formatEvent>[0], string][])('%j → %j', (event, text) => {
    expect(formatEvent(event)).toBe(text);
  });
});

describe("build events as dockerd's build route streams them", () => {
  it("wraps a RUN's stderr in red, as moby's NewStderrWriter wraps each write", () => {
    expect(classicStreamText({ type: 'output', step: 2, stream: 'stderr', data: Buffer.from('err\n') })).toBe('\x1b[91merr\n\x1b[0m');
  });

  it("leaves a RUN's stdout as it is", () => {
    expect(classicStreamText({ type: 'output', step: 2, stream: 'stdout', data: Buffer.from('out\n') })).toBe('out\n');
  });

  it("wraps the parser's warnings in red: dockerd writes them to the build's stderr", () => {
    expect(classicStreamText({ type: 'warning', message: 'Empty continuation lines will become errors in a future release.', parser: true })).toBe(
      '\x1b[91m[WARNING]: Empty continuation lines will become errors in a future release.\n\x1b[0m',
    );
  });

  it('leaves the unused build-arg warning uncoloured: dockerd writes it to the build\'s stdout', () => {
    expect(classicStreamText({ type: 'warning', message: 'One or more build-args [X] were not consumed' })).toBe('[Warning] One or more build-args [X] were not consumed\n');
  });

  it('gives back the text of a streamed stderr write, and nothing for any other text', () => {
    expect(streamedStderr('\x1b[91merr\n\x1b[0m')).toBe('err\n');
    expect(streamedStderr('out\n')).toBeUndefined();
  });
});
