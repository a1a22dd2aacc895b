import { Readable } from 'node:stream';
import { isDigestMismatch } from '@ctr/errors';
import { digestOf, readJsonBlob, type BlobProvider, type Descriptor } from '@ctr/image';

/** A provider that holds `stored` under whatever digest it is asked for. */
function providerOf(stored: string): BlobProvider {
  return {
    info: async (digest) => ({ digest, size: Buffer.byteLength(stored) }),
    read: async () => Readable.from([Buffer.from(stored)]),
  };
}

const document = '{"schemaVersion":2}';
const descriptor: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(document), size: Buffer.byteLength(document) };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('readJsonBlob', () => {
  test('returns the bytes whose digest the descriptor names', async () => {
    expect((await readJsonBlob(providerOf(document), descriptor)).toString()).toBe(document);
  });

  test('refuses bytes of the right length whose digest differs', async () => {
    const error = await rejection(readJsonBlob(providerOf(document.replace('2', '3')), descriptor));
    expect(isDigestMismatch(error)).toBe(true);
  });

  test('with checkDigests false (a store that checked them on the way in) returns the stored bytes unhashed', async () => {
    expect((await readJsonBlob(providerOf(document), descriptor, { checkDigests: false })).toString()).toBe(document);
  });

  test('with checkDigests false still refuses a blob whose length is not the descriptor size', async () => {
    const error = await rejection(readJsonBlob(providerOf(`${document} `), descriptor, { checkDigests: false }));
    expect(isDigestMismatch(error)).toBe(true);
    expect((error as Error).message).toContain(`${descriptor.size + 1} bytes, not ${descriptor.size}`);
  });

  test('takes the whole blob from a provider that has it at hand, without a stream, within maxJsonBytes', async () => {
    const asked: number[] = [];
    const provider: BlobProvider = {
      ...providerOf(document),
      read: async () => {
        throw new Error('streamed a blob the provider had at hand');
      },
      readBytes: async (_digest, { maxSize }) => {
        asked.push(maxSize);
        return Buffer.from(document);
      },
    };
    expect((await readJsonBlob(provider, descriptor, { maxJsonBytes: 1000 })).toString()).toBe(document);
    expect(asked).toEqual([1000]);
  });

  test('checks the digest of bytes taken whole as of streamed ones', async () => {
    const provider: BlobProvider = { ...providerOf(document), readBytes: async () => Buffer.from(document.replace('2', '3')) };
    expect(isDigestMismatch(await rejection(readJsonBlob(provider, descriptor)))).toBe(true);
  });
});
