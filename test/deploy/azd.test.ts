import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/paths';
import { BicepFile } from './bicepText';

/**
 * Static checks of the Azure Developer CLI setup (azure.yaml and the hooks in infra/azd): azd, the
 * Bicep compiler and the clouds cannot run here. The hooks are read with a small shell tokenizer
 * (below), enough for the subset of bash they are written in; it refuses what it does not know.
 */

const AZD_DIR = path.join(REPO_ROOT, 'infra', 'azd');

/**
 * Commands a hook may call. Outside shell builtins and the hooks' own functions, only what the guide
 * (README, "Deploy to Azure") has the reader run.
 */
const GUIDE_COMMANDS = ['az', 'azd', 'databricks', 'jq', 'npm', 'npx', 'mkdir', 'rm', 'unzip'];
/** retry.sh waits between attempts: the one POSIX utility that is not a step of the guide. */
const UTILITIES = ['sleep'];
const BUILTINS = [
  ':',
  '.',
  '[[',
  '((',
  'cd',
  'command',
  'continue',
  'echo',
  'exit',
  'export',
  'false',
  'local',
  'printf',
  'read',
  'return',
  'set',
  'shift',
  'source',
  'true',
];
/** What azd itself puts in the environment (the Bicep's outputs aside). */
const AZD_VARIABLES = ['AZURE_ENV_NAME', 'AZURE_LOCATION', 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP'];
/** Switches a deployer sets with `azd env set`; each is documented in the README's deploy section. */
const OPERATOR_SWITCHES = ['ORDERS_SKIP_ROLE_CHECK', 'ORDERS_DOWN_FORCE'];
/** Bash's own variables. */
const SHELL_VARIABLES = ['BASH_SOURCE', 'BASH_REMATCH', 'IFS'];

// ---------------------------------------------------------------------------------------------------
// A tokenizer for the hooks' bash: words (quotes, escapes, $VAR, ${…}, $(…), $((…))), operators,
// redirections, [[ … ]] and (( … )). Here-documents, backticks, case and ${!indirect} are refused.

interface Word {
  /** The word without its quotes; expansions kept as written ($X, ${X}, $(…)). */
  text: string;
  /** Whether any of it was quoted or escaped (a quoted `if` is not a keyword). */
  quoted: boolean;
  /** Variables it expands. */
  reads: string[];
  /** The scripts of its command substitutions. */
  subs: string[];
}
type Token = { kind: 'word'; word: Word } | { kind: 'op'; op: string };

interface ShellAnalysis {
  /** Every simple command as its words (command name first); retry's wrapped command as well. */
  commands: string[][];
  /** Variables read. */
  reads: Set<string>;
  /** Variables assigned (NAME=…, local/export/read/for). */
  assigned: Set<string>;
  /** Functions defined (`name() {`). */
  functions: Set<string>;
  /** Files named by `source`/`.`. */
  sources: string[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPERATOR_CHARS = new Set([';', '&', '|', '(', ')', '<', '>', '\n']);
const REDIRECTS = new Set(['<', '>', '>>', '<<<', '>&', '<&', '&>']);
const RESERVED = new Set(['if', 'then', 'elif', 'else', 'fi', 'do', 'done', 'while', 'until', '!', '{', '}']);

/**
 * The index just past the `close` that ends a group opened before `start` (`(` … `)` or `${` … `}`),
 * skipping quotes, escapes and nested `$(…)`.
 */
function closeGroup(src: string, start: number, open: '(' | '{', close: ')' | '}'): number {
  let depth = 1;
  let i = start;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') i += 2;
    else if (c === "'") i = closeSingle(src, i + 1);
    else if (c === '"') i = closeDouble(src, i + 1);
    else if (src.startsWith('$(', i)) i = closeParen(src, i + 2);
    else {
      if (c === open) depth++;
      else if (c === close && --depth === 0) return i + 1;
      i++;
    }
  }
  throw new Error(`unclosed ${open === '(' ? '(' : '${'} at ${start}`);
}

const closeParen = (src: string, start: number): number => closeGroup(src, start, '(', ')');
const closeBrace = (src: string, start: number): number => closeGroup(src, start, '{', '}');

/** The index just past the `'` that closes a single-quoted string starting at `start`. */
function closeSingle(src: string, start: number): number {
  const end = src.indexOf("'", start);
  if (end < 0) throw new Error(`unclosed ' at ${start}`);
  return end + 1;
}

/** The index just past the `"` that closes a double-quoted string starting at `start`. */
function closeDouble(src: string, start: number): number {
  let i = start;
  while (i < src.length) {
    if (src[i] === '\\') i += 2;
    else if (src[i] === '"') return i + 1;
    else if (src.startsWith('$(', i)) i = closeParen(src, i + 2);
    else i++;
  }
  throw new Error(`unclosed " at ${start}`);
}

/** Identifiers of an arithmetic expression (each a variable read). */
function arithmeticReads(expr: string, word: Word): void {
  for (const m of expr.matchAll(/\$?([A-Za-z_][A-Za-z0-9_]*)/g)) word.reads.push(m[1]);
  if (expr.includes('$(')) throw new Error('command substitution inside arithmetic is not supported');
}

/** Reads the expansion at `src[i] === '$'` into `word`; returns the index after it. */
function readDollar(src: string, i: number, word: Word): number {
  if (src.startsWith('$((', i)) {
    const end = closeParen(src, i + 2);
    arithmeticReads(src.slice(i + 3, end - 1), word);
    word.text += src.slice(i, end);
    return end;
  }
  if (src.startsWith('$(', i)) {
    const end = closeParen(src, i + 2);
    word.subs.push(src.slice(i + 2, end - 1));
    word.text += src.slice(i, end);
    return end;
  }
  if (src.startsWith('${', i)) {
    const end = closeBrace(src, i + 2);
    const inner = src.slice(i + 2, end - 1);
    if (inner.startsWith('!')) throw new Error(`indirect expansion \${${inner}} is not supported`);
    const name = IDENT.exec(inner.replace(/^#/, ''));
    if (name) word.reads.push(name[0]);
    // The rest (defaults, alternatives, patterns) may expand more.
    scanExpansions(inner.replace(/^#?[A-Za-z_][A-Za-z0-9_]*/, ''), word);
    word.text += src.slice(i, end);
    return end;
  }
  const name = IDENT.exec(src.slice(i + 1));
  if (name) {
    word.reads.push(name[0]);
    word.text += `$${name[0]}`;
    return i + 1 + name[0].length;
  }
  // $1, $@, $#, $?, $$ … or a lone $.
  const special = /^[0-9@#?*$!-]/.exec(src.slice(i + 1));
  word.text += special ? `$${special[0]}` : '$';
  return i + 1 + (special ? 1 : 0);
}

/** Expansions inside a double-quoted string or a parameter expansion's operand. */
function scanExpansions(text: string, word: Word): void {
  let i = 0;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '`') throw new Error('backticks are not supported: use $(…)');
    else if (text[i] === '$') {
      const scratch: Word = { text: '', quoted: true, reads: word.reads, subs: word.subs };
      i = readDollar(text, i, scratch);
    } else i++;
  }
}

/** One word from `i`; in a [[ … ]] test, operator characters are part of words. */
function readWord(src: string, start: number, conditional: boolean): { word: Word; end: number } {
  const word: Word = { text: '', quoted: false, reads: [], subs: [] };
  let i = start;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n') break;
    if (!conditional && OPERATOR_CHARS.has(c)) break;
    if (c === '`') throw new Error('backticks are not supported: use $(…)');
    if (conditional && i === start && src.startsWith(']]', i)) {
      // The end of a [[ … ]] test, even with an operator right after it (]];).
      word.text = ']]';
      return { word, end: i + 2 };
    }
    if (c === "'") {
      const end = closeSingle(src, i + 1);
      word.text += src.slice(i + 1, end - 1);
      word.quoted = true;
      i = end;
    } else if (c === '"') {
      const end = closeDouble(src, i + 1);
      const body = src.slice(i + 1, end - 1);
      for (let j = 0; j < body.length;) {
        if (body[j] === '\\') {
          word.text += body[j + 1] ?? '';
          j += 2;
        } else if (body[j] === '`') throw new Error('backticks are not supported: use $(…)');
        else if (body[j] === '$') j = readDollar(body, j, word);
        else word.text += body[j++];
      }
      word.quoted = true;
      i = end;
    } else if (c === '\\') {
      word.text += src[i + 1] ?? '';
      word.quoted = true;
      i += 2;
    } else if (c === '$') {
      i = readDollar(src, i, word);
    } else {
      word.text += c;
      i++;
    }
  }
  return { word, end: i };
}

function lex(src: string): Token[] {
  const tokens: Token[] = [];
  let conditional = false;
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t') i++;
    else if (src.startsWith('\\\n', i)) i += 2;
    else if (c === '#') while (i < src.length && src[i] !== '\n') i++;
    else if (!conditional && src.startsWith('((', i)) {
      // An arithmetic command: one word whose identifiers are reads.
      const end = closeParen(src, i + 1);
      const word: Word = { text: '((', quoted: false, reads: [], subs: [] };
      arithmeticReads(src.slice(i + 2, end - 2), word);
      tokens.push({ kind: 'word', word });
      i = end;
    } else if (!conditional && src.startsWith('<<', i) && !src.startsWith('<<<', i)) {
      throw new Error('here-documents are not supported');
    } else if (!conditional && (OPERATOR_CHARS.has(c) || c === '\n')) {
      const op = ['<<<', '&&', '||', ';;', '>>', '>&', '<&', '&>'].find((o) => src.startsWith(o, i)) ?? c;
      if (op === ';;') throw new Error('case statements are not supported');
      tokens.push({ kind: 'op', op });
      i += op.length;
    } else if (conditional && c === '\n') {
      i++;
    } else {
      const { word, end } = readWord(src, i, conditional);
      // 2>/dev/null, 1>&2: a file descriptor number before a redirection belongs to it.
      if (!word.quoted && /^\d+$/.test(word.text) && (src[end] === '>' || src[end] === '<')) {
        i = end;
        continue;
      }
      tokens.push({ kind: 'word', word });
      if (!word.quoted && word.text === '[[') conditional = true;
      else if (!word.quoted && word.text === ']]') conditional = false;
      i = end;
    }
  }
  return tokens;
}

/** The commands, variables and functions of a bash script (command substitutions included). */
function analyzeShell(src: string): ShellAnalysis {
  const out: ShellAnalysis = {
    commands: [],
    reads: new Set(),
    assigned: new Set(),
    functions: new Set(),
    sources: [],
  };
  const absorb = (word: Word) => {
    word.reads.forEach((r) => out.reads.add(r));
    for (const sub of word.subs) {
      const inner = analyzeShell(sub);
      out.commands.push(...inner.commands);
      inner.reads.forEach((r) => out.reads.add(r));
      inner.assigned.forEach((a) => out.assigned.add(a));
      inner.functions.forEach((f) => out.functions.add(f));
      out.sources.push(...inner.sources);
    }
  };
  const simple = (words: Word[]) => {
    let k = 0;
    while (k < words.length && !words[k].quoted && RESERVED.has(words[k].text)) k++;
    if (k >= words.length) return;
    if (words[k].text === 'case') throw new Error('case statements are not supported');
    if (words[k].text === 'for') {
      out.assigned.add(words[k + 1].text);
      return;
    }
    for (; k < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[k].text); k++) {
      out.assigned.add(words[k].text.split('=')[0]);
    }
    if (k >= words.length) return;
    const [name, ...args] = words.slice(k).map((w) => w.text);
    if (['local', 'export', 'declare', 'readonly'].includes(name) || name === 'read') {
      args.filter((a) => !a.startsWith('-')).forEach((a) => out.assigned.add(a.split('=')[0]));
    }
    if (name === 'source' || name === '.') out.sources.push(args[0]);
    out.commands.push([name, ...args]);
    // retry <attempts> <first-delay> cmd …: the command it runs is called too.
    if (name === 'retry') out.commands.push(args.slice(2));
  };
  const tokens = lex(src);
  let current: Word[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k];
    if (token.kind === 'word') {
      absorb(token.word);
      const next = tokens[k + 1];
      const after = tokens[k + 2];
      if (
        current.length === 0 &&
        next?.kind === 'op' &&
        next.op === '(' &&
        after?.kind === 'op' &&
        after.op === ')'
      ) {
        out.functions.add(token.word.text);
        k += 2;
      } else current.push(token.word);
    } else if (REDIRECTS.has(token.op)) {
      const target = tokens[k + 1];
      if (target?.kind === 'word') {
        absorb(target.word);
        k++;
      }
    } else {
      simple(current);
      current = [];
    }
  }
  simple(current);
  return out;
}

/** A hook with the files it sources (paths relative to the repository root, where the hooks cd). */
function analyzeHook(file: string): ShellAnalysis {
  const analysis = analyzeShell(fs.readFileSync(file, 'utf8'));
  for (const source of analysis.sources) {
    if (source.includes('$')) throw new Error(`${file}: source a literal path, not ${source}`);
    const sourced = analyzeShell(fs.readFileSync(path.join(REPO_ROOT, source), 'utf8'));
    analysis.commands.push(...sourced.commands);
    sourced.reads.forEach((r) => analysis.reads.add(r));
    sourced.assigned.forEach((a) => analysis.assigned.add(a));
    sourced.functions.forEach((f) => analysis.functions.add(f));
  }
  return analysis;
}

/** Commands outside the allow-list, the script's functions and retry's `"$@"` (checked at its callers). */
function disallowedCommands(analysis: ShellAnalysis): string[] {
  const allowed = new Set([...GUIDE_COMMANDS, ...UTILITIES, ...BUILTINS, ...analysis.functions]);
  return [...new Set(analysis.commands.map((c) => c[0]))].filter(
    (name) => name !== undefined && !allowed.has(name) && !(name === '$@' && analysis.functions.has('retry')),
  );
}

/** Variables read that the script does not set and that are not in `known`. */
function unknownVariables(analysis: ShellAnalysis, known: Set<string>): string[] {
  return [...analysis.reads].filter(
    (v) => !analysis.assigned.has(v) && !known.has(v) && !SHELL_VARIABLES.includes(v),
  );
}

/** Params a parameters file sets that the template does not declare, and required ones it leaves out. */
function parameterMismatch(
  parametersFile: string,
  declared: Map<string, { default?: string }>,
): { unknown: string[]; missing: string[] } {
  const supplied = [...parametersFile.matchAll(/^param (\w+) =/gm)].map((m) => m[1]);
  return {
    unknown: supplied.filter((p) => !declared.has(p)),
    missing: [...declared]
      .filter(([name, p]) => p.default === undefined && !supplied.includes(name))
      .map(([n]) => n),
  };
}

// ---------------------------------------------------------------------------------------------------

interface HookConfig {
  shell?: string;
  run: string;
}
interface AzureYaml {
  name: string;
  requiredVersions?: { azd?: string };
  infra: { provider: string; path: string; module: string };
  services: Record<
    string,
    {
      project: string;
      language: string;
      host: string;
      dist?: string;
      resourceName?: string;
      remoteBuild?: boolean;
      hooks?: Record<string, HookConfig>;
    }
  >;
  hooks: Record<string, HookConfig>;
}

const azureYamlText = fs.readFileSync(path.join(REPO_ROOT, 'azure.yaml'), 'utf8');
const azureYaml = parse(azureYamlText) as AzureYaml;
const hooks = [
  ...Object.entries(azureYaml.hooks ?? {}).map(([event, hook]) => ({ event, ...hook })),
  ...Object.values(azureYaml.services ?? {}).flatMap((service) =>
    Object.entries(service.hooks ?? {}).map(([event, hook]) => ({ event, ...hook })),
  ),
];
const hookFiles = hooks.map((h) => path.join(REPO_ROOT, h.run));
const scripts = fs
  .readdirSync(AZD_DIR)
  .filter((f) => f.endsWith('.sh'))
  .map((f) => path.join(AZD_DIR, f));

const main = new BicepFile(path.join(REPO_ROOT, 'infra', 'main.bicep'));
const bicepparam = fs.readFileSync(path.join(REPO_ROOT, 'infra', 'main.bicepparam'), 'utf8');
const outputs = [...main.text.matchAll(/^output (\w+) /gm)].map((m) => m[1]);
const paramEnvironment = [...bicepparam.matchAll(/readEnvironmentVariable\('(\w+)'/g)].map((m) => m[1]);
const analyses = new Map(hookFiles.filter((f) => fs.existsSync(f)).map((file) => [file, analyzeHook(file)]));
/** What the hooks keep in the azd environment for later hooks (azd env set NAME …). */
const hookState = [...analyses.values()].flatMap((a) =>
  a.commands.filter((c) => c[0] === 'azd' && c[1] === 'env' && c[2] === 'set').map((c) => c[3]),
);

function deploySection(): string {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Deploy to Azure');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('azure.yaml (azd up / azd down)', () => {
  it('documents every switch a deployer may set in the README', () => {
    for (const name of OPERATOR_SWITCHES) expect(deploySection()).toMatch(new RegExp(`\\b${name}\\b`));
  });

  it('parses and provisions infra/main with Bicep, its parameters from infra/main.bicepparam only', () => {
    expect(azureYaml.name).toBe('orders-pipeline');
    expect(azureYaml.infra).toEqual({ provider: 'bicep', path: 'infra', module: 'main' });
    expect(fs.existsSync(path.join(REPO_ROOT, 'infra', 'main.bicep'))).toBe(true);
    // azd compiles <module>.bicepparam when it exists and then ignores <module>.parameters.json.
    expect(fs.existsSync(path.join(REPO_ROOT, 'infra', 'main.bicepparam'))).toBe(true);
    expect(fs.existsSync(path.join(REPO_ROOT, 'infra', 'main.parameters.json'))).toBe(false);
    expect(azureYaml.requiredVersions?.azd).toMatch(/^>= \d+\.\d+\.\d+$/);
  });

  it('publishes the Function App from the folder the prepackage hook expands, with a remote build', () => {
    expect(Object.keys(azureYaml.services)).toEqual(['functions']);
    const service = azureYaml.services.functions;
    expect(service).toMatchObject({ project: '.', language: 'ts', host: 'function', remoteBuild: true });
    expect(service.dist).toBe('dist/app');
    // The guide's package (npm run package → dist/app.zip), expanded where `dist` points.
    const prepackage = analyses.get(path.join(REPO_ROOT, service.hooks!.prepackage.run))!;
    expect(prepackage.commands).toContainEqual(['npm', 'run', 'package']);
    expect(prepackage.commands).toContainEqual(['unzip', '-q', '-o', 'dist/app.zip', '-d', service.dist]);
  });

  it('names every hook: the bundle, Unity Catalog, the package, the first publish, the second stage, down', () => {
    expect(Object.keys(azureYaml.hooks).sort()).toEqual([
      'postdeploy',
      'postprovision',
      'predown',
      'preprovision',
    ]);
    expect(Object.keys(azureYaml.services.functions.hooks ?? {}).sort()).toEqual(['predeploy', 'prepackage']);
    for (const hook of hooks) {
      expect({ hook: hook.event, shell: hook.shell }).toEqual({ hook: hook.event, shell: 'sh' });
      expect(hook.run).toBe(`infra/azd/${hook.event}.sh`);
    }
  });

  it('takes every ${VAR} it expands from a Bicep output (azd keeps the outputs names as declared)', () => {
    const expanded = [...azureYamlText.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]);
    expect(expanded.length).toBeGreaterThan(0);
    expect(expanded.filter((v) => !outputs.includes(v))).toEqual([]);
  });
});

