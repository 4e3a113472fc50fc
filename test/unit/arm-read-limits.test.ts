import { describe, expect, it } from "@jest/globals";
import { ArmReadLimits } from "../../src/sandbox/arm/read-limits";

describe("the sandbox's ARM read limits (token bucket: 250 reads, 25 a second, per subscription and principal)", () => {
  it("refuses the 251st read in a burst, refills at 25 a second, and keeps buckets apart", () => {
    let now = 0;
    const limits = new ArmReadLimits(250, 25, () => now);
    for (let i = 0; i < 250; i++) expect("remaining" in limits.take("sub-a", "me")).toBe(true);
    expect(limits.take("sub-a", "me")).toEqual({ retryAfterSeconds: 1 });
    // Another subscription, or another principal, has its own bucket.
    expect(limits.take("sub-b", "me")).toEqual({ remaining: 249 });
    expect(limits.take("SUB-A", "someone-else")).toEqual({ remaining: 249 });
    now += 1000;
    for (let i = 0; i < 25; i++) expect("remaining" in limits.take("sub-a", "me")).toBe(true);
    expect("retryAfterSeconds" in limits.take("sub-a", "me")).toBe(true);
  });
});
