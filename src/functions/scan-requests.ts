import { app, type InvocationContext } from "@azure/functions";
import { runRequestedScan, SCAN_REQUESTS_QUEUE } from "../scan/queued-scan";
import { contextLogger, runtime } from "./runtime";

/**
 * Runs one scan asked for through `POST /api/scans`. A host that stops mid-scan leaves the
 * message to be retried; the retry runs once the dead attempt's lease has run out.
 */
export async function scanRequests(message: unknown, context: InvocationContext): Promise<void> {
  const { config, storage, connection } = runtime();
  await runRequestedScan(message, { config, storage, connection, log: contextLogger(context) });
}

app.storageQueue("scanRequests", {
  queueName: SCAN_REQUESTS_QUEUE,
  connection: "AzureWebJobsStorage",
  handler: scanRequests,
});
