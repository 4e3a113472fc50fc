import { main } from "../src/cli/main";

/**
 * `npm run demo`: the scan on the bundled two-tenant estate, through the local sandbox. The
 * estate holds violations on purpose, so exit code 1 (violations found) is the expected outcome.
 */
async function demo(): Promise<number> {
  const args = [
    "scan",
    "--estate",
    "examples/estates/two-tenants.json",
    "--allowlist",
    "examples/allowlist.yaml",
  ];
  process.stderr.write(`$ cross-tenant-scanner ${args.join(" ")}\n`);
  const code = await main(args, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    color: process.stdout.isTTY === true && !process.env.NO_COLOR,
    env: process.env,
  });
  if (code === 1)
    process.stderr.write(
      "\nExit code 1: the scan is complete and found violations, as this sample estate intends.\n",
    );
  return code <= 1 ? 0 : code;
}

demo().then((code) => (process.exitCode = code));
