import { invalidArgument } from '@ctr/errors';
import { describe } from './request-body';

/**
 * Typed reads of fields from a decoded JSON body. A field that is absent or null reads as
 * undefined; one of the wrong type is InvalidArgument naming the field, like dockerd's
 * "json: cannot unmarshal … into Go struct field" but in words a person can act on.
 */
export class Fields {
  constructor(
    private readonly source: Record<string, unknown>,
    private readonly where: string,
  ) {}

  private wrong(key: string, expected: string): never {
    throw invalidArgument(`invalid ${this.where}${key}: expected ${expected}, got ${describe(this.source[key])}`);
  }

  private raw(key: string): unknown {
    const value = this.source[key];
    return value === null ? undefined : value;
  }

  string(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined || typeof value === 'string') return value;
    return this.wrong(key, 'a string');
  }

  bool(key: string): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined || typeof value === 'boolean') return value;
    return this.wrong(key, 'true or false');
  }

  number(key: string): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isFinite(value) && Number.isSafeInteger(Math.trunc(value))) return value;
    return this.wrong(key, 'a number');
  }

  /** Docker's strslice: an array of strings, or one string meaning a one-element array. */
  strings(key: string, options: { single?: boolean } = {}): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (options.single && typeof value === 'string') return [value];
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    return this.wrong(key, 'an array of strings');
  }

  /** An array of arrays of strings (`DeviceRequests[].Capabilities`). */
  stringLists(key: string): string[][] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string'))) return value as string[][];
    return this.wrong(key, 'an array of arrays of strings');
  }

  stringMap(key: string): Record<string, string> | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'object' && !Array.isArray(value) && Object.values(value as object).every((v) => typeof v === 'string')) {
      return value as Record<string, string>;
    }
    return this.wrong(key, 'an object of strings');
  }

  /** A terminal size, `[height, width]` (Docker's `ConsoleSize`); `[0, 0]` is none. */
  consoleSize(key: string): { height: number; width: number } | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.length !== 2 || !value.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) {
      return this.wrong(key, '[height, width]');
    }
    const [height, width] = value as [number, number];
    return height === 0 && width === 0 ? undefined : { height, width };
  }

  /** An object whose keys matter and whose values are ignored (`ExposedPorts`, `Volumes`). */
  keys(key: string): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'object' && !Array.isArray(value)) return Object.keys(value as object);
    return this.wrong(key, 'an object');
  }

  object(key: string): Fields | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'object' && !Array.isArray(value)) return new Fields(value as Record<string, unknown>, `${this.where}${key}.`);
    return this.wrong(key, 'an object');
  }

  objects(key: string): Fields[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
      return (value as Record<string, unknown>[]).map((v, i) => new Fields(v, `${this.where}${key}[${i}].`));
    }
    return this.wrong(key, 'an array of objects');
  }

  /** The object's own entries, each as Fields (for maps of objects such as `EndpointsConfig`). */
  entries(key: string): Array<[string, Fields]> {
    const value = this.raw(key);
    if (value === undefined) return [];
    if (typeof value !== 'object' || Array.isArray(value)) return this.wrong(key, 'an object');
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => {
      if (v === null) return [k, new Fields({}, `${this.where}${key}.${k}.`)];
      if (typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`invalid ${this.where}${key}.${k}: expected an object, got ${describe(v)}`);
      return [k, new Fields(v as Record<string, unknown>, `${this.where}${key}.${k}.`)];
    });
  }

  /** A map of arrays of objects (`PortBindings`). */
  entriesOfArrays(key: string): Array<[string, Fields[]]> {
    const value = this.raw(key);
    if (value === undefined) return [];
    if (typeof value !== 'object' || Array.isArray(value)) return this.wrong(key, 'an object');
    return Object.keys(value as object).map((k) => [k, new Fields(value as Record<string, unknown>, `${this.where}${key}.`).objects(k) ?? []]);
  }
}
