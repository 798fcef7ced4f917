import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

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
 * Writes `files` (paths under `root`) into a zip archive at `target` (deflate, no extra fields);
 * `replace` gives the content of a file instead of the one on disk.
 */
export function writeZip(
  root: string,
  files: string[],
  target: string,
  replace: Record<string, string> = {},
): { files: number; bytes: number } {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const name of files) {
    const data = name in replace ? Buffer.from(replace[name]) : fs.readFileSync(path.join(root, name));
    const packed = zlib.deflateRawSync(data);
    const nameBytes = Buffer.from(name.split(path.sep).join('/'), 'utf8');
    const crc = zlib.crc32(data);
    // The fields the local header (at 4) and the central directory entry (at 6) share. A fixed
    // time (1980-01-01): the same sources give the same archive.
    const shared = (b: Buffer, at: number) => {
      b.writeUInt16LE(20, at); // version needed
      b.writeUInt16LE(0x0800, at + 2); // UTF-8 names
      b.writeUInt16LE(8, at + 4); // deflate
      b.writeUInt16LE(0, at + 6);
      b.writeUInt16LE(0x21, at + 8);
      b.writeUInt32LE(crc, at + 10);
      b.writeUInt32LE(packed.length, at + 14);
      b.writeUInt32LE(data.length, at + 18);
      b.writeUInt16LE(nameBytes.length, at + 22);
      return b;
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    locals.push(shared(local, 4), nameBytes, packed);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(0x031e, 4); // made by: Unix, spec 3.0
    shared(entry, 6);
    entry.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
    entry.writeUInt32LE(offset, 42);
    central.push(entry, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  const archive = Buffer.concat([...locals, directory, end]);
  fs.writeFileSync(target, archive);
  return { files: files.length, bytes: archive.length };
}
