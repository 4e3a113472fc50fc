import {
  ALERT_KINDS,
  type AlertKind,
  type AlertMessage,
  type DigestItem,
  type FindingAlert,
} from "../findings/alert-message";
import type { Severity } from "../scanners/finding";
import { checkOf } from "../scanners/findings";
import { evidencePhrases } from "../scanners/log-analytics-evidence/text";
import { escapeMarkdown, terminalText } from "../text";

/** An Adaptive Card as Teams Workflows accept it; 1.4 is the newest version every Teams client renders. */
export interface AdaptiveCard {
  type: "AdaptiveCard";
  $schema: string;
  version: "1.4";
  body: unknown[];
  actions?: unknown[];
  msteams?: { width: "Full" };
}

export interface TeamsPayload {
  type: "message";
  attachments: [
    { contentType: "application/vnd.microsoft.card.adaptive"; contentUrl: null; content: AdaptiveCard },
  ];
}

export interface CardOptions {
  /** Azure portal base URL, e.g. https://portal.azure.com (sovereign clouds have their own). */
  portalUrl: string;
  /** The app's HTML report (`GET /api/report`), linked from every card; absent: no link. */
  reportUrl?: string;
}

/** Teams Workflows refuse request bodies above about 28 KB. */
export const TEAMS_MAX_BYTES = 28 * 1024;

/** How much of each text and list a card shows; the smaller sets are tried when a card is too big. */
interface Limits {
  /** Characters of a sentence: the alert's title, an error, a digest line. */
  text: number;
  /** Characters of a fact. */
  fact: number;
  /** Characters of a list shown as one fact (address prefixes). */
  list: number;
  errors: number;
  /** Digest lines, and scan stats. */
  items: number;
}

const LIMITS: Limits[] = [
  { text: 500, fact: 200, list: 400, errors: 10, items: 10 },
  { text: 200, fact: 100, list: 150, errors: 5, items: 5 },
  { text: 80, fact: 60, list: 60, errors: 2, items: 3 },
];

const SEVERITY_COLOR: Record<Severity, string> = {
  high: "attention",
  medium: "warning",
  low: "default",
  info: "default",
};

const KIND_LABEL: Record<AlertKind, string> = {
  "violation-new": "New finding",
  "violation-reopened": "Finding is back",
  "finding-resolved": "Finding resolved",
  "exception-expired": "Allowlist exception expired",
  "exception-expiring": "Allowlist exception expiring",
  "scan-incomplete": "Scan incomplete",
  "scan-failed": "Scan failed",
  "coverage-lost": "Subscription out of sight",
  digest: "Digest",
  "setting-changed": "Setting changed",
  "scan-degraded": "Scan degraded",
};

/** The Adaptive Card that tells a Teams channel about one alert; always small enough to post. */
export function alertCard(alert: AlertMessage, options: CardOptions): AdaptiveCard {
  for (const limits of LIMITS) {
    const card = withReportLink(buildCard(alert, options, limits), options);
    if (payloadBytes(card) < TEAMS_MAX_BYTES) return card;
  }
  return fallbackCard(alert);
}

/** The card with one more button, to the HTML report, where the app's public address is set. */
function withReportLink(built: AdaptiveCard, options: CardOptions): AdaptiveCard {
  if (!options.reportUrl) return built;
  return { ...built, actions: [...(built.actions ?? []), openUrl("Open the report", options.reportUrl)] };
}

/** The body a Teams Workflows webhook ("when a Teams webhook request is received") expects. */
export function teamsPayload(card: AdaptiveCard): TeamsPayload {
  return {
    type: "message",
    attachments: [
      { contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card },
    ],
  };
}

/** Size of the Teams request body that carries `card`. */
export function payloadBytes(card: AdaptiveCard): number {
  return Buffer.byteLength(JSON.stringify(teamsPayload(card)));
}

