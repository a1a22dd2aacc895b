import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tlsInfo } from '../src/ids';

/**
 * The TLSInfo a swarm shows for its CA (`node inspect --pretty`'s Issuer Subject and Issuer
 * Public Key): the DER of a certificate's subject Name and of its public key, checked against
 * where openssl's own DER parser places them in certificates openssl made.
 */

let dir: string;

function openssl(...args: string[]): Buffer {
  return execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A certificate for `/O=ctr/CN=leaf` signed by the CA `/CN=test-ca`, of the X.509 version asked for. */
function leafCertificate(name: string, version: 'v1' | 'v3'): string {
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/O=ctr/CN=leaf');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-days', '1', '-out', `${name}.crt`, ...(version === 'v3' ? ['-extfile', 'v3.ext'] : []));
  return readFileSync(join(dir, `${name}.crt`), 'utf8');
}

/**
 * The bytes of the Name holding `CN=leaf`, as `openssl asn1parse` lays the certificate out:
 * the last element at depth 2 (a field of the TBS) before that common name.
 */
function subjectPlacedByOpenssl(name: string): Buffer {
  const layout = openssl('asn1parse', '-in', `${name}.crt`).toString('utf8').split('\n');
  const leaf = layout.findIndex((line) => line.endsWith(':leaf'));
  const field = layout
    .slice(0, leaf)
    .reverse()
    .map((line) => /^\s*(\d+):d=2\s+hl=\s*(\d+)\s+l=\s*(\d+)/.exec(line))
    .find((match) => match !== null);
  if (!field) throw new Error(`no TBS field before CN=leaf in:\n${layout.join('\n')}`);
  const [, offset, header, length] = field.map(Number) as [number, number, number, number];
  const der = openssl('x509', '-in', `${name}.crt`, '-outform', 'DER');
  return der.subarray(offset, offset + header + length);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctr-tls-info-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca');
  // With extensions openssl makes a v3 certificate; without, a v1 one.
  writeFileSync(join(dir, 'v3.ext'), 'basicConstraints=CA:FALSE\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('the subject of a v3 certificate is read from its TBS after the version, not the issuer beside it', () => {
  const pem = leafCertificate('v3', 'v3');
  expect(Buffer.from(tlsInfo(pem).CertIssuerSubject, 'base64')).toEqual(subjectPlacedByOpenssl('v3'));
});

test('the subject of a v1 certificate, which has no version field, is read as well', () => {
  const pem = leafCertificate('v1', 'v1');
  expect(Buffer.from(tlsInfo(pem).CertIssuerSubject, 'base64')).toEqual(subjectPlacedByOpenssl('v1'));
});

test('the public key is the certificate\'s SubjectPublicKeyInfo DER, as openssl writes it', () => {
  const pem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const spki = openssl('pkey', '-in', 'ca.key', '-pubout', '-outform', 'DER');
  expect(Buffer.from(tlsInfo(pem).CertIssuerPublicKey, 'base64')).toEqual(spki);
});

test('the trust root is the PEM itself; without a CA every field is empty', () => {
  const pem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  expect(tlsInfo(pem).TrustRoot).toBe(pem);
  expect(tlsInfo(undefined)).toEqual({ TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' });
});
