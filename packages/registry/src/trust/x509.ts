import { randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * Just enough DER to write the self-signed certificate notary wraps a root key in
 * (trustmanager.NewCertificate + x509.CreateCertificate): v3, a random 128-bit serial,
 * ecdsa-with-SHA256, CN=<gun> as subject and issuer, key usage digitalSignature|keyEncipherment
 * (critical), extended key usage codeSigning, basic constraints CA:false (critical).
 */
export function selfSignedCertificate(privateKey: KeyObject, spki: Buffer, commonName: string, notBefore: Date, notAfter: Date): Buffer {
  const algorithm = sequence(oid('1.2.840.10045.4.3.2'));
  const name = sequence(set(sequence(oid('2.5.4.3'), directoryString(commonName))));
  const extensions = explicit(
    3,
    sequence(
      sequence(oid('2.5.29.15'), boolean(true), octetString(bitString(Buffer.from([0xa0]), 5))),
      sequence(oid('2.5.29.37'), octetString(sequence(oid('1.3.6.1.5.5.7.3.3')))),
      sequence(oid('2.5.29.19'), boolean(true), octetString(sequence())),
    ),
  );
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(serialNumber()),
    algorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    spki,
    extensions,
  );
  return sequence(tbs, algorithm, bitString(sign('sha256', tbs, privateKey)));
}

/** PEM as Go's pem.Encode writes it: 64-column base64 and a final newline. */
export function pemEncode(type: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  // A positive INTEGER: strip leading zeros, then add one back when the top bit is set.
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  return bytes.subarray(start);
}

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

function sequence(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

function explicit(n: number, body: Buffer): Buffer {
  return tlv(0xa0 | n, body);
}

function integer(magnitude: Buffer): Buffer {
  return tlv(0x02, (magnitude[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude);
}

function boolean(value: boolean): Buffer {
  return tlv(0x01, Buffer.from([value ? 0xff : 0]));
}

function octetString(body: Buffer): Buffer {
  return tlv(0x04, body);
}

function bitString(body: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), body]));
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** PrintableString when every character allows it (Go's rule, `*` included), else UTF8String. */
function directoryString(text: string): Buffer {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?*]*$/.test(text);
  return tlv(printable ? 0x13 : 0x0c, Buffer.from(text, 'utf8'));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5), whole seconds. */
function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2))) : tlv(0x18, Buffer.from(digits));
}
