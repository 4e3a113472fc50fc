/**
 * Structured logging: one event name and one flat object of fields per call. Callers never pass
 * secrets (webhook URLs, keys, tokens, connection strings).
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type Logger = (level: LogLevel, event: string, fields?: Record<string, unknown>) => void;

export const silentLogger: Logger = () => {};

/** Adds fields (such as scanId) to every event. */
export function withFields(log: Logger, fields: Record<string, unknown>): Logger {
  return (level, event, more) => log(level, event, { ...fields, ...more });
}
