import { DefaultAzureCredential } from "@azure/identity";
import { TableClient, type TableServiceClientOptions } from "@azure/data-tables";
import { InputError } from "../errors";

/** The storage account the scanner keeps its state in; tables are created on first use. */
export interface Storage {
  table(name: string): Promise<TableClient>;
  /** Where the state lives, for messages (never the key). */
  describe: string;
}

const DEVELOPMENT = "UseDevelopmentStorage=true";

function fromConnectionString(
  connectionString: string,
  options: TableServiceClientOptions = {},
): (name: string) => TableClient {
  const cs = connectionString.trim() === DEVELOPMENT ? DEVELOPMENT : connectionString;
  const insecure = /DefaultEndpointsProtocol=http;|TableEndpoint=http:\/\//i.test(cs) || cs === DEVELOPMENT;
  return (name) =>
    TableClient.fromConnectionString(cs, name, {
      ...options,
      ...(insecure ? { allowInsecureConnection: true } : {}),
    });
}

/**
 * Reads the storage account as the Functions host does: `AzureWebJobsStorage` as a connection
 * string (or `UseDevelopmentStorage=true`), or the identity-based form
 * `AzureWebJobsStorage__tableServiceUri` / `AzureWebJobsStorage__accountName` with a managed identity.
 */
export function storageFromEnv(env: Record<string, string | undefined>): Storage | undefined {
  const connectionString = env.AzureWebJobsStorage?.trim();
  const serviceUri =
    env.AzureWebJobsStorage__tableServiceUri?.trim() ||
    (env.AzureWebJobsStorage__accountName?.trim()
      ? `https://${env.AzureWebJobsStorage__accountName.trim()}.table.core.windows.net`
      : undefined);
  if (connectionString) {
    if (!/AccountName=|UseDevelopmentStorage=true|TableEndpoint=/i.test(connectionString)) {
      throw new InputError(
        "AzureWebJobsStorage is not a storage connection string (expected AccountName=...;AccountKey=... or UseDevelopmentStorage=true).",
      );
    }
    const host = connectionString.match(/AccountName=([^;]+)/i)?.[1] ?? "development storage";
    return storageOf(fromConnectionString(connectionString), `storage account ${host}`);
  }
  if (serviceUri) {
    if (!/^https:\/\//.test(serviceUri))
      throw new InputError("AzureWebJobsStorage__tableServiceUri must be an https URL.");
    const credential = new DefaultAzureCredential(
      env.AzureWebJobsStorage__clientId ? { managedIdentityClientId: env.AzureWebJobsStorage__clientId } : {},
    );
    return storageOf((name) => new TableClient(serviceUri, name, credential), serviceUri);
  }
  return undefined;
}

/** `options` reach every table client (tests add a policy that counts requests). */
export function storageFromConnectionString(
  connectionString: string,
  describe: string,
  options?: TableServiceClientOptions,
): Storage {
  return storageOf(fromConnectionString(connectionString, options), describe);
}

function storageOf(client: (name: string) => TableClient, describe: string): Storage {
  const ready = new Map<string, Promise<TableClient>>();
  return {
    describe,
    table: (name) => {
      let table = ready.get(name);
      if (!table) {
        const c = client(name);
        table = c.createTable().then(
          () => c,
          (error: unknown) => {
            ready.delete(name);
            throw error;
          },
        );
        ready.set(name, table);
      }
      return table;
    },
  };
}
