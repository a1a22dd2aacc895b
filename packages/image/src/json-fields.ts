import { invalidArgument, type CtrError } from '@ctr/errors';
import { isJsonObject, jsonTypeOf, type JsonObject, type JsonValue } from './json';

/**
 * Typed reads of one JSON object's members, each failure an InvalidArgument naming the
 * document and the field path (`image manifest: layers[2].size must be …`), so a bad
 * document from a registry or an archive says exactly what is wrong with it.
 */
export class JsonFields {
  constructor(
    readonly json: JsonObject,
    /** The document, for messages: "image manifest". */
    readonly what: string,
    /** Path of this object inside the document, "" at the top. */
    readonly path: string = '',
  ) {}

  /** Read a member that must be an object (or absent, when optional). */
  static of(value: JsonValue | undefined, what: string, path: string): JsonFields {
    if (!isJsonObject(value)) throw fieldError(what, path, `must be an object, not ${jsonTypeOf(value)}`);
    return new JsonFields(value, what, path);
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.json, key) && this.json[key] !== undefined;
  }

  /** The member, treating JSON null like absence (Go writes nil slices and maps as null). */
  raw(key: string): JsonValue | undefined {
    if (!Object.prototype.hasOwnProperty.call(this.json, key)) return undefined;
    const value = this.json[key];
    return value === null ? undefined : value;
  }

  fieldPath(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  error(key: string, problem: string): CtrError {
    return fieldError(this.what, this.fieldPath(key), problem);
  }

  string(key: string): string {
    const value = this.optionalString(key);
    if (value === undefined) throw this.error(key, 'is required');
    return value;
  }

  optionalString(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.error(key, `must be a string, not ${jsonTypeOf(value)}`);
    return value;
  }

  optionalBoolean(key: string): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw this.error(key, `must be true or false, not ${jsonTypeOf(value)}`);
    return value;
  }

  /** A whole number in [min, MAX_SAFE_INTEGER]. */
  integer(key: string, min = 0): number {
    const value = this.optionalInteger(key, min);
    if (value === undefined) throw this.error(key, 'is required');
    return value;
  }

  optionalInteger(key: string, min = 0): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw this.error(key, `must be an integer, not ${jsonTypeOf(value)}${typeof value === 'number' ? ` (${value})` : ''}`);
    }
    if (value < min) throw this.error(key, `must be at least ${min}, got ${value}`);
    if (!Number.isSafeInteger(value)) throw this.error(key, `is too large (${value})`);
    return value;
  }

  object(key: string): JsonFields {
    const value = this.raw(key);
    if (value === undefined) throw this.error(key, 'is required');
    return JsonFields.of(value, this.what, this.fieldPath(key));
  }

  optionalObject(key: string): JsonFields | undefined {
    return this.raw(key) === undefined ? undefined : this.object(key);
  }

  array(key: string): JsonValue[] {
    const value = this.optionalArray(key);
    if (value === undefined) throw this.error(key, 'is required');
    return value;
  }

  optionalArray(key: string): JsonValue[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.error(key, `must be an array, not ${jsonTypeOf(value)}`);
    return value;
  }

  /** Each element of an array member as an object. */
  objects(key: string): JsonFields[] {
    return this.array(key).map((item, i) => JsonFields.of(item, this.what, `${this.fieldPath(key)}[${i}]`));
  }

  optionalStringArray(key: string): string[] | undefined {
    const items = this.optionalArray(key);
    if (items === undefined) return undefined;
    return items.map((item, i) => {
      if (typeof item !== 'string') throw fieldError(this.what, `${this.fieldPath(key)}[${i}]`, `must be a string, not ${jsonTypeOf(item)}`);
      return item;
    });
  }

  /** An object whose values are all strings (annotations, labels). */
  optionalStringMap(key: string): Record<string, string> | undefined {
    const fields = this.optionalObject(key);
    if (fields === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(fields.json)) {
      if (typeof value !== 'string') throw fields.error(name, `must be a string, not ${jsonTypeOf(value)}`);
      setOwn(out, name, value);
    }
    return out;
  }

  /** An object used as a set (`ExposedPorts`, `Volumes`): keys matter, values must be objects. */
  optionalKeySet(key: string): Record<string, Record<string, never>> | undefined {
    const fields = this.optionalObject(key);
    if (fields === undefined) return undefined;
    const out: Record<string, Record<string, never>> = {};
    for (const [name, value] of Object.entries(fields.json)) {
      if (value !== null && !isJsonObject(value)) throw fields.error(name, `must be an object ({}), not ${jsonTypeOf(value)}`);
      setOwn(out, name, {});
    }
    return out;
  }
}

export function fieldError(what: string, path: string, problem: string): CtrError {
  return invalidArgument(`${what}: ${path === '' ? 'document' : `field "${path}"`} ${problem}`, {
    details: { field: path },
  });
}

/** Assign without ever invoking a setter: a key named `__proto__` stays a plain key. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
