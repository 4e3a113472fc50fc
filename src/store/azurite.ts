import { spawn } from "node:child_process";

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
const DEV_ACCOUNT = "devstoreaccount1";
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** The connection string of `account` (the development one, or one of `accounts`) on Azurite's ports. */
export function azuriteConnectionString(
  ports: { blob: number; queue: number; table: number },
  account: string = DEV_ACCOUNT,
): string {
  const endpoint = (port: number) => `http://127.0.0.1:${port}/${account}`;
  return (
    `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${DEV_KEY};` +
    `BlobEndpoint=${endpoint(ports.blob)};QueueEndpoint=${endpoint(ports.queue)};TableEndpoint=${endpoint(ports.table)};`
  );
}

export interface RunningAzurite {
  connectionString: string;
  stop(): Promise<void>;
}

/**
 * Starts Azurite (Table, Queue and Blob storage) on free loopback ports, in memory or persisted
 * in `location`. Telemetry is off (Azurite phones home by default) and API versions are not
 * checked (current SDKs are newer than Azurite knows).
 */
export async function startAzurite(
  options: {
    location?: string;
    /** Fixed ports, to restart on the same ones (default: free ports). */
    ports?: { blob: number; queue: number; table: number };
    /**
     * More accounts besides the development one, each with the development key (Azurite's
     * AZURITE_ACCOUNTS): each account's tables and queues are its own, so one Azurite can serve
     * many tests without their state meeting.
     */
    accounts?: string[];
  } = {},
): Promise<RunningAzurite> {
  let script: string;
  try {
    script = require.resolve("azurite/dist/src/azurite.js");
  } catch {
    throw new Error(
      "Azurite is not installed (it is a development dependency: run 'npm ci' in the repository), " +
        "or set AzureWebJobsStorage to a storage account.",
    );
  }
  const args = [
    script,
    "--silent",
    "--disableTelemetry",
    "--skipApiVersionCheck",
    "--blobPort",
    String(options.ports?.blob ?? 0),
    "--queuePort",
    String(options.ports?.queue ?? 0),
    "--tablePort",
    String(options.ports?.table ?? 0),
    ...(options.location ? ["--location", options.location] : ["--inMemoryPersistence"]),
  ];
  const env = { ...process.env };
  delete env.AZURITE_ACCOUNTS;
  if (options.accounts?.length)
    env.AZURITE_ACCOUNTS = [DEV_ACCOUNT, ...options.accounts].map((a) => `${a}:${DEV_KEY}`).join(";");
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
  const ports = await new Promise<Record<string, string>>((resolve, reject) => {
    const found: Record<string, string> = {};
    let output = "";
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within 30 s:\n${output}`)), 30_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill();
      reject(error);
    };
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/127\.0\.0\.1:(\d+)/g,
      )) {
        found[m[1]!] = m[2]!;
      }
      if (found.Blob && found.Queue && found.Table) {
        clearTimeout(timer);
        child.stdout.off("data", read);
        resolve(found);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) =>
      fail(new Error(`Azurite exited (code ${code}) before it was ready:\n${output}`)),
    );
  });
  child.removeAllListeners("exit");
  child.stdout.resume();
  return {
    connectionString: azuriteConnectionString(
      { blob: Number(ports.Blob), queue: Number(ports.Queue), table: Number(ports.Table) },
      DEV_ACCOUNT,
    ),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
