/** A file, argument or setting the user gave is wrong; the message names it and says what to do. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length > 0 ? `${message}\n${problems.map((p) => `  - ${p}`).join("\n")}` : message);
    this.name = "InputError";
  }
}

export function errorMessage(error: unknown): string {
  // Not `instanceof Error`: errors thrown by Node itself may come from another realm (e.g. under jest).
  const message =
    typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined;
  return typeof message === "string" ? message : String(error);
}
