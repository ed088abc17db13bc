// A client of policykb serve in another language: Node's built-in fetch, no packages.
// It reads the contract from /openapi.json, finds the operation "evaluate" there (path and
// method), posts the application file and prints the answer byte for byte.
//   node evaluate.mjs BASE_URL APPLICATION.json [READING ...]
import { readFile } from "node:fs/promises";

const [base, file, ...readings] = process.argv.slice(2);
if (!base || !file) {
  console.error("usage: node evaluate.mjs BASE_URL APPLICATION.json [ID:OPTION ...]");
  process.exit(2);
}

const contract = await (await fetch(new URL("/openapi.json", base))).json();
if (!String(contract.openapi).startsWith("3.1")) {
  console.error(`expected OpenAPI 3.1, found ${contract.openapi}`);
  process.exit(1);
}
let found = null;
for (const [path, operations] of Object.entries(contract.paths)) {
  for (const [method, operation] of Object.entries(operations)) {
    if (operation.operationId === "evaluate") found = { path, method };
  }
}
if (!found) {
  console.error("no operation 'evaluate' in /openapi.json");
  process.exit(1);
}

const url = new URL(found.path, base);
for (const reading of readings) url.searchParams.append("reading", reading);
const response = await fetch(url, {
  method: found.method.toUpperCase(),
  headers: { "Content-Type": "application/json" },
  body: await readFile(file),
});
const body = Buffer.from(await response.arrayBuffer());
if (response.status !== 200) {
  const problem = JSON.parse(body.toString("utf8"));
  console.error(`${response.status} ${problem.title}: ${problem.detail}`);
  for (const p of problem.problems) console.error(`  ${p.where}: ${p.message}`);
  process.exit(1);
}
const decision = JSON.parse(body.toString("utf8"));
console.error(`${decision.applicant.name}: ${decision.outcomes.length} outcomes, total up to ${decision.totals.max} yuan`);
process.stdout.write(body);
