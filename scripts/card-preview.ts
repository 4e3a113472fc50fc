import type * as Jsdom from "jsdom";
import type * as AdaptiveCards from "adaptivecards";
import MarkdownIt from "markdown-it";
import type { AdaptiveCard } from "../src/alerts/card";

// The package main is ESM with extension-less imports, which Node cannot load; the UMD bundle
// loads. It must come through the ordinary require: it reads `document` and `window` from the
// global object of whoever loaded it, which is where withDomGlobals puts them.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const AC = require("adaptivecards/dist/adaptivecards.js") as typeof AdaptiveCards;

// Teams renders TextBlocks and facts as markdown (a CommonMark subset, no HTML), so the preview
// does too: outside text then shows as Teams shows it, its backslash escapes resolved.
const markdown = new MarkdownIt({ html: false, linkify: false });
AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
  result.outputHtml = markdown.renderInline(text);
  result.didProcess = true;
};

/** Close to the host config Teams uses in its light theme, so the preview looks like a channel post. */
const TEAMS_HOST_CONFIG = {
  fontFamily:
    "'Segoe UI', 'Segoe UI Web (West European)', -apple-system, 'Helvetica Neue', 'Liberation Sans', sans-serif",
  fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
  fontWeights: { lighter: 200, default: 400, bolder: 600 },
  spacing: { small: 4, default: 8, medium: 12, large: 16, extraLarge: 24, padding: 16 },
  separator: { lineThickness: 1, lineColor: "#E0E0E0" },
  containerStyles: {
    default: {
      backgroundColor: "#FFFFFF",
      foregroundColors: {
        default: { default: "#242424", subtle: "#616161" },
        accent: { default: "#5B5FC7", subtle: "#5B5FC7" },
        good: { default: "#237B4B", subtle: "#237B4B" },
        warning: { default: "#B95C00", subtle: "#B95C00" },
        attention: { default: "#C4314B", subtle: "#C4314B" },
      },
    },
  },
  factSet: {
    title: { weight: "bolder", color: "default", size: "default", wrap: true, maxWidth: 150 },
    value: { color: "default", size: "default", wrap: true },
    spacing: 12,
  },
  actions: {
    maxActions: 6,
    spacing: "default",
    buttonSpacing: 8,
    actionsOrientation: "horizontal",
    actionAlignment: "left",
  },
};

const PAGE_CSS = `
  body { margin: 0; padding: 24px; background: #f5f5f5; }
  #card {
    width: 450px; background: #fff; border-radius: 6px; overflow: hidden;
    box-shadow: 0 1.6px 3.6px rgba(0, 0, 0, 0.13), 0 0.3px 0.9px rgba(0, 0, 0, 0.11);
  }
  .ac-pushButton {
    font: 600 14px ${TEAMS_HOST_CONFIG.fontFamily};
    color: #242424; background: #fff; border: 1px solid #d1d1d1; border-radius: 4px;
    padding: 5px 12px; cursor: pointer;
  }
  .ac-pushButton > div { white-space: nowrap; }
`;

/** A standalone HTML page showing the card as the adaptivecards library renders it. */
export function cardHtml(card: AdaptiveCard): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Adaptive Card preview</title><style>${PAGE_CSS}</style></head>
<body><div id="card">${renderCard(card)}</div></body>
</html>
`;
}

/** The library's parse events and validation failures for the card; empty means Teams-valid. */
export function parseWarnings(card: AdaptiveCard): string[] {
  const adaptive = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  adaptive.parse(card, context);
  const warnings: string[] = [];
  for (let i = 0; i < context.eventCount; i++) warnings.push(context.getEventAt(i).message);
  for (const failure of adaptive.validateProperties().validationEvents) warnings.push(failure.message);
  return warnings;
}

/** The card's rendered HTML element, serialised. */
function renderCard(card: AdaptiveCard): string {
  const dom = new (loadJsdom().JSDOM)("<!doctype html><html><body></body></html>");
  // jsdom has no layout, so no innerText; the library writes every text through it.
  Object.defineProperty(dom.window.HTMLElement.prototype, "innerText", {
    get(this: HTMLElement) {
      return this.textContent;
    },
    set(this: HTMLElement, text: string) {
      this.textContent = text;
    },
  });
  return withDomGlobals(dom.window, () => {
    const adaptive = new AC.AdaptiveCard();
    adaptive.hostConfig = new AC.HostConfig(TEAMS_HOST_CONFIG);
    adaptive.parse(card, new AC.SerializationContext());
    const element = adaptive.render();
    if (!element) throw new Error("The adaptivecards library rendered nothing for this card");
    return element.outerHTML;
  });
}

/**
 * Loaded on first render, so that parseWarnings also works under jest, whose module sandbox cannot
 * load jsdom's ES module dependencies before Node 24.9 (plain Node can).
 */
function loadJsdom(): typeof Jsdom {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("jsdom") as typeof Jsdom;
}

/**
 * The library renders through the global `document`, `window` and `HTML*` classes. They are
 * installed only for the call and then put back, so no fake browser leaks into the rest of the
 * process (other code takes a global `window` to mean it runs in a browser).
 */
function withDomGlobals<T>(window: Jsdom.DOMWindow, render: () => T): T {
  const source = window as unknown as Record<string, unknown>;
  const names = [
    "window",
    "document",
    ...Object.getOwnPropertyNames(window).filter((n) => n.startsWith("HTML")),
  ];
  const saved = names.map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)] as const);
  for (const name of names) {
    const value = name === "window" ? window : source[name];
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  try {
    return render();
  } finally {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else Reflect.deleteProperty(globalThis, name);
    }
    window.close();
  }
}
