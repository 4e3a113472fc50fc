import { DefaultAzureCredential } from "@azure/identity";
import { TableClient, type TableServiceClientOptions } from "@azure/data-tables";
import { QueueClient } from "@azure/storage-queue";
import { InputError } from "../errors";

/** The storage account the scanner keeps its state in; tables and queues are created on first use. */
export interface Storage {
  table(name: string): Promise<TableClient>;
  queue(name: string): Promise<QueueClient>;
  /** Where the state lives, for messages (never the key). */
  describe: string;
}

interface Clients {
  table: (name: string) => TableClient;
  queue: (name: string) => QueueClient;
}

const DEVELOPMENT = "UseDevelopmentStorage=true";

function fromConnectionString(connectionString: string, options: TableServiceClientOptions = {}): Clients {
  const cs = connectionString.trim() === DEVELOPMENT ? DEVELOPMENT : connectionString;
  const insecure = /DefaultEndpointsProtocol=http;|TableEndpoint=http:\/\//i.test(cs) || cs === DEVELOPMENT;
  return {
    table: (name) =>
      TableClient.fromConnectionString(cs, name, {
        ...options,
        ...(insecure ? { allowInsecureConnection: true } : {}),
      }),
    queue: (name) => new QueueClient(cs, name),
  };
}

/**
 * Reads the storage account as the Functions host does: `AzureWebJobsStorage` as a connection
 * string (or `UseDevelopmentStorage=true`), or the identity-based form with per-service URIs
 * (`AzureWebJobsStorage__tableServiceUri` and `__queueServiceUri`, as infra/app.bicep sets them
 * from the account's primaryEndpoints) and a managed identity (`__clientId` for a user-assigned
 * one). The URIs carry the cloud's own storage suffix, so sovereign clouds work; `__accountName`
 * alone would mean public-cloud URIs
 * (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity),
 * so it is refused with what to set instead.
 */
export function storageFromEnv(env: Record<string, string | undefined>): Storage | undefined {
  const connectionString = env.AzureWebJobsStorage?.trim();
  if (connectionString) {
    if (!/AccountName=|UseDevelopmentStorage=true|TableEndpoint=/i.test(connectionString)) {
      throw new InputError(
        "AzureWebJobsStorage is not a storage connection string (expected AccountName=...;AccountKey=... or UseDevelopmentStorage=true).",
      );
    }
    const host = connectionString.match(/AccountName=([^;]+)/i)?.[1] ?? "development storage";
    const clients = fromConnectionString(connectionString);
    try {
      // The SDKs read the connection string when a client is made: a bad one is bad input, found now.
      clients.table("probe");
      clients.queue("probe");
    } catch {
      // Not the SDK's message: it could quote the connection string, which holds the account key.
      throw new InputError(
        "AzureWebJobsStorage is not a usable storage connection string (expected DefaultEndpointsProtocol=https;AccountName=...;AccountKey=..., or UseDevelopmentStorage=true).",
      );
    }
    return storageOf(clients, `storage account ${host}`);
  }
  const tableUri = env.AzureWebJobsStorage__tableServiceUri?.trim();
  const queueUri = env.AzureWebJobsStorage__queueServiceUri?.trim();
  const account = env.AzureWebJobsStorage__accountName?.trim();
  if (!tableUri && !queueUri && !account) return undefined;
  if (!tableUri || !queueUri || ![tableUri, queueUri].every((uri) => uri.startsWith("https://"))) {
    throw new InputError(
      "Identity-based storage needs both AzureWebJobsStorage__tableServiceUri and AzureWebJobsStorage__queueServiceUri as https URLs " +
        "(the account's primaryEndpoints.table and .queue; infra/app.bicep sets them). __accountName alone is not used: it only names public-cloud endpoints.",
    );
  }
  const clientId = env.AzureWebJobsStorage__clientId?.trim();
  const credential = new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
  return storageOf(
    {
      table: (name) => new TableClient(tableUri, name, credential),
      queue: (name) => new QueueClient(`${queueUri.replace(/\/+$/, "")}/${name}`, credential),
    },
    tableUri,
  );
}

/** `options` reach every table client (tests add a policy that counts requests). */
export function storageFromConnectionString(
  connectionString: string,
  describe: string,
  options?: TableServiceClientOptions,
): Storage {
  return storageOf(fromConnectionString(connectionString, options), describe);
}

/** Creates each table or queue once per process, on first use; a failed creation is tried again next time. */
function onFirstUse<T>(make: (name: string) => T, create: (client: T) => Promise<unknown>) {
  const ready = new Map<string, Promise<T>>();
  return (name: string): Promise<T> => {
    let client = ready.get(name);
    if (!client) {
      const c = make(name);
      client = create(c).then(
        () => c,
        (error: unknown) => {
          ready.delete(name);
          throw error;
        },
      );
      ready.set(name, client);
    }
    return client;
  };
}

function storageOf(clients: Clients, describe: string): Storage {
  return {
    describe,
    table: onFirstUse(clients.table, (c) => c.createTable()),
    queue: onFirstUse(clients.queue, (c) => c.createIfNotExists()),
  };
}
