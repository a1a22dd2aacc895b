/**
 * `value` as dockerd's Go writes it: U+2028 and U+2029 escaped in any JSON (encoding/json
 * always does), and with `html` also `<`, `>` and `&`, where dockerd encodes with json.Marshal
 * or a plain encoder (progress messages, events, wait) rather than WriteJSON's, which escapes
 * no HTML. `docker inspect` prints the daemon's bytes as they came.
 */
export function goJsonText(value: unknown, html = false): string {
  const text = JSON.stringify(value).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return html ? text.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : text;
}
