import { styleText } from "node:util";
import { terminalText } from "../text";

export type Style = Parameters<typeof styleText>[0];

export interface Column<T> {
  title: string;
  cell: (row: T) => string;
  style?: (row: T) => Style | undefined;
}

/** `color` already says whether the output takes colour, so styleText must not check the stream again. */
export const paint = (style: Style | undefined, text: string, color: boolean) =>
  color && style ? styleText(style, text, { validateStream: false }) : text;

/** Aligned columns for people: a bold header, then one line per row; cells never carry terminal controls. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], color: boolean): string[] {
  const cells = rows.map((row) => columns.map((c) => terminalText(c.cell(row))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[], styles: (Style | undefined)[]) =>
    values
      .map((v, i) => paint(styles[i], i === values.length - 1 ? v : v.padEnd(widths[i]!), color))
      .join("  ")
      .trimEnd();
  return [
    line(
      columns.map((c) => c.title),
      columns.map(() => "bold"),
    ),
    ...rows.map((row, r) =>
      line(
        cells[r]!,
        columns.map((c) => c.style?.(row)),
      ),
    ),
  ];
}