/** `text` cut to about `max` characters, saying how much was cut. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never split a surrogate pair: half an emoji is not valid text.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length - end} more characters)`;
}

/** As many values as fit in about `maxChars` (at least one), then how many were left out. */
function clipList(values: string[], maxChars: number, separator = ", "): string {
  const shown: string[] = [];
  let length = 0;
  for (const value of values) {
    const next = clip(value, maxChars);
    const added = (shown.length > 0 ? separator.length : 0) + next.length;
    if (shown.length > 0 && length + added > maxChars) break;
    shown.push(next);
    length += added;
  }
  const left = values.length - shown.length;
  return left > 0 ? `${shown.join(separator)}${separator}… and ${left} more` : shown.join(separator);
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** "New cross-tenant peering": the alert's kind in the words of the finding's check. */
function labelOf(alert: Pick<AlertMessage, "kind" | "finding">): string {
  if (!alert.finding) return KIND_LABEL[alert.kind];
  const noun = checkOf(alert.finding).noun;
  switch (alert.kind) {
    case "violation-new":
      return `New ${noun}`;
    case "violation-reopened":
      return `${capitalised(noun)} is back`;
    case "finding-resolved":
      return `${capitalised(noun)} resolved`;
    case "setting-changed":
      return `${capitalised(noun)} changed`;
    default:
      return KIND_LABEL[alert.kind];
  }
}

function buildCard(alert: AlertMessage, options: CardOptions, limits: Limits): AdaptiveCard {
  switch (alert.kind) {
    case "violation-new":
    case "violation-reopened":
    case "finding-resolved":
    case "exception-expired":
    case "setting-changed":
      return findingCard(alert, options, limits);
    case "exception-expiring":
      return card([...header(alert, limits), ...entrySection(alert, limits), footer(alert, limits)]);
    case "scan-incomplete":
    case "scan-failed":
    case "scan-degraded":
      return card([...header(alert, limits), ...scanSection(alert, limits), footer(alert, limits)]);
    case "coverage-lost":
      return card([...header(alert, limits), ...coverageSection(alert, limits), footer(alert, limits)]);
    case "digest":
      return card([...digestHeader(alert, limits), ...digestSection(alert, limits), footer(alert, limits)]);
  }
}

function card(body: unknown[], actions: unknown[] = []): AdaptiveCard {
  return {
    type: "AdaptiveCard",
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    version: "1.4",
    body,
    ...(actions.length > 0 ? { actions } : {}),
    msteams: { width: "Full" },
  };
}

/** Our own words: TextBlocks render markdown in Teams, so outside text never goes here unescaped. */
function textBlock(text: string, style: Record<string, unknown> = {}) {
  return { type: "TextBlock", text, wrap: true, ...style };
}

/**
 * Outside text (names, titles, error messages) shown as it is: a TextRun of a RichTextBlock does
 * not render markdown, so `[x](url)` stays text. `run` styles the text, `block` places it.
 */
function plainText(text: string, run: Record<string, unknown> = {}, block: Record<string, unknown> = {}) {
  return {
    type: "RichTextBlock",
    inlines: [{ type: "TextRun", text: terminalText(text), ...run }],
    ...block,
  };
}

function heading(text: string) {
  return textBlock(text, { weight: "Bolder", spacing: "Medium" });
}

type Fact = [title: string, value: string];

function factSet(facts: Fact[]) {
  return { type: "FactSet", facts: facts.map(([title, value]) => ({ title, value })) };
}

/**
 * A fact cut to the fact limit (titles too: stats keys come from the alert). Teams renders
 * markdown in fact titles and values, so both are escaped.
 */
function fact(title: string, value: string, limits: Limits): Fact {
  return [escapeMarkdown(clip(title, limits.fact)), escapeMarkdown(clip(value, limits.fact))];
}

/** A fact whose value mixes our words with outside text the caller has escaped. */
function composedFact(title: string, value: string): Fact {
  return [title, value];
}

const md = (text: string, max: number) => escapeMarkdown(clip(text, max));

function openUrl(title: string, url: string) {
  return { type: "Action.OpenUrl", title, url };
}

function titleColor(alert: AlertMessage): string {
  return alert.kind === "finding-resolved" ? "good" : SEVERITY_COLOR[alert.severity];
}

function titleBlock(text: string, alert: AlertMessage) {
  return textBlock(text, { size: "Large", weight: "Bolder", color: titleColor(alert) });
}

/** "HIGH · New cross-tenant peering", then the alert's own sentence. */
function header(alert: AlertMessage, limits: Limits): unknown[] {
  return [
    titleBlock(`${alert.severity.toUpperCase()} · ${labelOf(alert)}`, alert),
    plainText(clip(alert.title, limits.text), {}, { spacing: "Small" }),
  ];
}

function footer(alert: AlertMessage, limits: Limits) {
  return plainText(
    `Scan ${clip(alert.scanId, limits.fact)} · ${formatTime(alert.createdAt)}`,
    { size: "Small", isSubtle: true },
    { spacing: "Medium" },
  );
}

function findingCard(alert: AlertMessage, options: CardOptions, limits: Limits): AdaptiveCard {
  const finding = alert.finding;
  const body = [
    ...header(alert, limits),
    ...(finding ? [factSet(findingFacts(finding, limits))] : []),
    ...entrySection(alert, limits),
    footer(alert, limits),
  ];
  if (!finding) return card(body);

  const check = checkOf(finding);
  const portal = check.portalLink(finding, options.portalUrl);
  const actions = [openUrl(portal.title, portal.url)];
  if (alert.kind !== "finding-resolved") actions.push(openUrl("How to remediate", check.relatedUrl));
  return card(body, actions);
}

/** The check's own facts first, then what every finding has. */
function findingFacts(finding: FindingAlert, limits: Limits): Fact[] {
  const allowlist = finding.allowlistEntryId
    ? `${finding.status} (entry ${md(finding.allowlistEntryId, limits.fact)})`
    : `${finding.status} (no allowlist entry)`;
  const risks = finding.riskFactors.length > 0 ? finding.riskFactors.join(", ") : "none";
  const check = checkOf(finding);
  const own = check
    .facts(finding)
    .map(([title, value]): Fact =>
      Array.isArray(value)
        ? [title, escapeMarkdown(clipList(value, limits.list)) || "none"]
        : fact(title, value, limits),
    );
  return [
    ...own,
    ...(check.tenantWide
      ? []
      : [
          fact("Local subscription", finding.localSubscriptionId || "none (management group)", limits),
          ...(finding.remoteSubscriptionId || finding.relation === "unresolved"
            ? [fact("Remote subscription", finding.remoteSubscriptionId || "unknown", limits)]
            : []),
          composedFact("Remote tenant", remoteTenant(finding, limits)),
        ]),
    fact("Risk factors", risks, limits),
    composedFact("Allowlist", allowlist),
    fact("First seen", formatTime(finding.firstSeen), limits),
    ...(finding.kind === "vnet-peering" && finding.createdBy
      ? [
          fact(
            "Created",
            `created by ${finding.createdBy.principalId} at ${formatTime(finding.createdBy.at)}`,
            limits,
          ),
        ]
      : []),
    ...evidenceFacts(finding, limits),
    ...(finding.kind === "vnet-peering" && finding.confirmation === "unconfirmed"
      ? [fact("ARM check", "unconfirmed: ARM could not be asked before this alert", limits)]
      : []),
  ];
}

/** Who created the finding's resource and who of the other tenant signs in, where the scan found out. */
function evidenceFacts(finding: FindingAlert, limits: Limits): Fact[] {
  const phrases = evidencePhrases(finding);
  return [
    ...(phrases.createdBy ? [fact("Created", phrases.createdBy, limits)] : []),
    ...(phrases.signIns ? [fact("Sign-ins", phrases.signIns, limits)] : []),
    ...(phrases.outboundSignIns ? [fact("Outbound sign-ins", phrases.outboundSignIns, limits)] : []),
  ];
}

/** The subscription the scan lost sight of, and what that means for its findings. */
function coverageSection(alert: AlertMessage, limits: Limits): unknown[] {
  const lost = alert.coverage;
  if (!lost) return [];
  const scope =
    lost.scope.managementGroups.length > 0
      ? `management groups ${lost.scope.managementGroups.join(", ")}`
      : lost.scope.subscriptions.length > 0
        ? `subscriptions ${lost.scope.subscriptions.join(", ")}`
        : "every subscription the scanner can read";
  return [
    factSet([
      fact("Subscription", lost.subscriptionId, limits),
      fact("Last verified", lost.lastVerified ? formatTime(lost.lastVerified) : "never", limits),
      fact("Out of sight since", formatTime(lost.lostSince), limits),
      fact("Stale findings", String(lost.findings), limits),
      fact("Scan scope", scope, limits),
    ]),
  ];
}

function remoteTenant(finding: FindingAlert, limits: Limits): string {
  if (finding.remoteTenantId === null) return finding.relation === "unresolved" ? "unresolved" : "unknown";
  const id = md(finding.remoteTenantId, limits.fact);
  return finding.remoteTenantName ? `${md(finding.remoteTenantName, limits.fact)} (${id})` : id;
}

function entrySection(alert: AlertMessage, limits: Limits): unknown[] {
  const entry = alert.entry;
  if (!entry) return [];
  return [
    heading("Allowlist entry"),
    factSet([
      fact("Entry", entry.id, limits),
      fact("Matches", entry.matches, limits),
      fact("Owner", entry.owner, limits),
      fact("Reason", entry.reason, limits),
      fact("Ticket", entry.ticket ?? "none", limits),
      fact(alert.kind === "exception-expiring" ? "Expires on" : "Expired on", entry.expiresOn, limits),
    ]),
  ];
}

function scanSection(alert: AlertMessage, limits: Limits): unknown[] {
  const scan = alert.scan;
  if (!scan) return [];
  const section: unknown[] = [];
  const { errors } = scan;
  if (errors.length > 0) {
    section.push(heading(`Errors (${errors.length})`));
    for (const error of errors.slice(0, limits.errors)) {
      section.push(
        plainText(clip(`${error.source}: ${error.message}`, limits.text), {}, { spacing: "Small" }),
      );
    }
    if (errors.length > limits.errors) section.push(moreNote(errors.length - limits.errors));
  }
  const stats = Object.entries(scan.stats ?? {});
  if (stats.length > 0) {
    const shown = stats.slice(0, limits.items).map(([key, value]) => fact(key, String(value), limits));
    if (stats.length > limits.items) shown.push(["…", `and ${stats.length - limits.items} more`]);
    section.push(heading("Stats"), factSet(shown));
  }
  return section;
}

/** Only the count: the digest's own title says the same again. */
function digestHeader(alert: AlertMessage, limits: Limits): unknown[] {
  const total = alert.digest?.total ?? 0;
  const noun = total === 1 ? "alert" : "alerts";
  return [titleBlock(`${total} ${noun} from scan ${md(alert.scanId, limits.fact)}`, alert)];
}

function digestSection(alert: AlertMessage, limits: Limits): unknown[] {
  const digest = alert.digest;
  if (!digest) return [];
  // Count first: the numbers make a narrow first column, so the labels do not wrap.
  const counts = ALERT_KINDS.flatMap((kind): Fact[] => {
    const count = digest.counts[kind];
    return count ? [[String(count), KIND_LABEL[kind]]] : [];
  });
  const shown = digest.items.slice(0, limits.items);
  const more = Math.max(digest.total, digest.items.length) - shown.length;
  return [
    ...(counts.length > 0 ? [factSet(counts)] : []),
    ...shown.map((item, index) => digestRow(item, limits, index === 0)),
    ...(more > 0 ? [moreNote(more)] : []),
  ];
}

/** Severity in a column of its own, so the eye can run down it. */
function digestRow(item: DigestItem, limits: Limits, first: boolean) {
  const severity = textBlock(item.severity.toUpperCase(), {
    weight: "Bolder",
    size: "Small",
    color: SEVERITY_COLOR[item.severity],
  });
  return {
    type: "ColumnSet",
    spacing: first ? "Medium" : "Small",
    separator: first,
    columns: [
      { type: "Column", width: "60px", items: [severity] },
      {
        type: "Column",
        width: "stretch",
        items: [
          textBlock(KIND_LABEL[item.kind], { weight: "Bolder", size: "Small" }),
          plainText(clip(item.text, limits.text), { size: "Small" }, { spacing: "None" }),
        ],
      },
    ],
  };
}

function moreNote(count: number) {
  return textBlock(`… and ${count} more`, { isSubtle: true, spacing: "Small" });
}

/** Last resort when even the smallest limits overflow (huge ids): the gist, and where to look. */
function fallbackCard(alert: AlertMessage): AdaptiveCard {
  return card([
    titleBlock(`${alert.severity.toUpperCase()} · ${labelOf(alert)}`, alert),
    plainText(clip(alert.title, 80)),
    plainText(`This alert is too large to show in Teams; see scan ${clip(alert.scanId, 80)}.`, {
      isSubtle: true,
    }),
  ]);
}

/** "2026-11-29 12:00 UTC": one reading for every member of the channel, whatever their locale. */
function formatTime(iso: string): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return clip(iso, 40);
  return `${time.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
