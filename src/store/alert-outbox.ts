import { createHash } from "node:crypto";
import { z } from "zod";
import { alertMessageSchema, type AlertMessage } from "../findings/alert-message";
import type { Storage } from "./storage";
import { chunks } from "./tables";

const PARTITION = "pending";
const rowKeyOf = (alert: AlertMessage) => createHash("sha256").update(alert.idempotencyKey).digest("hex");

/**
 * Alerts about a scan rather than a finding (incomplete or failed scans, expiring exceptions),
 * kept until they are on the queue. Finding alerts travel inside the finding entities instead.
 */
export class AlertOutbox {
  constructor(
    private readonly storage: Storage,
    private readonly tableName = "alertoutbox",
  ) {}

  async add(alerts: readonly AlertMessage[]): Promise<void> {
    const table = await this.storage.table(this.tableName);
    for (const chunk of chunks(alerts)) {
      await table.submitTransaction(
        chunk.map((alert) => [
          "upsert",
          { partitionKey: PARTITION, rowKey: rowKeyOf(alert), alert: JSON.stringify(alert) },
          "Replace",
        ]),
      );
    }
  }

  async list(): Promise<AlertMessage[]> {
    const table = await this.storage.table(this.tableName);
    const alerts: AlertMessage[] = [];
    for await (const row of table.listEntities<{ alert: string }>()) {
      alerts.push(alertMessageSchema.parse(JSON.parse(z.string().parse(row.alert))));
    }
    return alerts;
  }

  async remove(alerts: readonly AlertMessage[]): Promise<void> {
    const table = await this.storage.table(this.tableName);
    for (const chunk of chunks(alerts)) {
      await table.submitTransaction(
        chunk.map((alert) => ["delete", { partitionKey: PARTITION, rowKey: rowKeyOf(alert) }]),
      );
    }
  }
}
