import { app, type InvocationContext } from "@azure/functions";
import { dispatchAlert } from "../alerts/dispatch";
import { ALERTS_QUEUE } from "../alerts/emit";
import { loadConfig } from "../config";
import { InputError } from "../errors";
import type { Logger } from "../log";
import { storageFromEnv } from "../store/storage";

/** One structured object per event, through the host's logger. */
export function contextLogger(context: InvocationContext): Logger {
  return (level, event, fields = {}) => {
    const entry = { event, invocationId: context.invocationId, ...fields };
    if (level === "error") context.error(entry);
    else if (level === "warn") context.warn(entry);
    else if (level === "debug") context.debug(entry);
    else context.info(entry);
  };
}

/** Delivers one message of the `alerts` queue; throwing hands it back to the queue for a retry. */
export async function alertDispatcher(message: unknown, context: InvocationContext): Promise<void> {
  const config = loadConfig(process.env);
  const storage = storageFromEnv(process.env);
  if (!storage)
    throw new InputError("AzureWebJobsStorage is not set: the dispatcher needs the storage account.");
  await dispatchAlert(message, { storage, config, log: contextLogger(context) });
}

app.storageQueue("alertDispatcher", {
  queueName: ALERTS_QUEUE,
  connection: "AzureWebJobsStorage",
  handler: alertDispatcher,
});
