import { readFile } from "node:fs/promises";
import { z } from "zod";
import { InputError, errorMessage } from "../errors";
import { GUID_PATTERN, parseInput } from "../validation";

const guid = z.string().regex(GUID_PATTERN, "must be a GUID");

/** A VNet peering as ARM returns it; missing settings take Azure's defaults. */
const peeringSchema = z.looseObject({
  id: z.string().optional(),
  name: z.string().min(1),
  properties: z.looseObject({
    remoteVirtualNetwork: z.looseObject({ id: z.string().min(1) }),
    // Extensible enums in the network spec (modelAsString): values beyond Connected, Initiated and
    // Disconnected can appear, and are kept as given.
    peeringState: z.string().min(1),
    peeringSyncLevel: z.string().optional(),
    allowVirtualNetworkAccess: z.boolean().default(true),
    allowForwardedTraffic: z.boolean().default(false),
    allowGatewayTransit: z.boolean().default(false),
    useRemoteGateways: z.boolean().default(false),
    // Null on Virtual WAN peerings, as ARM returns them.
    remoteAddressSpace: z
      .looseObject({ addressPrefixes: z.array(z.string()).optional() })
      .nullable()
      .optional(),
    provisioningState: z.string().default("Succeeded"),
  }),
});

const resourceSchema = z.looseObject({
  id: z
    .string()
    // Subscription-level resources (Lighthouse registration definitions and assignments) have no
    // resource group: Resource Graph returns them with `resourceGroup` "" (CONTRACTS §5).
    .regex(
      /^\/subscriptions\/[^/]+\/(?:resourceGroups\/[^/]+\/)?providers\/.+/i,
      "must be an ARM resource id",
    ),
  name: z.string().min(1),
  type: z.string().min(1),
  subscriptionId: guid,
  resourceGroup: z.string(),
  /** Resource Graph gives some subscription-level resources no location: "" then. */
  location: z.string(),
  tenantId: guid,
  properties: z.looseObject({ virtualNetworkPeerings: z.array(peeringSchema).optional() }),
});

/**
 * A row of Resource Graph's `authorizationresources` table as it returns them: role assignments
 * (`properties.principalId`, `principalType`, `roleDefinitionId`, `scope`) and role definitions
 * (`properties.roleName`, `type`, `permissions[]`). Built-in definitions and management-group
 * assignments carry no subscriptionId.
 */
const authorizationResourceSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  type: z.string().min(1),
  subscriptionId: z.string().optional(),
  tenantId: z.string().optional(),
  properties: z.looseObject({}),
});

/** A directory object as Graph's `directoryObjects/getByIds` returns it. */
const directoryObjectSchema = z.looseObject({
  "@odata.type": z.enum([
    "#microsoft.graph.user",
    "#microsoft.graph.group",
    "#microsoft.graph.servicePrincipal",
  ]),
  id: guid,
  displayName: z.string().nullable().optional(),
  userType: z.string().nullable().optional(),
  appOwnerOrganizationId: z.string().nullable().optional(),
  /** Groups only: the object ids of its direct members, served as `transitiveMembers` (CONTRACTS §5). */
  members: z.array(guid).optional(),
});

/**
 * Entra ID's policies as Graph v1.0 returns them (CONTRACTS §5). A policy left out is the service
 * default; a partner needs its `tenantId` (a GUID, as Graph keys partners by it).
 */
const entraSchema = z.strictObject({
  crossTenantAccessPolicy: z
    .strictObject({
      default: z.looseObject({}).optional(),
      partners: z.array(z.looseObject({ tenantId: guid })).default([]),
    })
    .optional(),
  authorizationPolicy: z.looseObject({}).optional(),
});

/**
 * A Log Analytics workspace's tables, rows with the tables' own column names (CONTRACTS §5).
 * `asOf` (sandbox extension) is the time the workspace answers at, so a bundled estate's rows stay
 * inside the query's time range; without it, the wall clock.
 */
const logAnalyticsSchema = z.strictObject({
  workspaceId: guid,
  asOf: z.iso.datetime().optional(),
  tables: z.record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a table name"),
    z.array(z.looseObject({})),
  ),
});

