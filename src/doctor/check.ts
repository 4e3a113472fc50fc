/** One line of `cross-tenant-scanner doctor` and `GET /api/health`. */
export interface DoctorCheck {
  id: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  /** The command or portal step that fixes it; empty when status is ok. */
  fix: string;
}
