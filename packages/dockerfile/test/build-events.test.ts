import { formatEvent } from '@ctr/dockerfile';

describe('build events as Docker prints them', () => {
  it.each([
    [{ type: 'step', step: 2, total: 5, stage: 0, instruction: 'RUN make', line: 3 }, 'Step 2/5 : RUN make\n'],
    [{ type: 'cache-hit', step: 2 }, ' ---> Using cache\n'],
    [{ type: 'container', step: 2, id: '0123456789ab' }, ' ---> Running in 0123456789ab\n'],
    [{ type: 'container-removed', step: 2, id: '0123456789ab' }, ' ---> Removed intermediate container 0123456789ab\n'],
    [{ type: 'trigger', count: 2, stage: 0 }, '# Executing 2 build triggers\n'],
    [{ type: 'output', step: 2, stream: 'stdout', data: Buffer.from('hi\n') }, 'hi\n'],
    [{ type: 'warning', message: 'One or more build-args [X] were not consumed' }, '[Warning] One or more build-args [X] were not consumed\n'],
    [{ type: 'done', id: 'sha256:0123456789abcdef0123' }, 'Successfully built 0123456789ab\n'],
  ] as [Parameters<typeof formatEvent>[0], string][])('%j → %j', (event, text) => {
    expect(formatEvent(event)).toBe(text);
  });
});
