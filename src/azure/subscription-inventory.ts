import { z } from "zod";

/** Every subscription the scanner's identity can read, with the tenant it belongs to. */
export const SUBSCRIPTIONS_QUERY = `resourcecontainers
| where type =~ 'microsoft.resources/subscriptions'
| project subscriptionId, tenantId, subscriptionName = name, state = tostring(properties.state)
| order by subscriptionId asc`;

export const subscriptionRowSchema = z.object({
  subscriptionId: z.string().min(1),
  tenantId: z.string().min(1),
  subscriptionName: z.string(),
  state: z.string(),
});

export type SubscriptionRow = z.infer<typeof subscriptionRowSchema>;
