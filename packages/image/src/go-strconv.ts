/**
 * Go's strconv.ParseBool, which docker parses every boolean with (pflag's bool flags,
 * `key=bool` options, daemon.json, log options, Dockerfile mount options): undefined for
 * what Go refuses, so each caller can refuse in its own words.
 */
export function goParseBool(text: string): boolean | undefined {
  if (TRUE_WORDS.includes(text)) return true;
  if (FALSE_WORDS.includes(text)) return false;
  return undefined;
}

const TRUE_WORDS: readonly string[] = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE_WORDS: readonly string[] = ['0', 'f', 'F', 'FALSE', 'false', 'False'];
