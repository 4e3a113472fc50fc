/** A query the evaluator cannot run: bad syntax, something outside the supported subset, or a limit Resource Graph enforces. */
export class KqlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KqlError";
  }
}

export function at(pos: number): string {
  return `at position ${pos}`;
}
