import { objectIdOf } from "./credential";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { ArmReadLimits, readThrottled } from "./arm/read-limits";
import { isVisible, type Estate } from "./estate";
import type { Row } from "./kql";
import { graphTables, type GraphTables } from "./tables";

/**
 * ARM's network provider for VNet peerings, as `@azure/arm-network` calls it, over the sandbox's
 * live estate: reads see every earlier write, and each write leaves what Azure leaves behind
 * (a `resourcechanges` record, an Event Grid event, a newer Resource Graph view), each after its
 * own delay.
 */
export interface NetworkOptions {
  /** Seconds before a write's `resourcechanges` record can be queried (Azure: within about 5 minutes). */
  changeLagSeconds?: number;
  /** Seconds before Resource Graph's `resources` table shows a write (Azure: usually under a minute). */
  resourceGraphLagSeconds?: number;
  /** Where subscription system-topic events are posted (Event Grid schema); none when absent. */
  eventGridUrl?: string;
  /** Copies of each event posted: Event Grid delivers at least once. Default 1. */
  eventGridCopies?: number;
}

/** What the sandbox counts of the network provider's traffic. */
export interface NetworkCounters {
  /** ARM `GET`s of a VNet's peerings (one or the list), whatever the answer. */
  peeringReads: number;
  peeringWrites: number;
  eventsPosted: number;
  /** ARM lists of a subscription's VNets (`GET /subscriptions/{id}/providers/Microsoft.Network/virtualNetworks`). */
  vnetListRequests: number;
  /** ARM reads refused with 429 under ARM's read limits. */
  armThrottled: number;
}

const PEERING_TYPE = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings";
/** The role a guest needs to peer (built-in Network Contributor's id). */
const NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";

const PEERINGS_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/virtualNetworks\/([^/]+)\/virtualNetworkPeerings(?:\/([^/]+))?\/?$/i;
/** ARM's list of a subscription's VNets (`virtualNetworks.listAll`), peerings included. */
const VNET_LIST_PATH = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Network\/virtualNetworks\/?$/i;
const OPERATION_PATH =
  /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Network\/locations\/([^/]+)\/(operations|operationResults)\/([^/]+)\/?$/i;

/** The body of a peering PUT: ARM requires the remote network; the flags default as in the spec. */
const putBodySchema = z.object({
  properties: z.looseObject({
    remoteVirtualNetwork: z.object({ id: z.string().min(1) }),
    allowVirtualNetworkAccess: z.boolean().default(true),
    allowForwardedTraffic: z.boolean().default(false),
    allowGatewayTransit: z.boolean().default(false),
    useRemoteGateways: z.boolean().default(false),
  }),
});

type Resource = Estate["resources"][number];
type Peering = NonNullable<Resource["properties"]["virtualNetworkPeerings"]>[number];

interface ChangeRecord {
  visibleAt: number;
  row: Row;
}

