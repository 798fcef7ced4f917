import fs from 'node:fs';
import { powerBiConnection, goldTables, DeploymentOutputs } from '../deploy/powerBiConnection';
import { parseCommandArgs, UsageError } from './args';
import { errorMessage } from '../errorMessage';

export const POWERBI_HELP = `orders-pipeline powerbi <deployment-outputs.json> [--out FILE] [--import]

Writes the Power BI Desktop connection file (.pbids) for the gold tables on the SQL warehouse, from
the Bicep deployment's outputs:
  az deployment group show -g RG -n main --query properties.outputs > outputs.json
  --out FILE   where to write it (default: stdout)
  --import     Import mode instead of DirectQuery
`;

export async function powerBiCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    out: { type: 'string' },
    import: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('powerbi takes the deployment outputs JSON file');
  let outputs: DeploymentOutputs;
  try {
    outputs = JSON.parse(fs.readFileSync(positionals[0], 'utf8')) as DeploymentOutputs;
  } catch (error) {
    throw new Error(`${positionals[0]}: not readable as deployment outputs JSON: ${errorMessage(error)}`);
  }
  const file = `${JSON.stringify(powerBiConnection(outputs, values.import ? 'Import' : 'DirectQuery'), null, 2)}\n`;
  if (values.out) {
    fs.writeFileSync(values.out, file);
    process.stderr.write(
      `powerbi: wrote ${values.out}; open it in Power BI Desktop and pick ${goldTables(outputs).join(', ')}\n`,
    );
  } else process.stdout.write(file);
}
