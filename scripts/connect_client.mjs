#!/usr/bin/env node
// The Connect door with a real Connect client and the JSON codec: Connect-ES
// (@connectrpc/connect-node, from the npm registry, installed by scripts/setup.sh into
// target/nodetools), with the service read at run time from proto/ (compiled by `buf build`,
// so no generated code is checked in). Calls every unary method and prints one JSON object of
// what it saw (answers in the protobuf JSON form, errors as {code, message}) for the app test
// (tests/app/suite/api_connect.rs).
//
// Usage: node scripts/connect_client.mjs <base-url> <token> <board> <player>

import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tools = join(root, "target", "nodetools");
const require = createRequire(join(tools, "package.json"));
const { createFileRegistry, fromBinary, toJson } = require("@bufbuild/protobuf");
const { FileDescriptorSetSchema } = require("@bufbuild/protobuf/wkt");
const { createClient, ConnectError, Code } = require("@connectrpc/connect");
const { createConnectTransport } = require("@connectrpc/connect-node");

const [base, token, board, player] = process.argv.slice(2);
if (!player) {
  console.error("usage: connect_client.mjs <base-url> <token> <board> <player>");
  process.exit(2);
}

const buf = join(root, "target", "bin", "buf"); // scripts/setup.sh links it there
const image = execFileSync(buf, ["build", join(root, "proto"), "--as-file-descriptor-set", "-o", "-#format=binpb"]);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, new Uint8Array(image)));
const service = registry.getService("leaderboard.v1.LeaderboardService");

function client(withToken, lang) {
  const headers = {};
  if (withToken) headers["authorization"] = `Bearer ${token}`;
  if (lang) headers["accept-language"] = lang;
  const transport = createConnectTransport({
    baseUrl: base,
    httpVersion: "1.1",
    useBinaryFormat: false,
    interceptors: [(next) => async (req) => {
      for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
      return next(req);
    }],
  });
  return createClient(service, transport);
}

async function attempt(name, fn) {
  const method = service.method[name[0].toLowerCase() + name.slice(1)];
  try {
    const answer = await fn();
    return { answer: toJson(method.output, answer) };
  } catch (e) {
    const err = ConnectError.from(e);
    return { error: { code: Code[err.code], message: err.rawMessage } };
  }
}

const anonymous = client(false);
const authed = client(true);
const out = {
  top: await attempt("GetLeaderboard", () => anonymous.getLeaderboard({ board, limit: 2 })),
  player: await attempt("GetPlayer", () => anonymous.getPlayer({ board, player })),
  around: await attempt("GetAround", () => anonymous.getAround({ board, player, radius: 1 })),
  submit: await attempt("SubmitScore", () =>
    authed.submitScore({ board, player: "connect-json", score: "777", idempotencyKey: "cj-1" })),
  unknown_board: await attempt("GetLeaderboard", () => anonymous.getLeaderboard({ board: "no-such-board" })),
  unauthenticated: await attempt("SubmitScore", () =>
    anonymous.submitScore({ board, player: "connect-json", score: "1" })),
  german: await attempt("GetLeaderboard", () =>
    client(false, "de").getLeaderboard({ board: "no-such-board" })),
};
console.log(JSON.stringify(out));
