import { invalidArgument } from '@ctr/errors';

/**
 * The canonical JSON notary signs and verifies (docker/go's canonical/json, as notary's
 * verifier runs it: the signed object is decoded into plain values and marshalled again).
 * Object keys sorted by their UTF-8 bytes, no whitespace, only `"` and `\` escaped (plus
 * U+2028/U+2029, which that encoder always escapes), and numbers printed the way Go prints a
 * float64 with `'g'` and shortest precision — so 1000000 becomes `1e+06`, exactly the bytes
 * notary's verifier computes. Non-integral numbers are refused, as canonical JSON has none.
 */
export function canonicalJson(value: unknown): Buffer {
  const out: string[] = [];
  write(value, out);
  return Buffer.from(out.join(''), 'utf8');
}

function write(value: unknown, out: string[]): void {
  if (value === null || value === undefined) {
    out.push('null');
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (typeof value === 'number') {
    out.push(goFloat(value));
  } else if (typeof value === 'string') {
    out.push(quote(value));
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item, out);
    });
    out.push(']');
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    out.push('{');
    entries.forEach(([key, item], i) => {
      if (i > 0) out.push(',');
      out.push(quote(key), ':');
      write(item, out);
    });
    out.push('}');
  } else {
    throw invalidArgument(`canonical JSON cannot encode a ${typeof value}`);
  }
}

function quote(text: string): string {
  return `"${text.replace(/[\\"\u2028\u2029]/g, (c) => (c === '\\' || c === '"' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16)}`))}"`;
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64) for an integral f. */
function goFloat(n: number): string {
  if (!Number.isFinite(n) || Math.floor(n) !== n) {
    throw invalidArgument(`canonical JSON cannot encode the floating point number ${n}`);
  }
  if (Object.is(n, -0)) return '-0';
  const [mantissa, exponentText] = n.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  // Go switches to exponent form from 1e+06 on (shortest precision counts as 6 for this decision).
  if (exponent < 6) return String(n);
  const sign = exponent < 0 ? '-' : '+';
  const digits = String(Math.abs(exponent)).padStart(2, '0');
  return `${mantissa}e${sign}${digits}`;
}
