// The reference evaluation of flagd targeting rules, for the differential test of our JsonLogic
// evaluator (shared/leaderboard/tests/jsonlogic_reference.rs): @openfeature/flagd-core, the
// flagd in-process evaluator of the OpenFeature JS SDK (json-logic-engine 5, compiled mode).
//
// stdin: one JSON case per line, {"rule", "data", "flagKey", "now"} (now: Unix seconds, what
// $flagd.timestamp reads). stdout: one line per case, {"value": <result>} or {"error": <why>}
// (a rule flagd-core refuses to compile counts as an error). Results go through JSON, as a
// service answer would: undefined and non-finite numbers become null.
'use strict';
const path = require('path');
const readline = require('readline');
const modules = process.env.EDGE_NODE_TOOLS || path.join(__dirname, '..', 'target', 'nodetools', 'node_modules');
const { FeatureFlag } = require(path.join(modules, '@openfeature', 'flagd-core'));

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
let now = 0;
Date.now = () => now * 1000;

const out = [];
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const c = JSON.parse(line);
  now = c.now;
  let answer;
  try {
    const flag = new FeatureFlag(c.flagKey, { state: 'ENABLED', variants: { x: true }, defaultVariant: 'x', targeting: c.rule }, quiet);
    if (flag._targetingParseErrorMessage || !flag._targeting) {
      answer = { error: 'parse: ' + (flag._targetingParseErrorMessage || 'no targeting') };
    } else {
      const v = flag._targeting.evaluate(c.flagKey, c.data, quiet);
      answer = { value: v === undefined ? null : JSON.parse(JSON.stringify(v) ?? 'null') };
    }
  } catch (e) {
    answer = { error: String(e && e.message !== undefined ? e.message : (e && e.type) || e) };
  }
  out.push(JSON.stringify(answer));
});
rl.on('close', () => process.stdout.write(out.join('\n') + '\n'));