const estateSchema = z
  .strictObject({
    schemaVersion: z.literal(1, { message: "must be 1" }),
    homeTenantId: guid,
    tenants: z.array(
      z.strictObject({
        tenantId: guid,
        displayName: z.string().min(1),
        defaultDomainName: z.string().optional(),
        /** Other verified domains, found by `findTenantInformationByDomainName` as the default one is. */
        domains: z.array(z.string().min(1)).optional(),
      }),
    ),
    subscriptions: z.array(
      z.strictObject({
        subscriptionId: guid,
        tenantId: guid,
        displayName: z.string().min(1),
        state: z.string().default("Enabled"),
        visibleToScanner: z.boolean().optional(),
        /**
         * The subscription's management-group ancestor chain, nearest first, without the tenant
         * root group (whose name is the tenant id): `["corp", "landingzones"]` puts it in `corp`,
         * under `landingzones`, under the root; `[]` directly under the root. Served as
         * `managementGroupAncestorsChain` and as ARM's management-group descendants (sandbox
         * extension; where chains disagree on a group's parent, the first subscription's wins).
         */
        managementGroups: z.array(z.string()).default([]),
      }),
    ),
    /** Any resource as Resource Graph returns it: VNets, private endpoints, storage accounts, key vaults, … */
    resources: z.array(resourceSchema),
    authorizationResources: z.array(authorizationResourceSchema).default([]),
    directoryObjects: z.array(directoryObjectSchema).default([]),
    entra: entraSchema.optional(),
    logAnalytics: logAnalyticsSchema.optional(),
  })
  .superRefine((estate, ctx) => {
    const subscriptions = new Map(estate.subscriptions.map((s) => [s.subscriptionId.toLowerCase(), s]));
    const ids = new Set<string>();
    estate.resources.forEach((resource, index) => {
      const subscription = subscriptions.get(resource.subscriptionId.toLowerCase());
      if (!subscription) {
        ctx.addIssue({
          code: "custom",
          path: ["resources", index, "subscriptionId"],
          message: `subscription ${resource.subscriptionId} is not listed in subscriptions`,
        });
      } else if (subscription.tenantId.toLowerCase() !== resource.tenantId.toLowerCase()) {
        ctx.addIssue({
          code: "custom",
          path: ["resources", index, "tenantId"],
          message: `must be the tenant of subscription ${resource.subscriptionId} (${subscription.tenantId})`,
        });
      }
      if (!resource.id.toLowerCase().startsWith(`/subscriptions/${resource.subscriptionId.toLowerCase()}/`)) {
        ctx.addIssue({
          code: "custom",
          path: ["resources", index, "id"],
          message: "must lie in its subscriptionId",
        });
      }
      const inGroup = /^\/subscriptions\/[^/]+\/resourceGroups\//i.test(resource.id);
      if (inGroup ? resource.resourceGroup === "" : resource.resourceGroup !== "") {
        ctx.addIssue({
          code: "custom",
          path: ["resources", index, "resourceGroup"],
          message: inGroup
            ? "must name the resource group of its id"
            : 'must be "" for a subscription-level resource, as Resource Graph returns it',
        });
      }
      if (ids.has(resource.id.toLowerCase())) {
        ctx.addIssue({ code: "custom", path: ["resources", index, "id"], message: "is listed twice" });
      }
      ids.add(resource.id.toLowerCase());
    });
    estate.authorizationResources.forEach((row, index) => {
      if (row.subscriptionId && !subscriptions.has(row.subscriptionId.toLowerCase())) {
        ctx.addIssue({
          code: "custom",
          path: ["authorizationResources", index, "subscriptionId"],
          message: `subscription ${row.subscriptionId} is not listed in subscriptions`,
        });
      }
    });
  });

export type Estate = z.output<typeof estateSchema>;
export type EstateSubscription = Estate["subscriptions"][number];

/** JSON Schema source for schemas/estate.schema.json. */
export const ESTATE_FILE_SCHEMA = estateSchema;

export function parseEstate(data: unknown, source: string): Estate {
  return parseInput(estateSchema, data, source);
}

export async function readEstateFile(path: string): Promise<Estate> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InputError(`Cannot read estate file ${path}: ${errorMessage(error)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${path} is not JSON: ${errorMessage(error)}`);
  }
  return parseEstate(data, path);
}

/** What the scanner's identity can read: home subscriptions unless hidden, and delegated (Lighthouse) ones. */
export function isVisible(estate: Estate, subscription: EstateSubscription): boolean {
  const home = subscription.tenantId.toLowerCase() === estate.homeTenantId.toLowerCase();
  return home ? subscription.visibleToScanner !== false : subscription.visibleToScanner === true;
}
