import { KqlError, at } from "./errors";

export type TokenKind = "ident" | "string" | "number" | "punct" | "eof";

export interface Token {
  kind: TokenKind;
  /** Source text for idents and punctuation; the decoded value for strings. */
  text: string;
  /** Numeric value of a number token. */
  num: number;
  pos: number;
  end: number;
}

const PUNCT_2 = ["==", "!=", "=~", "!~", "<=", ">="];
const PUNCT_1 = "|()[]{},.=<>+-*/:";

const ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  n: "\n",
  r: "\r",
  t: "\t",
};

function isIdentStart(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, text: string, pos: number, num = 0): void => {
    tokens.push({ kind, text, num, pos, end: i });
  };

  while (i < src.length) {
    const c = src[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if (src.startsWith("//", i)) {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    const start = i;
    if (isIdentStart(c) || (c === "!" && isIdentStart(src[i + 1] ?? ""))) {
      i++;
      while (i < src.length && isIdentPart(src[i])) i++;
      const word = src.slice(start, i);
      // `in~` and `!in~` are single operators; `~` appears nowhere else in the subset.
      if ((word === "in" || word === "!in") && src[i] === "~") i++;
      push("ident", src.slice(start, i), start);
      continue;
    }
    if (isDigit(c)) {
      push("number", "", start, readNumber());
      continue;
    }
    if (c === "'" || c === '"') {
      push("string", readString(c), start);
      continue;
    }
    if (c === "@" && (src[i + 1] === "'" || src[i + 1] === '"')) {
      push("string", readVerbatim(src[i + 1]), start);
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT_2.includes(two)) {
      i += 2;
      push("punct", two, start);
      continue;
    }
    if (PUNCT_1.includes(c)) {
      i++;
      push("punct", c, start);
      continue;
    }
    throw new KqlError(`Unexpected character '${c}' ${at(i)}`);
  }
  tokens.push({ kind: "eof", text: "", num: 0, pos: src.length, end: src.length });
  return tokens;

  function readNumber(): number {
    const start = i;
    while (isDigit(src[i] ?? "")) i++;
    if (src[i] === "." && isDigit(src[i + 1] ?? "")) {
      i++;
      while (isDigit(src[i] ?? "")) i++;
    }
    if ((src[i] === "e" || src[i] === "E") && /^[+-]?\d/.test(src.slice(i + 1, i + 3))) {
      i += 2;
      while (isDigit(src[i] ?? "")) i++;
    }
    // Timespan (`1d`), hex and typed literals would otherwise lex as a number then a name.
    if (isIdentPart(src[i] ?? "") || src[i] === ".") {
      while (isIdentPart(src[i] ?? "") || src[i] === ".") i++;
      throw new KqlError(`Unsupported literal '${src.slice(start, i)}' ${at(start)}`);
    }
    return Number(src.slice(start, i));
  }

  function readString(quote: string): string {
    const start = i;
    i++;
    let out = "";
    for (;;) {
      const ch = src[i];
      if (ch === undefined || ch === "\n") throw new KqlError(`Unterminated string ${at(start)}`);
      i++;
      if (ch === quote) return out;
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      const esc = src[i] ?? "";
      if (esc === "u" && /^[0-9a-fA-F]{4}$/.test(src.slice(i + 1, i + 5))) {
        out += String.fromCharCode(parseInt(src.slice(i + 1, i + 5), 16));
        i += 5;
        continue;
      }
      const decoded = ESCAPES[esc];
      if (decoded === undefined) throw new KqlError(`Unsupported escape '\\${esc}' ${at(i - 1)}`);
      out += decoded;
      i++;
    }
  }

  function readVerbatim(quote: string): string {
    const start = i;
    const close = src.indexOf(quote, i + 2);
    if (close < 0) throw new KqlError(`Unterminated string ${at(start)}`);
    i = close + 1;
    return src.slice(start + 2, close);
  }
}
