/**
 * The Power BI Desktop connection file (.pbids) for the gold tables on the SQL warehouse, made from
 * the Bicep deployment's outputs (`az deployment group show … --query properties.outputs`).
 * Format: Power BI data source files, https://learn.microsoft.com/power-bi/connect-data/desktop-data-sources
 * (version 0.1, one connection; the Azure Databricks connector takes the workspace host and the
 * warehouse's HTTP path). No credential is ever written: Power BI asks for one on open.
 */

/** `properties.outputs` of an ARM/Bicep deployment: each output as `{ type, value }`. */
export type DeploymentOutputs = Record<string, { type?: string; value?: unknown }>;

export interface PowerBiConnection {
  version: '0.1';
  connections: {
    details: { protocol: 'azure-databricks'; address: { host: string; path: string } };
    options: Record<string, never>;
    mode: 'DirectQuery' | 'Import';
  }[];
}

/** A missing or malformed deployment output, named. */
export class DeploymentOutputError extends Error {
  constructor(
    readonly output: string,
    message: string,
  ) {
    super(`deployment output ${output} ${message}`);
    this.name = 'DeploymentOutputError';
  }
}

function text(outputs: DeploymentOutputs, name: string): string {
  const value = outputs[name]?.value;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new DeploymentOutputError(
      name,
      'is missing or empty (set the matching parameter and deploy again)',
    );
  }
  return value.trim();
}

export function powerBiConnection(
  outputs: DeploymentOutputs,
  mode: 'DirectQuery' | 'Import' = 'DirectQuery',
): PowerBiConnection {
  const hostValue = text(outputs, 'databricksHost');
  let host: string;
  try {
    host = new URL(hostValue.includes('://') ? hostValue : `https://${hostValue}`).hostname;
  } catch {
    throw new DeploymentOutputError('databricksHost', `is not a workspace URL: "${hostValue}"`);
  }
  const httpPath = text(outputs, 'databricksSqlHttpPath');
  if (!/^\/sql\/1\.0\/warehouses\/[\w-]+$/.test(httpPath)) {
    throw new DeploymentOutputError(
      'databricksSqlHttpPath',
      `is not a SQL warehouse HTTP path (/sql/1.0/warehouses/<id>): "${httpPath}"`,
    );
  }
  return {
    version: '0.1',
    connections: [
      {
        details: { protocol: 'azure-databricks', address: { host, path: httpPath } },
        options: {},
        mode,
      },
    ],
  };
}

/** The gold tables a report reads, fully qualified for the navigator. */
export function goldTables(outputs: DeploymentOutputs): string[] {
  const catalog = text(outputs, 'databricksCatalog');
  const schema = text(outputs, 'databricksSchema');
  return ['gold_daily_sales', 'gold_customer_sales'].map((t) => `${catalog}.${schema}.${t}`);
}
