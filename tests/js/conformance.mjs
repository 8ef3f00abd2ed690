// RunPod's published JavaScript SDK (npm runpod-sdk, pinned in package.json) against a
// local endpoint. Usage: node conformance.mjs <baseUrl> <apiKey> <endpointId> <markerPath>
//
// It calls every method the SDK's Endpoint has and prints ONE JSON object: for each
// step, {value} (what the SDK returned) or {error, status} (what it threw), and ms.
// It asserts nothing: tests/test_local_endpoint_js_sdk.py reads the report and checks it.
import runpodSdk from "runpod-sdk";

const [baseUrl, apiKey, endpointId, marker] = process.argv.slice(2);
const endpoint = runpodSdk(apiKey, { baseUrl }).endpoint(endpointId);
const report = {};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = console.log;
console.log = () => {}; // the SDK prints each poll; stdout is for the report only

async function step(name, call) {
  const started = Date.now();
  try {
    report[name] = { value: await call() };
  } catch (error) {
    report[name] = { error: String(error?.message ?? error), status: error?.response?.status ?? null,
                     body: error?.response?.data ?? null };
  }
  report[name].ms = Date.now() - started;
  return report[name].value;
}

async function untilStatus(id, wanted, limitMs = 30000) {
  const deadline = Date.now() + limitMs;
  let seen;
  while (Date.now() < deadline) {
    seen = await endpoint.status(id);
    if (wanted.includes(seen.status)) return seen;
    await sleep(100);
  }
  return seen;
}

await step("health", () => endpoint.health());
await step("runSync", () => endpoint.runSync({ input: { n: 1 } }, 30000));
// runsync?wait=3000 answers IN_PROGRESS; the SDK then polls status-sync until the end.
await step("runSyncOutlastingItsWait", () => endpoint.runSync({ input: { n: 2, seconds: 4 } }, 3000));
await step("runSyncFailed", () => endpoint.runSync({ input: { raise: "no good" } }, 30000));

const streamed = await step("runToStream", () =>
  endpoint.run({ input: { chunks: ["a", "b", "c"], delay: 0.3 } }));
await step("stream", async () => {
  const items = [];
  for await (const item of endpoint.stream(streamed.id)) items.push(item);
  return items;
});
await step("statusAfterStream", () => endpoint.status(streamed.id));
await step("statusSync", async () => {
  const { id } = await endpoint.run({ input: { n: 3, seconds: 1 } });
  return endpoint.statusSync(id, 20000);
});

const slow = await step("runToCancel", () => endpoint.run({ input: { seconds: 60 } }));
await step("statusInProgress", () => untilStatus(slow.id, ["IN_PROGRESS"]));
const queued = [];
for (let n = 0; n < 2; n++) queued.push((await endpoint.run({ input: { n } })).id);
await step("queuedBeforePurge", () => Promise.all(queued.map((id) => endpoint.status(id))));
await step("purgeQueue", () => endpoint.purgeQueue());
await step("purgedStatus", () => Promise.all(queued.map((id) => endpoint.status(id))));
await step("cancel", () => endpoint.cancel(slow.id));
await step("statusAfterCancel", () => endpoint.status(slow.id));

// The SDK has no retry method: the job it fails is retried with curl in the test.
await step("runToRetry", () => endpoint.run({ input: { fail_once: marker } }));
await step("failedBeforeRetry", () => untilStatus(report.runToRetry.value.id, ["FAILED"]));

await step("statusUnknown", () => endpoint.status("no-such-job"));
await step("healthAtEnd", () => endpoint.health());

log(JSON.stringify(report));
