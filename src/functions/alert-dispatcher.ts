import { app, type InvocationContext } from "@azure/functions";
import { dispatchAlert } from "../alerts/dispatch";
import { ALERTS_QUEUE } from "../alerts/emit";
import { contextLogger, runtime } from "./runtime";

/** Delivers one message of the `alerts` queue; throwing hands it back to the queue for a retry. */
export async function alertDispatcher(message: unknown, context: InvocationContext): Promise<void> {
  const { storage, config, agent } = runtime();
  await dispatchAlert(message, { storage, config, log: contextLogger(context), ...(agent ? { agent } : {}) });
}

app.storageQueue("alertDispatcher", {
  queueName: ALERTS_QUEUE,
  connection: "AzureWebJobsStorage",
  handler: alertDispatcher,
});