describe('azd hooks (infra/azd)', () => {
  it('has a file for every hook azure.yaml names', () => {
    expect(hookFiles.length).toBeGreaterThan(0);
    expect(hookFiles.filter((f) => !fs.existsSync(f)).map((f) => path.relative(REPO_ROOT, f))).toEqual([]);
  });

  it('has no script that is neither a hook nor sourced by one', () => {
    const sourced = [...analyses.values()].flatMap((a) => a.sources.map((s) => path.join(REPO_ROOT, s)));
    expect(scripts.filter((s) => !hookFiles.includes(s) && !sourced.includes(s))).toEqual([]);
    expect(sourced).toContain(path.join(AZD_DIR, 'retry.sh'));
  });

  it.each(scripts.map((f) => [path.relative(REPO_ROOT, f), f]))(
    '%s exists, is executable, starts with bash and set -euo pipefail, and passes bash -n',
    (_, file) => {
      expect(fs.statSync(file).mode & 0o111).not.toBe(0);
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      expect(lines[0]).toBe('#!/usr/bin/env bash');
      // A comment says why the script exists, then set -euo pipefail before any command.
      expect(lines[1]).toMatch(/^# \S/);
      expect(lines.find((l) => l.trim() !== '' && !l.startsWith('#'))).toBe('set -euo pipefail');
      execFileSync('bash', ['-n', file]);
    },
  );

  it.each([...analyses.keys()].map((f) => [path.relative(REPO_ROOT, f), f]))(
    '%s calls only commands the guide documents (through retry too), builtins and its functions',
    (_, file) => {
      const analysis = analyses.get(file)!;
      expect(analysis.commands.length).toBeGreaterThan(3);
      expect({ file, disallowed: disallowedCommands(analysis) }).toEqual({ file, disallowed: [] });
    },
  );

  it('lists only commands that the guide names', () => {
    const guide = deploySection();
    expect(GUIDE_COMMANDS.filter((c) => !new RegExp(`(^|[\\s\`(])${c} `, 'm').test(guide))).toEqual([]);
  });

  it.each([...analyses.keys()].map((f) => [path.relative(REPO_ROOT, f), f]))(
    '%s reads only Bicep outputs, main.bicepparam variables, azd variables and what the hooks keep',
    (_, file) => {
      const known = new Set([
        ...outputs,
        ...paramEnvironment,
        ...AZD_VARIABLES,
        ...hookState,
        ...OPERATOR_SWITCHES,
      ]);
      expect({ file, unknown: unknownVariables(analyses.get(file)!, known) }).toEqual({ file, unknown: [] });
    },
  );

  it('hands the Bicep what it reads: the job id (preprovision), Capture on (postprovision), the second stage switch (postdeploy)', () => {
    expect(paramEnvironment).toEqual(
      expect.arrayContaining(['DATABRICKS_JOB_ID', 'CREATE_EVENT_GRID_SUBSCRIPTION', 'CAPTURE_ENABLED']),
    );
    expect(hookState).toEqual(expect.arrayContaining(['DATABRICKS_JOB_ID', 'CAPTURE_ENABLED']));
    // Capture, off in the first provision, is turned on by a retried deployment and kept on after.
    const postprovision = analyses.get(path.join(AZD_DIR, 'postprovision.sh'))!;
    expect(postprovision.commands).toContainEqual(['export', 'CAPTURE_ENABLED=true']);
    expect(
      postprovision.commands.some(
        (c) =>
          c[0] === 'retry' &&
          c[3] === 'az' &&
          c.includes('deployment') &&
          c.includes('infra/main.bicepparam'),
      ),
    ).toBe(true);
    const postdeploy = analyses.get(path.join(AZD_DIR, 'postdeploy.sh'))!;
    expect(postdeploy.commands).toContainEqual([
      'export',
      'CREATE_EVENT_GRID_SUBSCRIPTION=true',
      'CAPTURE_ENABLED=true',
    ]);
    expect(postdeploy.commands.some((c) => c[0] === 'az' && c.includes('infra/main.bicepparam'))).toBe(true);
    expect(
      postdeploy.commands.some((c) => c[0] === 'npx' && c[1] === 'orders-pipeline' && c[2] === 'smoke'),
    ).toBe(true);
  });

  it('runs the bundle resources that the prod target defines, and reads the job id from bundle summary', () => {
    const bundle = parse(
      fs.readFileSync(path.join(REPO_ROOT, 'infra', 'databricks', 'databricks.yml'), 'utf8'),
    ) as {
      resources?: { jobs?: Record<string, unknown> };
      targets: Record<string, { resources?: { jobs?: Record<string, unknown> } } | null>;
    };
    const prodJobs = { ...bundle.resources?.jobs, ...bundle.targets.prod?.resources?.jobs };
    expect(Object.keys(prodJobs)).toEqual(
      expect.arrayContaining(['orders_lakehouse', 'orders_lakehouse_setup']),
    );
    const preprovision = fs.readFileSync(path.join(AZD_DIR, 'preprovision.sh'), 'utf8');
    expect(preprovision).toContain(".resources.jobs.orders_lakehouse.id // empty'");
    expect(preprovision).toMatch(/bundle run -t prod .*orders_lakehouse_setup/);
  });
});

describe('main.bicepparam against main.bicep (the parameters azd passes)', () => {
  const mismatch = parameterMismatch(bicepparam, main.params());

  it('is for main.bicep and supplies only params main.bicep declares, each environment variable to one', () => {
    expect(bicepparam).toMatch(/^using 'main\.bicep'$/m);
    expect(mismatch.unknown).toEqual([]);
    const environmentParams = [...bicepparam.matchAll(/^param (\w+) = .*readEnvironmentVariable\(/gm)];
    expect(environmentParams.length).toBe(paramEnvironment.length);
  });

  it('supplies every param that has no default', () => {
    expect([...main.params().values()].some((p) => p.default === undefined)).toBe(true);
    expect(mismatch.missing).toEqual([]);
  });
});

describe('the checks can fail', () => {
  const known = new Set([...outputs, ...paramEnvironment, ...AZD_VARIABLES]);

  it('finds a command outside the allow-list, directly, through retry and in a substitution', () => {
    const script = [
      'retry() { "$@"; }',
      'curl https://example.invalid',
      'retry 3 5 wget https://example.invalid',
      'x=$(python3 -c 1)',
      'if [[ -n $(base64 <<<"$x") ]]; then az version; fi',
      'az version | tee log.txt',
    ].join('\n');
    expect(disallowedCommands(analyzeShell(script)).sort()).toEqual([
      'base64',
      'curl',
      'python3',
      'tee',
      'wget',
    ]);
  });

  it('finds variables that neither Bicep nor azd nor the script sets (names are case-sensitive)', () => {
    const analysis = analyzeShell(
      'local mine=1\necho "$mine ${functionAppName} ${FUNCTIONAPPNAME:-x} $((n + 1))" "${a:+$b}"',
    );
    expect(unknownVariables(analysis, known).sort()).toEqual(['FUNCTIONAPPNAME', 'a', 'b', 'n']);
  });

  it('refuses what the tokenizer does not read', () => {
    expect(() => analyzeShell('cat <<EOF\nx\nEOF')).toThrow(/here-documents/);
    expect(() => analyzeShell('x=`date`')).toThrow(/backticks/);
    expect(() => analyzeShell('case $x in a) ;; esac')).toThrow(/case/);
  });

  it('finds a param the template does not declare and a required one left out', () => {
    const declared = new Map<string, { default?: string }>([
      ['databricksHost', {}],
      ['retentionDays', { default: '7' }],
    ]);
    expect(
      parameterMismatch("using 'main.bicep'\nparam retentionDays = 3\nparam namePrefx = 'x'\n", declared),
    ).toEqual({
      unknown: ['namePrefx'],
      missing: ['databricksHost'],
    });
  });

  it('tells a non-executable script and a syntax error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'azd-hooks-'));
    try {
      const file = path.join(dir, 'broken.sh');
      fs.writeFileSync(file, '#!/usr/bin/env bash\nset -euo pipefail\nif true; then\n', { mode: 0o644 });
      expect(fs.statSync(file).mode & 0o111).toBe(0);
      expect(() => execFileSync('bash', ['-n', file], { stdio: 'pipe' })).toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
