/**
 * JSON text as Go's encoding/json writes it: U+2028 and U+2029 escaped always, and with `html`
 * (json.Marshal's default; a plain Encoder with SetEscapeHTML(false) leaves them) `<`, `>` and `&`.
 */
export function goJsonEscaped(json: string, html: boolean): string {
  const escaped = json.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return html ? escaped.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : escaped;
}
