/**
 * A JSON parser that keeps each number's source text. The data-quality rules judge numbers by
 * their text (cents round half-up from the text, `12.0` is integral, an lsn can pass 2^53), which
 * `JSON.parse` loses by going through a double. Kept by hand rather than a library: the reviver's
 * source-text access (`context.source`) is missing on Node 20, and JSON libraries that keep number
 * text do not also decide repeated keys and lone surrogates as the lakehouse engines do (below).
 */

export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

export function isJsonObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return (
    typeof value === 'object' && value !== null && !(value instanceof JsonNumber) && !Array.isArray(value)
  );
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
    this.name = 'JsonSyntaxError';
  }
}

/** Thrown when a top-level array holds more items than `maxItems` allows; parsing stops there. */
export class JsonItemLimitError extends Error {
  constructor(readonly maxItems: number) {
    super(`the array holds more than ${maxItems} items`);
    this.name = 'JsonItemLimitError';
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

/**
 * Parses RFC 8259 JSON. Where the RFC leaves it open, it decides as the lakehouse engines do
 * (DuckDB's yyjson, Spark's get_json_object): a repeated object key keeps its first value, and a
 * `\u` escape of an unpaired surrogate is invalid. With `maxItems`, a top-level array of more
 * items throws JsonItemLimitError as soon as the next item starts, so the work stays bounded by
 * the limit rather than by the text.
 */
export function parseJsonText(text: string, options: { maxItems?: number } = {}): JsonValue {
  const maxItems = options.maxItems ?? Infinity;
  let pos = 0;

  const skipWhitespace = (): void => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.exec(text);
    pos = WHITESPACE.lastIndex;
  };

  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, pos);
  };

  const parseString = (): string => {
    const end = scanString(text, pos);
    if (end < 0) fail('unterminated or invalid string');
    const value = JSON.parse(text.slice(pos, end)) as string;
    pos = end;
    return value;
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > 512) fail('nesting too deep');
    skipWhitespace();
    const ch = text[pos];
    if (ch === '{') {
      pos++;
      const object: { [key: string]: JsonValue } = {};
      skipWhitespace();
      if (text[pos] === '}') {
        pos++;
        return object;
      }
      for (;;) {
        skipWhitespace();
        if (text[pos] !== '"') fail('expected a string key');
        const key = parseString();
        skipWhitespace();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        const value = parseValue(depth + 1);
        if (!Object.prototype.hasOwnProperty.call(object, key)) {
          Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
        }
        skipWhitespace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return object;
        }
        fail("expected ',' or '}'");
      }
    }
    if (ch === '[') {
      pos++;
      const array: JsonValue[] = [];
      skipWhitespace();
      if (text[pos] === ']') {
        pos++;
        return array;
      }
      for (;;) {
        if (depth === 0 && array.length >= maxItems) throw new JsonItemLimitError(maxItems);
        array.push(parseValue(depth + 1));
        skipWhitespace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return array;
        }
        fail("expected ',' or ']'");
      }
    }
    if (ch === '"') return parseString();
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (match) {
      pos = NUMBER.lastIndex;
      return new JsonNumber(match[0]);
    }
    return fail('unexpected character');
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos !== text.length) fail('unexpected text after the value');
  return value;
}

/** Index just past the closing quote of the string starting at `start`, or -1. */
function scanString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code < 0x20) return -1;
    if (code === 0x5c) {
      const next = text[i + 1];
      if (next === 'u') {
        const unit = parseHex4(text, i + 2);
        if (unit < 0) return -1;
        if (unit >= 0xdc00 && unit <= 0xdfff) return -1;
        if (unit >= 0xd800 && unit <= 0xdbff) {
          // A high surrogate must be followed by an escaped low one.
          const low = text.startsWith('\\u', i + 6) ? parseHex4(text, i + 8) : -1;
          if (low < 0xdc00 || low > 0xdfff) return -1;
          i += 6;
        }
        i += 5;
      } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
        i += 1;
      } else {
        return -1;
      }
    }
  }
  return -1;
}

function parseHex4(text: string, at: number): number {
  const hex = text.slice(at, at + 4);
  return /^[0-9a-fA-F]{4}$/.test(hex) ? parseInt(hex, 16) : -1;
}

/** JSON text of a parsed value, each number as written in its source (repeated keys already gone). */
export function serializeJsonValue(value: JsonValue): string {
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(serializeJsonValue).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}:${serializeJsonValue(item)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
