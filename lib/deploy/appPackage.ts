// yazl writes the zip: maintained, and it streams each file instead of building the archive in memory.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Options, ZipFile } from 'yazl';

/**
 * The Functions app's deployment package: the files `npm pack` would publish (package.json `files`:
 * compiled functions and lib, host.json, the SQL read at run time), the lock file, and a package.json
 * trimmed for the host (below). Nothing local or secret (.local/, local.settings.json) is in `files`.
 */
export function packageFiles(root: string): string[] {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [pack] = JSON.parse(output) as { files: { path: string }[] }[];
  return [...pack.files.map((f) => f.path), 'package-lock.json'].sort();
}

/** Packages a module requires, following relative requires (static and lazy) from `entries`. */
export function requiredPackages(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = fs.readFileSync(file, 'utf8');
    for (const [, , spec] of code.matchAll(/require\((["'])([^"']+)\1\)/g)) {
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        visit(fs.existsSync(`${target}.js`) ? `${target}.js` : path.join(target, 'index.js'));
      } else if (!spec.startsWith('node:')) {
        const parts = spec.split('/');
        packages.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
      }
    }
  };
  entries.forEach(visit);
  return packages;
}

/**
 * package.json for the host: no scripts (a remote build must not try to compile sources that are not
 * in the package) and only the dependencies the functions require — not the local stack's Azurite
 * and DuckDB, which are most of node_modules.
 */
export function hostPackageJson(root: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    main: string;
    engines?: Record<string, string>;
    dependencies: Record<string, string>;
    overrides?: Record<string, string>;
  };
  const functions = path.join(root, 'dist', 'functions');
  const needed = requiredPackages(
    fs
      .readdirSync(functions)
      .filter((f) => f.endsWith('.js'))
      .map((f) => path.join(functions, f)),
  );
  for (const name of needed) {
    if (!(name in pkg.dependencies))
      throw new Error(`the functions require ${name}, which is not a dependency`);
  }
  const dependencies = Object.fromEntries(
    Object.entries(pkg.dependencies).filter(([name]) => needed.has(name)),
  );
  // The overrides keep the lock file valid for the remote build's install.
  const { name, version, main, engines, overrides } = pkg;
  return `${JSON.stringify({ name, version, main, engines, dependencies, overrides }, null, 2)}\n`;
}

/**
 * A fixed time and mode: the same sources give the same archive. DOS times are local, so a local
 * 1980-01-01 encodes the same in any time zone; the UTC time field (yazl's default) would not.
 */
const ENTRY: Partial<Options> = { mtime: new Date(1980, 0, 1), mode: 0o100644, forceDosTimestamp: true };

/**
 * Writes `files` (paths under `root`) into a zip archive at `target` (deflate), streaming each from
 * disk; `replace` gives the content of a file instead of the one on disk. On failure no zip is left.
 */
export async function writeZip(
  root: string,
  files: string[],
  target: string,
  replace: Record<string, string> = {},
): Promise<{ files: number; bytes: number }> {
  const zip = new ZipFile();
  for (const name of files) {
    if (name in replace) zip.addBuffer(Buffer.from(replace[name]), name, ENTRY);
    else zip.addFile(path.join(root, name), name, ENTRY);
  }
  zip.end();
  const out = fs.createWriteStream(target);
  // A file that cannot be read fails the ZipFile, not its output: fail the write with it.
  zip.on('error', (err: Error) => out.destroy(err));
  try {
    await pipeline(zip.outputStream, out);
  } catch (err) {
    if (!out.closed) await once(out, 'close');
    await fs.promises.rm(target, { force: true });
    throw err;
  }
  return { files: files.length, bytes: out.bytesWritten };
}
