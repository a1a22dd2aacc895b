import { execFile } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CtrError } from '@ctr/errors';
import type { SwarmInspect } from './types';

const run = promisify(execFile);

/**
 * swarmkit's identity.NewID(): 17 random bytes with the top bit set (so the number always has
 * the same length in base 36), written in base 36, its first digit dropped: 25 characters.
 */
export function newId(): string {
  const bytes = randomBytes(17);
  bytes[0] = (bytes[0] as number) | 0x80;
  return BigInt(`0x${bytes.toString('hex')}`).toString(36).slice(1, 26);
}

/**
 * swarmkit's ca.GenerateJoinToken: `SWMTKN-1-<the root CA's SHA-256 in base 36, 50 digits>-<128
 * random bits in base 36, 25 digits>`. A joining node checks the CA it is shown against the first part.
 */
export function joinToken(caDigestHex: string): string {
  const digest = BigInt(`0x${caDigestHex}`).toString(36).padStart(50, '0');
  const secret = BigInt(`0x${randomBytes(16).toString('hex')}`).toString(36).padStart(25, '0');
  return `SWMTKN-1-${digest}-${secret}`;
}

const UNLOCK_PREFIX = 'SWMKEY-1-';

/** swarmkit's encryption.HumanReadableKey of a new 32-byte key: `SWMKEY-1-` and the key in unpadded base64. */
export function newUnlockKey(): string {
  return `${UNLOCK_PREFIX}${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
}

/** Whether `given` is `expected`, compared in constant time; a key not in swarmkit's form is refused as swarmkit's parser refuses it. */
export function unlockKeyMatches(given: string, expected: string): boolean {
  if (!given.startsWith(UNLOCK_PREFIX) || !/^[A-Za-z0-9+/]+$/.test(given.slice(UNLOCK_PREFIX.length))) {
    throw new CtrError('InvalidArgument', 'invalid key string');
  }
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A swarm's root CA: its certificate (PEM) and key (PEM, kept 0600 beside the store). */
export interface RootCa {
  cert: string;
  key: string;
}

/**
 * A new self-signed root CA as swarmkit makes one (ECDSA P-256, CN `swarm-ca`, 20 years), made
 * by openssl; undefined when the machine has no openssl: then the swarm has no CA, and says so
 * with an empty TLSInfo rather than a made-up certificate.
 */
export async function generateRootCa(signal?: AbortSignal): Promise<RootCa | undefined> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctr-swarm-ca-'));
  try {
    const keyFile = path.join(dir, 'ca.key');
    const certFile = path.join(dir, 'ca.crt');
    try {
      await run(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7300', '-subj', '/CN=swarm-ca', '-sha256'],
        { signal },
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CtrError('Internal', `generating the swarm's root CA with openssl: ${(error as Error).message}`, { cause: error });
    }
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** swarmkit's RootCA.Digest: SHA-256 of the certificate's PEM, what join tokens carry. */
export function caDigest(certPem: string): string {
  return createHash('sha256').update(certPem).digest('hex');
}

/**
 * The TLSInfo docker shows for a CA: the PEM, and the issuer's subject and public key as
 * base64 of their DER (x509's RawSubject and RawSubjectPublicKeyInfo).
 */
export function tlsInfo(certPem: string | undefined): SwarmInspect['TLSInfo'] {
  if (certPem === undefined) return { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' };
  const cert = new X509Certificate(certPem);
  return {
    TrustRoot: certPem,
    CertIssuerSubject: rawSubject(cert.raw).toString('base64'),
    CertIssuerPublicKey: cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

/** The subject Name's DER inside a certificate: tbsCertificate's sixth field (after the optional version). */
function rawSubject(der: Buffer): Buffer {
  const certificate = tlv(der, 0);
  const tbs = tlv(der, certificate.content);
  let at = tbs.content;
  const fields: Array<{ start: number; end: number }> = [];
  while (at < tbs.end && fields.length < 7) {
    const field = tlv(der, at);
    fields.push({ start: at, end: field.end });
    at = field.end;
  }
  // [0] version is explicit and optional: with it, the subject is the sixth field, without it the fifth.
  const hasVersion = der[tbs.content] === 0xa0;
  const subject = fields[hasVersion ? 5 : 4];
  if (!subject) throw new CtrError('Internal', 'the swarm root CA certificate has no subject');
  return der.subarray(subject.start, subject.end);
}

/** One DER element at `at`: where its content starts and where it ends. */
function tlv(der: Buffer, at: number): { content: number; end: number } {
  const first = der[at + 1] as number;
  if (first < 0x80) return { content: at + 2, end: at + 2 + first };
  const octets = first & 0x7f;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + (der[at + 2 + i] as number);
  return { content: at + 2 + octets, end: at + 2 + octets + length };
}
