import fs from 'node:fs';
import path from 'node:path';

/**
 * Just enough of Bicep's syntax for the deploy checks (the Bicep compiler is a .NET binary that
 * cannot be installed here): declarations, blocks by brace matching, top-level keys of an object.
 */
export class BicepFile {
  readonly text: string;
  /** The text with comments and string contents blanked (same offsets), for structure checks. */
  readonly code: string;

  constructor(readonly file: string) {
    this.text = fs.readFileSync(file, 'utf8');
    this.code = blankCommentsAndStrings(this.text);
  }

  params(): Map<string, { type: string; default?: string }> {
    const out = new Map<string, { type: string; default?: string }>();
    for (const m of this.text.matchAll(/^param (\w+) (\w+)(?: = (.+))?$/gm))
      out.set(m[1], { type: m[2], default: m[3]?.trim() });
    return out;
  }

  /** `module name 'path' = { … params: { … } }`: the module's file and the params it is given. */
  modules(): { name: string; file: string; params: string[] }[] {
    return [...this.code.matchAll(/^module (\w+) '/gm)].map((m) => {
      const file = /'([^']+)'/.exec(this.text.slice(m.index))![1];
      const body = this.blockAt(this.code.indexOf('{', m.index));
      const paramsAt = /\bparams:\s*\{/.exec(this.code.slice(body.start, body.end));
      const params = paramsAt ? this.objectKeys(body.start + paramsAt.index + paramsAt[0].length - 1) : [];
      return { name: m[1], file: path.resolve(path.dirname(this.file), file), params };
    });
  }

  /**
   * `resource sym 'type@api' [existing] = …` and `module sym 'path' = …`: each declaration with the
   * text of its body (its first object, also under `if (…)` or `[for …: {`).
   */
  declarations(): {
    kind: 'resource' | 'module';
    symbol: string;
    type: string;
    existing: boolean;
    body: string;
  }[] {
    return [...this.code.matchAll(/^(resource|module) (\w+) '/gm)].map((m) => {
      const head = /^(?:resource|module) \w+ '([^']+)'( existing)? =/.exec(this.text.slice(m.index))!;
      const { start, end } = this.blockAt(this.code.indexOf('{', m.index + head[0].length));
      return {
        kind: m[1] as 'resource' | 'module',
        symbol: m[2],
        type: head[1],
        existing: head[2] !== undefined,
        body: this.text.slice(start, end + 1),
      };
    });
  }

  /** One declaration by symbol; throws if there is none. */
  declaration(symbol: string): ReturnType<BicepFile['declarations']>[number] {
    const found = this.declarations().find((d) => d.symbol === symbol);
    if (!found) throw new Error(`${this.file}: no resource or module ${symbol}`);
    return found;
  }

  /** `output name type = value` (one line each, as this repository writes them). */
  outputs(): Map<string, { type: string; value: string }> {
    const out = new Map<string, { type: string; value: string }>();
    for (const m of this.text.matchAll(/^output (\w+) (\w+) = (.+)$/gm))
      out.set(m[1], { type: m[2], value: m[3].trim() });
    return out;
  }

  /** The argument of `@name(…)` among the decorators right above `param param`. */
  paramDecorator(param: string, name: string): string | undefined {
    const m = new RegExp(`((?:^@.*\\n)*)^param ${param} `, 'm').exec(this.text);
    if (!m) return undefined;
    return new RegExp(`^@${name}\\((.*)\\)$`, 'm').exec(m[1])?.[1];
  }

  /** `import { a, b } from 'file'`: each import's names and file. */
  imports(): { names: string[]; file: string }[] {
    return [...this.text.matchAll(/^import \{([^}]+)\} from '([^']+)'/gm)].map((m) => ({
      names: m[1].split(',').map((n) => n.trim()),
      file: path.resolve(path.dirname(this.file), m[2]),
    }));
  }

  /** Names declared after an `@export()` line. */
  exports(): string[] {
    return [...this.text.matchAll(/^@export\(\)\s*\n(?:var|func|type) (\w+)/gm)].map((m) => m[1]);
  }

  /** The top-level keys of the object literal whose `{` is at `open`. */
  objectKeys(open: number): string[] {
    const { start, end } = this.blockAt(open);
    const keys: string[] = [];
    let depth = 0;
    for (let i = start + 1; i < end; i++) {
      const c = this.code[i];
      if (c === '{' || c === '[' || c === '(') depth++;
      else if (c === '}' || c === ']' || c === ')') depth--;
      else if (depth === 0 && /[\s,{]/.test(this.code[i - 1] ?? ' ')) {
        const key = /^(\w+)\s*:/.exec(this.code.slice(i, i + 80));
        if (key) {
          keys.push(key[1]);
          i += key[0].length - 1;
        }
      }
    }
    return keys;
  }

  /** The object literal after `marker` (its first `{`). */
  keysAfter(marker: string): string[] {
    const at = this.text.indexOf(marker);
    if (at < 0) throw new Error(`${this.file}: no "${marker}"`);
    return this.objectKeys(this.code.indexOf('{', at + marker.length - 1));
  }

  /** Whether (), [] and {} pair up outside comments and strings. */
  balanced(): boolean {
    const stack: string[] = [];
    const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
    for (const c of this.code) {
      if ('([{'.includes(c)) stack.push(c);
      else if (c in pairs && stack.pop() !== pairs[c]) return false;
    }
    return stack.length === 0;
  }

  private blockAt(open: number): { start: number; end: number } {
    if (this.code[open] !== '{') throw new Error(`${this.file}: no block at ${open}`);
    let depth = 0;
    for (let i = open; i < this.code.length; i++) {
      if (this.code[i] === '{') depth++;
      else if (this.code[i] === '}' && --depth === 0) return { start: open, end: i };
    }
    throw new Error(`${this.file}: unclosed block at ${open}`);
  }
}

/**
 * Comments and string contents replaced by spaces, offsets kept; the code of a `${…}` inside a string
 * is kept as code (its own strings blanked in turn), its `${` and `}` blanked.
 */
function blankCommentsAndStrings(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const stop = text.indexOf('*/', i) + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (text[i] === "'") {
      const string = blankString(text, i);
      out += string.out;
      i = string.end;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

/** The string literal opening at `start`, blanked (interpolations kept as code); and where it ends. */
function blankString(text: string, start: number): { out: string; end: number } {
  let out = "'";
  let i = start + 1;
  while (i < text.length && text[i] !== "'") {
    if (text[i] === '\\') {
      out += '  ';
      i += 2;
    } else if (text.startsWith('${', i)) {
      out += '  ';
      i += 2;
      let depth = 0;
      while (i < text.length && !(text[i] === '}' && depth === 0)) {
        if (text[i] === "'") {
          const inner = blankString(text, i);
          out += inner.out;
          i = inner.end;
          continue;
        }
        if (text[i] === '{') depth++;
        else if (text[i] === '}') depth--;
        out += text[i];
        i++;
      }
      out += ' ';
      i++;
    } else {
      out += text[i] === '\n' ? '\n' : ' ';
      i++;
    }
  }
  return { out: out + "'", end: i + 1 };
}
