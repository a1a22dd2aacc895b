import { constants, createHash, createPublicKey, generateKeyPairSync, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { CtrError, invalidArgument } from '@ctr/errors';
import { canonicalJson } from './canonical-json';
import { pemEncode, selfSignedCertificate } from './x509';

/** notary's key types (tuf/data/types.go). */
export type TufKeyType = 'ecdsa' | 'ecdsa-x509' | 'ed25519' | 'rsa' | 'rsa-x509';

/**
 * A public key as TUF metadata carries it. `public` is base64, as Go writes []byte: the
 * PKIX (SPKI) DER for ecdsa/rsa, the raw 32 bytes for ed25519, and the PEM text of a
 * certificate for the x509 types. `private` is always null in metadata.
 */
export interface TufPublicKey {
  keytype: TufKeyType;
  keyval: { public: string; private: string | null };
}

/** A key we can sign with: its TUF id, its public form, and the private key. */
export interface TufKey {
  id: string;
  public: TufPublicKey;
  privateKey: KeyObject;
}

/** notary's signature method names (data.SigAlgorithm). */
export type SignatureMethod = 'ecdsa' | 'eddsa' | 'rsapss' | 'rsapkcs1v15';

const KEY_TYPES: readonly string[] = ['ecdsa', 'ecdsa-x509', 'ed25519', 'rsa', 'rsa-x509'];
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const TEN_YEARS_MS = 10 * 365 * 24 * 3600_000;

/** The TUF key ID: sha256 hex of the canonical JSON of the key with `private: null` (TUFKey.ID). */
export function keyId(key: TufPublicKey): string {
  const bare = { keytype: key.keytype, keyval: { private: null, public: key.keyval.public } };
  return createHash('sha256').update(canonicalJson(bare)).digest('hex');
}

/**
 * The ID of the bare key under a certificate (utils.CanonicalKeyID): what docker names a
 * root key's file after. Equal to keyId for keys that are not certificates.
 */
export function canonicalKeyId(key: TufPublicKey): string {
  if (key.keytype !== 'ecdsa-x509' && key.keytype !== 'rsa-x509') return keyId(key);
  const spki = publicKeyObject(key).export({ format: 'der', type: 'spki' });
  return keyId(publicKeyValue(key.keytype === 'ecdsa-x509' ? 'ecdsa' : 'rsa', spki));
}

/** A new ECDSA P-256 key, notary's default algorithm, as keytype `ecdsa`. */
export function generateKey(): TufKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return tufKeyFromPrivate(privateKey);
}

/** The `ecdsa` (or `ed25519`/`rsa`) TUF key of a private key, public value derived from it. */
export function tufKeyFromPrivate(privateKey: KeyObject): TufKey {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const type = privateKey.asymmetricKeyType;
  let pub: TufPublicKey;
  if (type === 'ec') pub = publicKeyValue('ecdsa', spki);
  else if (type === 'rsa') pub = publicKeyValue('rsa', spki);
  else if (type === 'ed25519') pub = publicKeyValue('ed25519', spki.subarray(ED25519_SPKI_PREFIX.length));
  else throw invalidArgument(`notary cannot use a ${type ?? 'unknown'} key`);
  return { id: keyId(pub), public: pub, privateKey };
}

/** Pair a private key with a public TUF key already known (a root certificate from root.json). */
export function tufKey(pub: TufPublicKey, privateKey: KeyObject): TufKey {
  const mine = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const theirs = publicKeyObject(pub).export({ format: 'der', type: 'spki' });
  if (!mine.equals(theirs)) throw invalidArgument(`the private key does not match the public key ${keyId(pub)}`);
  return { id: keyId(pub), public: pub, privateKey };
}

/**
 * Wrap an ECDSA key in the self-signed certificate notary makes for a root key
 * (cryptoservice.GenerateCertificate): CN=<gun>, valid ten years from now by default.
 * The result is keytype `ecdsa-x509`, whose public value is the certificate's PEM.
 */
export function certifiedRootKey(key: TufKey, gun: string, validity?: { notBefore: Date; notAfter: Date }): TufKey {
  if (key.privateKey.asymmetricKeyType !== 'ec') throw invalidArgument('a root certificate needs an ECDSA key');
  const notBefore = validity?.notBefore ?? new Date();
  const notAfter = validity?.notAfter ?? new Date(notBefore.getTime() + TEN_YEARS_MS);
  const spki = createPublicKey(key.privateKey).export({ format: 'der', type: 'spki' });
  const der = selfSignedCertificate(key.privateKey, spki, gun, notBefore, notAfter);
  const pub: TufPublicKey = { keytype: 'ecdsa-x509', keyval: { public: Buffer.from(pemEncode('CERTIFICATE', der)).toString('base64'), private: null } };
  return { id: keyId(pub), public: pub, privateKey: key.privateKey };
}

