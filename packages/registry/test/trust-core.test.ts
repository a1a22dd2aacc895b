/**
 * The TUF core of Docker Content Trust: canonical JSON as notary signs it, key IDs as notary
 * computes them, root certificates as notary makes them, and metadata signing/verification
 * with every refusal. That metadata notary's own client signs verifies, and that key IDs are
 * notary's, is proven against the real docker CLI in packages/api/test/docker-cli-trust-core.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  canonicalJson,
  canonicalKeyId,
  certificateInfo,
  certifiedRootKey,
  checkFileMeta,
  fileMeta,
  generateKey,
  keyId,
  parseMetadata,
  serializeMetadata,
  signMetadata,
  tufKeyFromPrivate,
  verifyMetadata,
  verifyRoot,
  type RootMeta,
  type TargetsMeta,
  type TufKey,
} from '@ctr/registry';

function failureOf(fn: () => unknown): { code: string; reason: unknown; message: string } {
  try {
    fn();
  } catch (error) {
    const e = error as { code: string; details: { reason?: unknown }; message: string };
    return { code: e.code, reason: e.details?.reason, message: e.message };
  }
  throw new Error('expected a refusal');
}

function targets(version: number, expires = '2100-01-01T00:00:00Z'): TargetsMeta {
  return { _type: 'Targets', delegations: { keys: {}, roles: [] }, expires, targets: { latest: fileMeta(Buffer.from('manifest')) }, version };
}

describe('canonical JSON', () => {
  test('sorts object keys and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: null } }).toString()).toBe('{"a":{"c":null,"d":[1,2]},"b":1}');
  });

  test('sorts keys by their UTF-8 bytes, as Go does', () => {
    expect(canonicalJson({ '\u{1F600}': 1, '\uFF5E': 2, Z: 3, a: 4 }).toString()).toBe('{"Z":3,"a":4,"～":2,"😀":1}');
  });

  test('escapes only quote and backslash, leaving control and HTML characters raw', () => {
    expect(canonicalJson('a"b\\c\n<&>\u0090').toString()).toBe('"a\\"b\\\\c\n<&>\u0090"');
  });

  test('escapes U+2028 and U+2029 as the Go encoder does', () => {
    expect(canonicalJson('\u2028\u2029').toString()).toBe('"\\u2028\\u2029"');
  });

  test('prints integers as a Go float64 is printed, from 1e+06 up in exponent form', () => {
    expect(canonicalJson([0, 11309, 999999, 1000000, 1234567, -5]).toString()).toBe('[0,11309,999999,1e+06,1.234567e+06,-5]');
  });

  test('refuses non-integral numbers', () => {
    expect(failureOf(() => canonicalJson({ a: 1.5 })).code).toBe('InvalidArgument');
  });
});

describe('key IDs', () => {
  test('a generated key is ECDSA P-256 with its SPKI DER as the public value', () => {
    const key = generateKey();
    expect(key.public.keytype).toBe('ecdsa');
    expect(key.public.keyval.private).toBeNull();
    expect(key.privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(key.id).toBe(keyId(key.public));
  });
});

describe('root certificates', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'trust-core-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('are self-signed X.509 with CN=<gun>, valid ten years, as notary makes them (openssl agrees)', () => {
    const root = certifiedRootKey(generateKey(), 'localhost:5000/library/busybox');
    const pem = Buffer.from(root.public.keyval.public, 'base64').toString();
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/);
    const file = path.join(dir, 'root.pem');
    writeFileSync(file, pem);
    const text = execFileSync('/usr/bin/openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toContain('Subject: CN = localhost:5000/library/busybox');
    expect(text).toContain('Issuer: CN = localhost:5000/library/busybox');
    expect(text).toContain('Digital Signature, Key Encipherment');
    expect(text).toContain('Code Signing');
    expect(text).toContain('CA:FALSE');
    expect(execFileSync('/usr/bin/openssl', ['verify', '-CAfile', file, '-purpose', 'any', file], { encoding: 'utf8' })).toContain('OK');
    const info = certificateInfo(root.public);
    expect(info.commonName).toBe('localhost:5000/library/busybox');
    const years = (info.notAfter.getTime() - info.notBefore.getTime()) / (365 * 24 * 3600_000);
    expect(Math.round(years)).toBe(10);
  });

  test('a certified root key signs under the certificate key ID, and its canonical ID is the bare key', () => {
    const bare = generateKey();
    const root = certifiedRootKey(bare, 'example.com/app');
    expect(root.public.keytype).toBe('ecdsa-x509');
    expect(root.id).not.toBe(bare.id);
    expect(canonicalKeyId(root.public)).toBe(bare.id);
  });
});

describe('signing and verifying', () => {
  const key = generateKey();
  const keys = { [key.id]: key.public };
  const role = { keyids: [key.id], threshold: 1 };

  test('round trip: what we sign verifies, also after serializing and parsing', () => {
    const meta = signMetadata(targets(2), [key]);
    expect(meta.signatures[0]).toMatchObject({ keyid: key.id, method: 'ecdsa' });
    expect(Buffer.from(meta.signatures[0]!.sig, 'base64')).toHaveLength(64);
    const parsed = parseMetadata<TargetsMeta>(serializeMetadata(meta), 'targets');
    expect(verifyMetadata(parsed, 'targets', keys, role).version).toBe(2);
  });

  test('serialized metadata embeds the canonical bytes, in notary layout', () => {
    const meta = signMetadata(targets(1), [key]);
    const text = serializeMetadata(meta).toString();
    expect(text.startsWith(`{"signed":${canonicalJson(meta.signed).toString()},"signatures":[{"keyid":"${key.id}","method":"ecdsa","sig":"`)).toBe(true);
  });

  test('ASN.1 DER ECDSA signatures verify too, as notary accepts both forms', () => {
    const meta = signMetadata(targets(1), [key]);
    const raw = Buffer.from(meta.signatures[0]!.sig, 'base64');
    const der = derSignature(raw);
    meta.signatures[0]!.sig = der.toString('base64');
    expect(() => verifyMetadata(meta, 'targets', keys, role)).not.toThrow();
  });

  test('Ed25519 and RSA-PSS keys sign and verify', () => {
    for (const type of ['ed25519', 'rsa'] as const) {
      const pair = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      const other = tufKeyFromPrivate(createPrivateKey(pair.privateKey.export({ format: 'pem', type: 'pkcs8' })));
      const meta = signMetadata(targets(1), [other]);
      expect(() => verifyMetadata(meta, 'targets', { [other.id]: other.public }, { keyids: [other.id], threshold: 1 })).not.toThrow();
    }
  });

  test('refuses a bad signature', () => {
    const meta = signMetadata(targets(1), [key]);
    meta.signed.version = 3;
    expect(failureOf(() => verifyMetadata(meta, 'targets', keys, role))).toMatchObject({ code: 'Denied', reason: 'threshold' });
  });

  test('refuses metadata with no signatures', () => {
    const meta = { signed: targets(1), signatures: [] };
    expect(failureOf(() => verifyMetadata(meta, 'targets', keys, role)).message).toContain('tuf: data has no signatures');
  });

  test('refuses fewer valid signatures than the threshold', () => {
    const second = generateKey();
    const meta = signMetadata(targets(1), [key]);
    const failure = failureOf(() => verifyMetadata(meta, 'targets', { ...keys, [second.id]: second.public }, { keyids: [key.id, second.id], threshold: 2 }));
    expect(failure).toMatchObject({ reason: 'threshold' });
    expect(failure.message).toContain('valid signatures did not meet threshold for targets');
  });

  test('counts two signatures by the same key once', () => {
    const second = generateKey();
    const meta = signMetadata(targets(1), [key, key]);
    expect(failureOf(() => verifyMetadata(meta, 'targets', { ...keys, [second.id]: second.public }, { keyids: [key.id, second.id], threshold: 2 })).reason).toBe('threshold');
  });

  test('refuses a signature by a key the role does not list', () => {
    const stranger = generateKey();
    const meta = signMetadata(targets(1), [stranger]);
    expect(failureOf(() => verifyMetadata(meta, 'targets', { ...keys, [stranger.id]: stranger.public }, role)).reason).toBe('threshold');
  });

  test('refuses a key whose ID does not match its content', () => {
    const impostor = generateKey();
    const meta = signMetadata(targets(1), [key]);
    expect(failureOf(() => verifyMetadata(meta, 'targets', { [key.id]: impostor.public }, role)).message).toContain('does not match the content of the key');
  });

  test('refuses expired metadata, saying when it expired', () => {
    const meta = signMetadata(targets(1, '2020-01-02T03:04:05Z'), [key]);
    const failure = failureOf(() => verifyMetadata(meta, 'targets', keys, role));
    expect(failure).toMatchObject({ code: 'Denied', reason: 'expired' });
    expect(failure.message).toBe('targets expired at Thu Jan 2 03:04:05 UTC 2020');
  });

  test('refuses a version below the one already trusted (rollback)', () => {
    const meta = signMetadata(targets(3), [key]);
    const failure = failureOf(() => verifyMetadata(meta, 'targets', keys, role, { minVersion: 4 }));
    expect(failure).toMatchObject({ code: 'Conflict', reason: 'version' });
    expect(failure.message).toContain('version 3 is lower than current version 4');
  });

  test('refuses metadata of the wrong type for the role', () => {
    const meta = signMetadata(targets(1), [key]);
    expect(failureOf(() => verifyMetadata(meta, 'snapshot', keys, role)).reason).toBe('type');
  });

  test('refuses a file whose hash differs from the recorded one', () => {
    const recorded = fileMeta(Buffer.from('abc'));
    const failure = failureOf(() => checkFileMeta(Buffer.from('abd'), recorded, 'targets'));
    expect(failure).toMatchObject({ code: 'DigestMismatch', reason: 'hash' });
    expect(failure.message).toContain('sha256 checksum for targets did not match');
  });

  test('refuses a file whose length differs from the recorded one', () => {
    expect(failureOf(() => checkFileMeta(Buffer.from('abcd'), fileMeta(Buffer.from('abc')), 'snapshot')).reason).toBe('length');
  });

  test('refuses a recorded file meta without a known hash', () => {
    expect(failureOf(() => checkFileMeta(Buffer.from('abc'), { hashes: { md5: 'x' }, length: 3 }, 'snapshot')).reason).toBe('hash');
  });

  test('refuses unparseable metadata as malformed', () => {
    expect(failureOf(() => parseMetadata(Buffer.from('{"signed":'), 'root'))).toMatchObject({ code: 'InvalidArgument', reason: 'malformed' });
  });
});

describe('roots', () => {
  function rootFor(rootKey: TufKey, version: number): RootMeta {
    const other = generateKey();
    const ref = { keyids: [other.id], threshold: 1 };
    return {
      _type: 'Root',
      consistent_snapshot: false,
      expires: '2100-01-01T00:00:00Z',
      keys: { [rootKey.id]: rootKey.public, [other.id]: other.public },
      roles: { root: { keyids: [rootKey.id], threshold: 1 }, targets: ref, snapshot: ref, timestamp: ref },
      version,
    };
  }

  test('a root signed by its own root key verifies', () => {
    const rootKey = certifiedRootKey(generateKey(), 'example.com/app');
    expect(verifyRoot(signMetadata(rootFor(rootKey, 1), [rootKey])).version).toBe(1);
  });

  test('a rotated root must also be signed by the previous root key', () => {
    const oldKey = certifiedRootKey(generateKey(), 'example.com/app');
    const newKey = certifiedRootKey(generateKey(), 'example.com/app');
    const previous = rootFor(oldKey, 1);
    const rotated = rootFor(newKey, 2);
    expect(failureOf(() => verifyRoot(signMetadata(rotated, [newKey]), previous)).message).toContain('of the previous root');
    expect(verifyRoot(signMetadata(rotated, [newKey, oldKey]), previous).version).toBe(2);
  });

  test('a root naming a key it does not list is refused', () => {
    const rootKey = generateKey();
    const root = rootFor(rootKey, 1);
    root.roles.targets = { keyids: ['0'.repeat(64)], threshold: 1 };
    expect(failureOf(() => verifyRoot(signMetadata(root, [rootKey]))).reason).toBe('root');
  });
});

/** r||s → ASN.1 DER SEQUENCE { INTEGER r, INTEGER s }. */
function derSignature(raw: Buffer): Buffer {
  const int = (b: Buffer): Buffer => {
    let start = 0;
    while (start < b.length - 1 && b[start] === 0) start += 1;
    let body = b.subarray(start);
    if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const body = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
