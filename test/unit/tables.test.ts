import { describe, expect, it } from "@jest/globals";
import { BATCH_MAX_BYTES, batches, entityBytes, TRANSACTION_LIMIT } from "../../src/store/tables";

const entity = (n: number, chars: number) => ({
  partitionKey: "p",
  rowKey: `r${n}`,
  text: "x".repeat(chars),
});

describe("batches for Table Storage transactions", () => {
  it("never holds more than 100 entities", () => {
    const split = batches(
      Array.from({ length: 250 }, (_, n) => entity(n, 10)),
      (e) => e.rowKey,
    );
    expect(split.map((b) => b.length)).toEqual([TRANSACTION_LIMIT, TRANSACTION_LIMIT, 50]);
  });

  it("never holds more than 4 MiB, and keeps every entity in order", () => {
    const all = Array.from({ length: 40 }, (_, n) => entity(n, 200_000));
    const split = batches(all, (e) => e.rowKey);
    expect(split.length).toBeGreaterThan(1);
    for (const batch of split) {
      expect(batch.reduce((sum, e) => sum + entityBytes(e), 0)).toBeLessThan(BATCH_MAX_BYTES);
    }
    expect(split.flat()).toEqual(all);
  });

  it("refuses an entity over 1 MiB before anything is written, naming it", () => {
    expect(() => batches([entity(1, 10), entity(2, 600_000)], (e) => `Entry ${e.rowKey}`)).toThrow(
      "Entry r2 is larger than Table Storage's 1 MiB entity limit.",
    );
  });
});
