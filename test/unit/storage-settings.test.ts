import { describe, expect, it } from "@jest/globals";
import { InputError } from "../../src/errors";
import { storageFromEnv } from "../../src/store/storage";

describe("identity-based storage settings", () => {
  it("uses the per-service URIs as given, so a sovereign cloud's storage suffix works", () => {
    const storage = storageFromEnv({
      AzureWebJobsStorage__tableServiceUri: "https://ctscanstabc.table.core.usgovcloudapi.net/",
      AzureWebJobsStorage__queueServiceUri: "https://ctscanstabc.queue.core.usgovcloudapi.net/",
      AzureWebJobsStorage__clientId: "00000000-0000-0000-0000-000000000001",
    });
    expect(storage?.describe).toBe("https://ctscanstabc.table.core.usgovcloudapi.net/");
  });

  it("refuses __accountName alone (it means public-cloud endpoints), naming what to set", () => {
    const attempt = () => storageFromEnv({ AzureWebJobsStorage__accountName: "ctscanstabc" });
    expect(attempt).toThrow(InputError);
    expect(attempt).toThrow(/AzureWebJobsStorage__tableServiceUri and AzureWebJobsStorage__queueServiceUri/);
  });

  it("needs both services, over https", () => {
    expect(() =>
      storageFromEnv({ AzureWebJobsStorage__tableServiceUri: "https://a.table.core.windows.net" }),
    ).toThrow(/needs both/);
    expect(() =>
      storageFromEnv({
        AzureWebJobsStorage__tableServiceUri: "http://a.table.core.windows.net",
        AzureWebJobsStorage__queueServiceUri: "https://a.queue.core.windows.net",
      }),
    ).toThrow(/https URLs/);
    expect(storageFromEnv({})).toBeUndefined();
  });
});
