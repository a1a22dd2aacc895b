/**
 * JSON text as Go's encoding/json writes it: U+2028 and U+2029 escaped always, and with `html`
 * (json.Marshal's default; a plain Encoder with SetEscapeHTML(false) leaves them) `<`, `>` and `&`.
 * A lone surrogate, which JSON.stringify writes as `\udXXX`, is U+FFFD: a Go string cannot hold
 * one (JSON's `\ud800` decodes to U+FFFD), and Go writes that character as it is.
 */
export function goJsonEscaped(json: string, html: boolean): string {
  const escaped = json
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
    // The `u` follows an escape only when the run of backslashes before it is odd (`\\` is an escaped backslash).
    .replace(/(\\+)u(d[89a-f][0-9a-f]{2})/g, (whole: string, slashes: string) => (slashes.length % 2 === 1 ? `${slashes.slice(1)}\ufffd` : whole));
  return html ? escaped.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : escaped;
}
