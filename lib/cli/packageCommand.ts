import path from 'node:path';
import { hostPackageJson, packageFiles, writeZip } from '../deploy/appPackage';
import { projectRoot } from '../lakehouse/sqlText';
import { parseCommandArgs } from './args';

export const PACKAGE_HELP = `orders-pipeline package [--out FILE]

Writes the Functions app's deployment zip (default dist/app.zip) from the built tree: the files
npm pack publishes plus package-lock.json, for
  az functionapp deployment source config-zip -g RG -n APP --src dist/app.zip --build-remote true
Run npm run build first (npm run package does both).
`;

export async function packageCommand(args: string[]): Promise<void> {
  const { values } = parseCommandArgs(args, { out: { type: 'string' } });
  const root = projectRoot();
  const target = path.resolve(values.out ?? path.join(root, 'dist', 'app.zip'));
  const written = await writeZip(root, packageFiles(root), target, { 'package.json': hostPackageJson(root) });
  process.stderr.write(`package: ${written.files} files, ${written.bytes} bytes → ${target}\n`);
}
