import { invalidArgument } from '@ctr/errors';

/** Docker's query parameters: booleans as `1`/`true`/`True`, filters as JSON. */
export class Query {
  constructor(private readonly params: URLSearchParams) {}

  string(key: string): string | undefined {
    return this.params.get(key) ?? undefined;
  }

  all(key: string): string[] {
    return this.params.getAll(key);
  }

  bool(key: string, fallback = false): boolean {
    const value = this.params.get(key);
    if (value === null || value === '') return fallback;
    return !['0', 'false', 'False', 'FALSE', 'no'].includes(value);
  }

  int(key: string): number | undefined {
    const value = this.params.get(key);
    if (value === null || value === '') return undefined;
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw invalidArgument(`invalid value for ${key}: ${JSON.stringify(value).slice(0, 60)} is not an integer`);
    return n;
  }

  /**
   * A JSON parameter (`labels`): an object of strings, a null value the empty string (Go's
   * map[string]string reads it so).
   */
  stringMap(key: string): Record<string, string> {
    return Object.fromEntries(Object.entries(this.nullableStringMap(key)).map(([k, v]) => [k, v ?? '']));
  }

  /** A JSON parameter (`buildargs`): an object of strings or nulls (Go's map[string]*string: given, no value). */
  nullableStringMap(key: string): Record<string, string | null> {
    const value = this.params.get(key);
    if (!value) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw invalidArgument(`invalid ${key}: ${(error as Error).message}`);
    }
    if (parsed === null) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument(`invalid ${key}: expected a JSON object`);
    const out: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (v !== null && typeof v !== 'string') throw invalidArgument(`invalid ${key}: the value of ${k} must be a string`);
      out[k] = v;
    }
    return out;
  }

  /** A JSON array of strings (`cachefrom`); empty when absent. */
  stringList(key: string): string[] {
    const value = this.params.get(key);
    if (!value) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw invalidArgument(`invalid ${key}: ${(error as Error).message}`);
    }
    if (parsed === null) return [];
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) throw invalidArgument(`invalid ${key}: expected a JSON array of strings`);
    return parsed as string[];
  }

  /**
   * `filters={"status":["running"]}`; also the old map form `{"status":{"running":true}}`
   * that docker-compose 1.x and old SDKs send.
   */
  filters(): Record<string, string[]> {
    const value = this.params.get('filters');
    if (!value) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw invalidArgument(`invalid filter: ${(error as Error).message}`);
    }
    if (parsed === null) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument('invalid filter: expected a JSON object');
    const out: Record<string, string[]> = {};
    for (const [key, values] of Object.entries(parsed as Record<string, unknown>)) {
      if (Array.isArray(values) && values.every((v) => typeof v === 'string')) out[key] = values as string[];
      else if (typeof values === 'object' && values !== null && !Array.isArray(values)) {
        out[key] = Object.entries(values).filter(([, on]) => on === true).map(([v]) => v);
      } else throw invalidArgument(`invalid filter '${key}': expected a list of strings`);
    }
    return out;
  }
}
