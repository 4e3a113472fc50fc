import { peeringScanner } from "../scanners/peering/scanner";
import type { Scanner } from "../scanners/scanner";

/** Every exposure vector a scan covers. */
export const SCANNERS: Scanner[] = [peeringScanner];
