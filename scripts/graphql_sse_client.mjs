#!/usr/bin/env node
// GraphQL subscriptions with the reference client of the GraphQL over SSE protocol: `graphql-sse`
// (npm, installed by scripts/setup.sh into target/nodetools), in its distinct connections mode.
// Subscribes once and prints one JSON line per thing the client reports, as it reports it, for
// the app test (tests/app/suite/api_graphql_live.rs): {"next": <execution result>},
// {"complete": true} when the server completes the operation, {"error": "<message>"} when the
// client gives up (then its exit status is 1). It stops after <count> results, or at the
// complete or the error.
//
// Usage: node scripts/graphql_sse_client.mjs <url> <query> <variables-json> <headers-json>
//            <count> <retry-attempts>

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "target", "nodetools", "package.json"));
const { createClient } = require("graphql-sse");

const [url, query, variables, headers, count, retryAttempts] = process.argv.slice(2);
if (retryAttempts === undefined) {
  console.error(
    "usage: graphql_sse_client.mjs <url> <query> <variables-json> <headers-json> <count> <retry-attempts>",
  );
  process.exit(2);
}

const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const client = createClient({
  url,
  singleConnection: false,
  headers: JSON.parse(headers),
  retryAttempts: Number(retryAttempts),
  // A short, fixed wait before subscribing again (the default backs off from one second).
  retry: () => new Promise((resolve) => setTimeout(resolve, 300)),
});

let seen = 0;
try {
  const results = client.iterate({ query, variables: JSON.parse(variables) });
  for await (const result of results) {
    print({ next: result });
    seen += 1;
    if (seen >= Number(count)) {
      break;
    }
  }
  if (seen < Number(count)) {
    print({ complete: true });
  }
} catch (err) {
  print({ error: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
} finally {
  client.dispose();
}