const armError = (code: string, message: string) => ({ error: { code, message } });

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function principalOf(req: IncomingMessage): string | undefined {
  const token = req.headers.authorization?.startsWith("Bearer ") ? req.headers.authorization.slice(7) : "";
  return objectIdOf(token);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export class NetworkProvider {
  readonly counters: NetworkCounters = {
    peeringReads: 0,
    peeringWrites: 0,
    eventsPosted: 0,
    vnetListRequests: 0,
    armThrottled: 0,
  };
  private readonly readLimits = new ArmReadLimits();
  /** A subscription's VNets, indexed on the first list (VNets are not created through the sandbox). */
  private vnetsBySubscription: Map<string, Resource[]> | undefined;
  private readonly changes: ChangeRecord[] = [];
  /** Resource Graph's views of the estate, oldest first; a lagging Graph serves an older one. */
  private readonly views: { at: number; tables: GraphTables }[];
  private readonly deliveries = new Set<Promise<void>>();

  constructor(
    private readonly estate: Estate,
    private readonly options: NetworkOptions = {},
  ) {
    this.views = [{ at: 0, tables: graphTables(estate) }];
  }

  /** The `resources`/`resourcecontainers` view Resource Graph shows now, lag included. */
  graphView(now = Date.now()): GraphTables {
    const lagMs = (this.options.resourceGraphLagSeconds ?? 0) * 1000;
    const shown = this.views.filter((v) => v.at <= now - lagMs);
    return shown[shown.length - 1]!.tables;
  }

  /** The `resourcechanges` rows recorded by now (lag included), for the subscriptions the identity can read. */
  changeRows(now = Date.now()): Row[] {
    return this.changes.filter((c) => c.visibleAt <= now).map((c) => c.row);
  }

  /** Waits for Event Grid posts in flight (tests and the demo, before they stop). */
  async settled(): Promise<void> {
    await Promise.all([...this.deliveries]);
  }

  /** Answers a request if it is the network provider's; returns false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<boolean> {
    const vnetList = req.method === "GET" ? path.match(VNET_LIST_PATH) : null;
    if (vnetList) {
      this.listVnets(req, res, vnetList[1]!);
      return true;
    }
    const operation = path.match(OPERATION_PATH);
    const peerings = path.match(PEERINGS_PATH);
    if (!operation && !peerings) return false;
    // The request's own host and port, so the URLs ARM hands back (pollers, events) reach this server.
    url = new URL(`${url.pathname}${url.search}`, `https://${req.headers.host ?? "127.0.0.1"}`);
    if (!req.headers.authorization?.startsWith("Bearer ")) {
      send(
        res,
        401,
        armError("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
      );
      return true;
    }
    // ARM refuses a call without api-version (MissingApiVersionParameter).
    if (!url.searchParams.get("api-version")) {
      send(
        res,
        400,
        armError(
          "MissingApiVersionParameter",
          "The api-version query parameter (?api-version=) is required for all requests.",
        ),
      );
      return true;
    }
    if (operation) {
      // Writes finish at once: the first poll sees them done.
      if (req.method !== "GET") return false;
      if (operation[3]!.toLowerCase() === "operationresults") send(res, 204, undefined);
      else send(res, 200, { name: operation[4], status: "Succeeded" });
      return true;
    }
    const [, subscriptionId, resourceGroup, vnetName, peeringName] = peerings!;
    // Every peering read ARM answers, a 404 included: what confirming a scan's findings cost.
    if (req.method === "GET") this.counters.peeringReads += 1;
    const vnet = this.findVnet(subscriptionId!, resourceGroup!, vnetName!);
    const subscription = this.estate.subscriptions.find(
      (s) => s.subscriptionId.toLowerCase() === subscriptionId!.toLowerCase(),
    );
    if (!subscription || (req.method === "GET" && !isVisible(this.estate, subscription))) {
      send(
        res,
        403,
        armError(
          "AuthorizationFailed",
          `The client does not have authorization to perform action 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings/read' over scope '/subscriptions/${subscriptionId}'.`,
        ),
      );
      return true;
    }
    if (!vnet) {
      send(
        res,
        404,
        armError(
          peeringName ? "ParentResourceNotFound" : "ResourceNotFound",
          `The Resource 'Microsoft.Network/virtualNetworks/${vnetName}' under resource group '${resourceGroup}' was not found.`,
        ),
      );
      return true;
    }
    if (req.method === "GET" && !peeringName) {
      send(res, 200, {
        value: (vnet.properties.virtualNetworkPeerings ?? []).map((p) => this.shape(vnet, p)),
      });
      return true;
    }
    if (!peeringName) return false;
    const list = vnet.properties.virtualNetworkPeerings ?? [];
    const index = list.findIndex((p) => p.name.toLowerCase() === peeringName.toLowerCase());
    if (req.method === "GET") {
      if (index < 0) send(res, 404, this.peeringNotFound(vnet, peeringName));
      else send(res, 200, this.shape(vnet, list[index]!));
      return true;
    }
    if (req.method === "PUT") {
      await this.put(req, res, url, vnet, peeringName, index);
      return true;
    }
    if (req.method === "DELETE") {
      if (index < 0) {
        // ARM answers 204 for a DELETE of something already gone.
        send(res, 204, undefined);
        return true;
      }
      this.counters.peeringWrites += 1;
      const [removed] = list.splice(index, 1);
      this.recordWrite(req, url, vnet, removed!, "delete");
      const op = randomUUID();
      send(res, 202, undefined, this.operationHeaders(url, subscriptionId!, vnet.location, op));
      return true;
    }
    return false;
  }

  private async put(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    vnet: Resource,
    peeringName: string,
    index: number,
  ): Promise<void> {
    let body: z.infer<typeof putBodySchema>;
    try {
      body = putBodySchema.parse(JSON.parse(await readBody(req)));
    } catch {
      return send(
        res,
        400,
        armError("InvalidRequestFormat", "The request body must carry properties.remoteVirtualNetwork.id."),
      );
    }
    this.counters.peeringWrites += 1;
    const remoteId = body.properties.remoteVirtualNetwork.id;
    const remote = this.estate.resources.find((r) => r.id.toLowerCase() === remoteId.toLowerCase());
    // Connected only once the remote side peers back; until then ARM reports Initiated.
    const back = remote?.properties.virtualNetworkPeerings?.find(
      (p) => p.properties.remoteVirtualNetwork.id.toLowerCase() === vnet.id.toLowerCase(),
    );
    const peering: Peering = {
      name: peeringName,
      id: `${vnet.id}/virtualNetworkPeerings/${peeringName}`,
      properties: {
        remoteVirtualNetwork: { id: remoteId },
        peeringState: back ? "Connected" : "Initiated",
        allowVirtualNetworkAccess: body.properties.allowVirtualNetworkAccess,
        allowForwardedTraffic: body.properties.allowForwardedTraffic,
        allowGatewayTransit: body.properties.allowGatewayTransit,
        useRemoteGateways: body.properties.useRemoteGateways,
        remoteAddressSpace: { addressPrefixes: [] },
        provisioningState: "Succeeded",
      },
    };
    if (back) back.properties.peeringState = "Connected";
    const list = (vnet.properties.virtualNetworkPeerings ??= []);
    if (index >= 0) list[index] = peering;
    else list.push(peering);
    this.recordWrite(req, url, vnet, peering, "write");
    const op = randomUUID();
    const shaped = this.shape(vnet, peering);
    send(
      res,
      index >= 0 ? 200 : 201,
      { ...shaped, properties: { ...shaped.properties, provisioningState: "Updating" } },
      {
        "azure-asyncoperation": this.operationHeaders(url, vnet.subscriptionId, vnet.location, op)[
          "azure-asyncoperation"
        ]!,
      },
    );
  }

  private operationHeaders(
    url: URL,
    subscriptionId: string,
    location: string,
    op: string,
  ): Record<string, string> {
    const base = `${url.protocol}//${url.host}/subscriptions/${subscriptionId}/providers/Microsoft.Network/locations/${location}`;
    const version = `?api-version=${url.searchParams.get("api-version")}`;
    return {
      "azure-asyncoperation": `${base}/operations/${op}${version}`,
      location: `${base}/operationResults/${op}${version}`,
    };
  }

  /** A subscription's VNets as ARM lists them, under ARM's read limits (one page: ARM's page size is not documented). */
  private listVnets(req: IncomingMessage, res: ServerResponse, subscriptionId: string): void {
    this.counters.vnetListRequests += 1;
    const principal = principalOf(req);
    if (!principal && !req.headers.authorization?.startsWith("Bearer ")) {
      send(
        res,
        401,
        armError("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
      );
      return;
    }
    const read = this.readLimits.take(subscriptionId, principal ?? "caller");
    if ("retryAfterSeconds" in read) {
      this.counters.armThrottled += 1;
      const refused = readThrottled(read.retryAfterSeconds);
      send(res, refused.status, refused.body, refused.headers);
      return;
    }
    const subscription = this.estate.subscriptions.find(
      (s) => s.subscriptionId.toLowerCase() === subscriptionId.toLowerCase(),
    );
    if (!subscription || !isVisible(this.estate, subscription)) {
      send(
        res,
        403,
        armError(
          "AuthorizationFailed",
          `The client does not have authorization to perform action 'Microsoft.Network/virtualNetworks/read' over scope '/subscriptions/${subscriptionId}'.`,
        ),
      );
      return;
    }
    if (!this.vnetsBySubscription) {
      this.vnetsBySubscription = new Map();
      for (const r of this.estate.resources) {
        if (r.type.toLowerCase() !== "microsoft.network/virtualnetworks") continue;
        const key = r.subscriptionId.toLowerCase();
        const list = this.vnetsBySubscription.get(key) ?? [];
        list.push(r);
        this.vnetsBySubscription.set(key, list);
      }
    }
    const vnets = this.vnetsBySubscription.get(subscriptionId.toLowerCase()) ?? [];
    send(
      res,
      200,
      {
        value: vnets.map((vnet) => ({
          id: vnet.id,
          name: vnet.name,
          type: "Microsoft.Network/virtualNetworks",
          location: vnet.location,
          properties: {
            ...vnet.properties,
            virtualNetworkPeerings: (vnet.properties.virtualNetworkPeerings ?? []).map((p) =>
              this.shape(vnet, p),
            ),
          },
        })),
      },
      { "x-ms-ratelimit-remaining-subscription-reads": String(read.remaining) },
    );
  }

  private findVnet(subscriptionId: string, resourceGroup: string, name: string): Resource | undefined {
    const id =
      `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/virtualNetworks/${name}`.toLowerCase();
    return this.estate.resources.find(
      (r) => r.id.toLowerCase() === id && r.type.toLowerCase() === "microsoft.network/virtualnetworks",
    );
  }

  private peeringNotFound(vnet: Resource, name: string) {
    return armError("NotFound", `Resource ${vnet.id}/virtualNetworkPeerings/${name} not found.`);
  }

  /** A peering as ARM's GET returns it. */
  private shape(vnet: Resource, p: Peering) {
    return {
      name: p.name,
      id: p.id ?? `${vnet.id}/virtualNetworkPeerings/${p.name}`,
      etag: `W/"${randomUUID()}"`,
      type: PEERING_TYPE,
      properties: {
        ...p.properties,
        peeringSyncLevel:
          p.properties.peeringSyncLevel ??
          (p.properties.peeringState === "Connected" ? "FullyInSync" : "RemoteNotInSync"),
      },
    };
  }

  /** What a write leaves behind: a change record, a newer Graph view, and an Event Grid event. */
  private recordWrite(
    req: IncomingMessage,
    url: URL,
    vnet: Resource,
    peering: Peering,
    action: "write" | "delete",
  ) {
    const now = Date.now();
    const principalId = principalOf(req) ?? null;
    const peeringId = peering.id ?? `${vnet.id}/virtualNetworkPeerings/${peering.name}`;
    const operationName = `${PEERING_TYPE}/${action}`;
    this.views.push({ at: now, tables: graphTables(this.estate) });
    const changeId = randomUUID();
    // The documented resourcechanges shape (resource-graph/how-to/get-resource-changes.md): a peering
    // lives inside its VNet's properties, so its write is an Update of the VNet.
    this.changes.push({
      visibleAt: now + (this.options.changeLagSeconds ?? 0) * 1000,
      row: {
        id: `${vnet.id}/providers/Microsoft.Resources/changes/${changeId}`,
        name: changeId,
        type: "microsoft.resources/changes",
        tenantId: vnet.tenantId,
        subscriptionId: vnet.subscriptionId,
        resourceGroup: vnet.resourceGroup.toLowerCase(),
        location: vnet.location,
        properties: {
          targetResourceId: vnet.id,
          targetResourceType: "microsoft.network/virtualnetworks",
          changeType: "Update",
          changeAttributes: {
            timestamp: new Date(now).toISOString(),
            correlationId: randomUUID(),
            changedBy: principalId,
            changedByType: "User",
            clientType: "Azure SDK",
            operation: operationName.toLowerCase(),
            changesCount: 1,
          },
          changes: {
            [`properties.virtualNetworkPeerings.${peering.name}`]: {
              propertyChangeType: action === "write" ? "Insert" : "Remove",
              changeCategory: "User",
              previousValue: action === "delete" ? peeringId : null,
              newValue: action === "write" ? peeringId : null,
            },
          },
        },
      },
    });
    if (this.options.eventGridUrl)
      this.postEvent(req, url, vnet, peeringId, operationName, action, principalId);
  }

  /** A subscription system topic's event (Event Grid schema, event-schema-resource-groups.md). */
  private postEvent(
    req: IncomingMessage,
    url: URL,
    vnet: Resource,
    peeringId: string,
    operationName: string,
    action: "write" | "delete",
    principalId: string | null,
  ) {
    const event = {
      id: randomUUID(),
      topic: `/subscriptions/${vnet.subscriptionId}`,
      subject: peeringId,
      eventType:
        action === "write"
          ? "Microsoft.Resources.ResourceWriteSuccess"
          : "Microsoft.Resources.ResourceDeleteSuccess",
      eventTime: new Date().toISOString(),
      data: {
        authorization: {
          scope: peeringId,
          action: operationName,
          evidence: {
            role: "Network Contributor",
            roleAssignmentScope: `/subscriptions/${vnet.subscriptionId}`,
            roleAssignmentId: randomUUID().replace(/-/g, ""),
            roleDefinitionId: NETWORK_CONTRIBUTOR.replace(/-/g, ""),
            principalId,
            principalType: "User",
          },
        },
        claims: {},
        correlationId: randomUUID(),
        httpRequest: {
          clientRequestId: randomUUID(),
          clientIpAddress: "127.0.0.1",
          method: req.method,
          url: `${url.protocol}//${url.host}${url.pathname}${url.search}`,
        },
        resourceProvider: "Microsoft.Network",
        resourceUri: peeringId,
        operationName,
        status: "Succeeded",
        subscriptionId: vnet.subscriptionId,
        tenantId: vnet.tenantId,
      },
      dataVersion: "",
      metadataVersion: "1",
    };
    const target = this.options.eventGridUrl!;
    for (let copy = 0; copy < (this.options.eventGridCopies ?? 1); copy++) {
      const delivery = fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json", "aeg-event-type": "Notification" },
        body: JSON.stringify([event]),
      })
        .then(async (response) => {
          await response.arrayBuffer();
          this.counters.eventsPosted += 1;
        })
        // Event Grid retries on its own schedule; the sandbox drops a failed delivery.
        .catch(() => undefined)
        .finally(() => this.deliveries.delete(delivery));
      this.deliveries.add(delivery);
    }
  }
}
