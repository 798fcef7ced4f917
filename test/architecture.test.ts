import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './support/paths';

/**
 * The folder tree is the architecture: core modules (contracts, decisions, lakehouse, operations)
 * know nothing of the hosts that wire them; the Azure Functions host never loads a laptop stand-in;
 * only the CLI knows the CLI. Read from the TypeScript import graph, dynamic imports included.
 */
const LAYERS = ['core', 'host', 'local', 'cli'] as const;
type Layer = (typeof LAYERS)[number];

function layerOf(file: string): Layer | undefined {
  if (file === 'lib/config.ts' || file.startsWith('lib/host/') || file.startsWith('functions/'))
    return 'host';
  if (file.startsWith('lib/local/')) return 'local';
  if (file.startsWith('lib/cli/')) return 'cli';
  if (file.startsWith('lib/')) return 'core';
  return undefined;
}

const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: REPO_ROOT,
  encoding: 'utf8',
})
  .split('\n')
  .filter((file) => file !== '' && fs.existsSync(path.join(REPO_ROOT, file)));

/** Relative imports of every source file, resolved to repository paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tracked.filter((f) => /^(lib|functions)\/.*\.ts$/.test(f))) {
    const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
    const imports = ts
      .preProcessFile(text, true, true)
      .importedFiles.map((i) => i.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => path.posix.normalize(path.posix.join(path.posix.dirname(file), name)))
      .map((target) =>
        [`${target}.ts`, `${target}/index.ts`, target].find((candidate) => tracked.includes(candidate)),
      );
    expect(imports).not.toContain(undefined);
    graph.set(file, imports as string[]);
  }
  return graph;
}

describe('source layers (core ← host ← local ← cli)', () => {
  const graph = importGraph();

  it('reads a graph that covers every source file', () => {
    expect(graph.size).toBeGreaterThan(80);
    expect(graph.get('lib/local/localPipeline.ts')).toContain('lib/host/pipelinePorts.ts');
  });

  it('has no import from a lower layer to a higher one', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const from = LAYERS.indexOf(layerOf(file)!);
      for (const target of imports) {
        if (LAYERS.indexOf(layerOf(target)!) > from) upward.push(`${file} → ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('keeps the configuration out of the core: core modules take their narrow settings', () => {
    const readers = [...graph]
      .filter(([file, imports]) => layerOf(file) === 'core' && imports.includes('lib/config.ts'))
      .map(([file]) => file);
    expect(readers).toEqual([]);
  });

  it('has no import cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});

describe('the repository stands alone', () => {
  const textFiles = tracked.filter(
    (file) => !/\.(avro|png|jpg|zip|duckdb)$/.test(file) && file !== 'package-lock.json',
  );

  /** Where a relative reference in `file` lands, for files that run from dist/ after the build. */
  function landsInside(file: string, segments: string[], fromDist: boolean): boolean {
    const dir = path.join(REPO_ROOT, fromDist ? 'dist' : '', path.dirname(file));
    const target = path.resolve(dir, ...segments);
    return target === REPO_ROOT || target.startsWith(REPO_ROOT + path.sep);
  }

  it('has no file that refers to a path outside it', () => {
    const outside: string[] = [];
    for (const file of textFiles) {
      let fenced = false;
      fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const where = `${file}:${i + 1}`;
          // A Markdown code block's relative paths are the shell's (after its own cd), not the file's.
          if (file.endsWith('.md') && /^\s*```/.test(line)) fenced = !fenced;
          if (fenced) return;
          // Written relative paths: Markdown links, imports, comments, strings.
          for (const match of line.matchAll(/(?<![\w.])((?:\.\.\/)+)[\w.-]*/g)) {
            const segments = match[1].split('/').filter(Boolean);
            if (!landsInside(file, segments, false)) outside.push(`${where}: ${match[0]}`);
          }
          // Parent steps from __dirname in code, resolved where that code runs.
          for (const match of line.matchAll(/__dirname((?:,\s*'\.\.')+)/g)) {
            const segments = match[1]
              .split(',')
              .filter((s) => s.includes('..'))
              .map(() => '..');
            const fromDist = /^(lib|functions|bench)\//.test(file);
            if (!landsInside(file, segments, fromDist)) outside.push(`${where}: ${match[0]}`);
          }
          // The team's spec is not in a clone: docs/architecture.md describes what is built.
          if (/\bDESIGN\.md\b|\bshared\/fixtures\b/.test(line) && file !== 'test/architecture.test.ts') {
            outside.push(`${where}: ${line.trim()}`);
          }
        });
    }
    expect(outside).toEqual([]);
  });

  it('finds what it looks for: a reference that leaves the repository is caught', () => {
    expect(landsInside('test/x.test.ts', ['..', '..', 'elsewhere'], false)).toBe(false);
    expect(landsInside('test/x.test.ts', ['..'], false)).toBe(true);
    expect(landsInside('lib/a/b.ts', ['..', '..', '..'], true)).toBe(true);
    expect(landsInside('lib/a/b.ts', ['..', '..', '..', '..'], true)).toBe(false);
  });

  it('names only paths that exist in its documentation', () => {
    const documents = tracked.filter((file) => file.endsWith('.md') && !file.startsWith('test/fixtures/'));
    const missing: string[] = [];
    for (const file of documents) {
      const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
      for (const [, named] of text.matchAll(/`((?:lib|test|functions|infra|bench|docs)\/[\w./-]+)`/g)) {
        const candidate = named.replace(/\/$/, '');
        if (!fs.existsSync(path.join(REPO_ROOT, candidate))) missing.push(`${file}: ${named}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('keeps the Capture fixtures inside the repository', () => {
    expect(tracked).toContain('test/fixtures/capture/README.md');
    expect(tracked.filter((f) => f.startsWith('test/fixtures/capture/') && f.endsWith('.avro'))).toHaveLength(
      3,
    );
  });
});