/** What a root certificate says: whose it is and when it is valid (trustpinning checks these). */
export interface CertificateInfo {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}

export function certificateInfo(key: TufPublicKey): CertificateInfo {
  const cert = certificate(key);
  const cn = /^CN=(.*)$/m.exec(cert.subject);
  return { commonName: cn?.[1] ?? '', notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}

/** The key as node:crypto uses it; a certificate's subject key for the x509 types. */
export function publicKeyObject(key: TufPublicKey): KeyObject {
  if (!KEY_TYPES.includes(key.keytype)) throw invalidArgument(`unknown key type ${String(key.keytype)}`);
  const bytes = Buffer.from(key.keyval.public, 'base64');
  try {
    if (key.keytype === 'ecdsa-x509' || key.keytype === 'rsa-x509') return certificate(key).publicKey;
    if (key.keytype === 'ed25519') return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, bytes]), format: 'der', type: 'spki' });
    return createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  } catch (error) {
    if (error instanceof CtrError) throw error;
    throw invalidArgument(`the ${key.keytype} key ${keyId(key)} cannot be parsed`, { cause: error });
  }
}

/** Sign `message` as notary does: ECDSA over sha256 with r||s (not ASN.1), RSA-PSS, or Ed25519. */
export function signBytes(key: TufKey, message: Buffer): { method: SignatureMethod; sig: Buffer } {
  switch (key.privateKey.asymmetricKeyType) {
    case 'ec':
      return { method: 'ecdsa', sig: sign('sha256', message, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }) };
    case 'rsa':
      return { method: 'rsapss', sig: sign('sha256', message, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }) };
    case 'ed25519':
      return { method: 'eddsa', sig: sign(null, message, key.privateKey) };
    default:
      throw invalidArgument(`notary cannot sign with a ${key.privateKey.asymmetricKeyType ?? 'unknown'} key`);
  }
}

/**
 * Check one signature (signed.Verifiers): the method must suit the key type; ECDSA accepts
 * ASN.1 DER as well as notary's r||s; RSA keys under 2048 bits are refused.
 */
export function verifyBytes(key: TufPublicKey, method: string, sig: Buffer, message: Buffer): boolean {
  let object: KeyObject;
  try {
    object = publicKeyObject(key);
  } catch {
    return false;
  }
  const m = method.toLowerCase();
  const ecdsa = key.keytype === 'ecdsa' || key.keytype === 'ecdsa-x509';
  const rsa = key.keytype === 'rsa' || key.keytype === 'rsa-x509';
  try {
    if (m === 'ecdsa' && ecdsa) {
      if (looksLikeDer(sig) && verify('sha256', message, { key: object, dsaEncoding: 'der' }, sig)) return true;
      return sig.length === 64 && verify('sha256', message, { key: object, dsaEncoding: 'ieee-p1363' }, sig);
    }
    if (m === 'eddsa' && key.keytype === 'ed25519') return sig.length === 64 && verify(null, message, object, sig);
    if ((m === 'rsapss' || m === 'rsapkcs1v15') && rsa) {
      if ((object.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return false;
      const padding = m === 'rsapss' ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : { padding: constants.RSA_PKCS1_PADDING };
      return verify('sha256', message, { key: object, ...padding }, sig);
    }
  } catch {
    return false;
  }
  return false;
}

function looksLikeDer(sig: Buffer): boolean {
  return sig.length > 8 && sig[0] === 0x30 && sig[1] === sig.length - 2;
}

function publicKeyValue(keytype: TufKeyType, bytes: Buffer): TufPublicKey {
  return { keytype, keyval: { public: bytes.toString('base64'), private: null } };
}

function certificate(key: TufPublicKey): X509Certificate {
  if (key.keytype !== 'ecdsa-x509' && key.keytype !== 'rsa-x509') throw invalidArgument(`a ${key.keytype} key has no certificate`);
  try {
    return new X509Certificate(Buffer.from(key.keyval.public, 'base64'));
  } catch (error) {
    throw invalidArgument(`the certificate of key ${keyId(key)} cannot be parsed`, { cause: error });
  }
}
