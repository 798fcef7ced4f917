import fc from 'fast-check';
import { JsonItemLimitError, JsonNumber, JsonValue, parseJsonText } from '../../lib/cdc/jsonText';

function toPlain(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return Number(value.text);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

function jsonParseFails(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

describe('parseJsonText', () => {
  it('reads every JSON document as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (text) => {
        expect(toPlain(parseJsonText(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects exactly what JSON.parse rejects', () => {
    const almostJson = fc.oneof(
      fc.string(),
      fc.json().map((text) => text.slice(0, -1)),
      fc.json().chain((text) => fc.nat(text.length).map((i) => `${text.slice(0, i)}${text.slice(i + 1)}`)),
    );
    fc.assert(
      fc.property(almostJson, (text) => {
        let ours = false;
        try {
          parseJsonText(text);
        } catch {
          ours = true;
        }
        expect(ours).toBe(
          jsonParseFails(text) || /\\u[dD][89abAB]/.test(text) || /\\u[dD][c-fC-F]/.test(text),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the first of repeated keys and refuses unpaired surrogate escapes, as DuckDB does', () => {
    expect(parseJsonText('{"a": 1, "a": 2}')).toEqual({ a: new JsonNumber('1') });
    expect(parseJsonText('"\\ud83d\\ude00"')).toBe('\u{1f600}');
    for (const text of ['"\\ud800"', '"\\udc00"', '"\\ud800x"', '"\\ud800\\u0041"']) {
      expect(() => parseJsonText(text)).toThrow(/invalid string/);
    }
  });

  it('keeps number text and safe object keys', () => {
    const value = parseJsonText('{"a": 12.50, "__proto__": 1e400, "b": [-0]}') as Record<string, JsonValue>;
    expect(value.a).toEqual(new JsonNumber('12.50'));
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(value['__proto__']).toEqual(new JsonNumber('1e400'));
    expect(value.b).toEqual([new JsonNumber('-0')]);
  });

  it('stops at the item limit of a top-level array, before reading the rest', () => {
    expect(parseJsonText('[1, [2, 3, 4], 5]', { maxItems: 3 })).toHaveLength(3);
    expect(parseJsonText('{"a": [1, 2, 3, 4]}', { maxItems: 3 })).toEqual({
      a: ['1', '2', '3', '4'].map((n) => new JsonNumber(n)),
    });
    // The text past the limit is never read: its syntax error goes unnoticed.
    expect(() => parseJsonText('[1, 2, 3, 4, oops', { maxItems: 3 })).toThrow(JsonItemLimitError);
    expect(() => parseJsonText('[1, 2, oops', { maxItems: 3 })).toThrow(/unexpected character/);
  });
});
