import { goJsonEscaped } from '@ctr/image';

/**
 * `value` as dockerd's Go writes it: U+2028 and U+2029 escaped in any JSON (encoding/json
 * always does), and with `html` also `<`, `>` and `&`, where dockerd encodes with json.Marshal
 * or a plain encoder (progress messages, events, wait) rather than WriteJSON's, which escapes
 * no HTML. `docker inspect` prints the daemon's bytes as they came.
 */
export function goJsonText(value: unknown, html = false): string {
  return goJsonEscaped(JSON.stringify(value), html);
}

/**
 * One JSON document as Go's `json.Encoder.Encode` writes it, newline included: dockerd's
 * WriteJSON replies and errors, wait's answer, and each event and stats line end so.
 */
export function goJsonDocument(value: unknown, html = false): string {
  return `${goJsonText(value, html)}\n`;
}
