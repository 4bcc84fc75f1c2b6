// A consumer-group member in its own process, for tests that SIGKILL a member: it joins
// the group, prints "confirmed", then one JSON line per event received, and never acks.
// Usage: node persistent-member.mjs CONNECTION_STRING STREAM GROUP BUFFER_SIZE
import { KurrentDBClient } from "@kurrent/kurrentdb-client";

const [url, stream, group, bufferSize] = process.argv.slice(2);
const client = KurrentDBClient.connectionString(url);
const sub = client.subscribeToPersistentSubscriptionToStream(stream, group, {
  bufferSize: Number(bufferSize),
});
sub.on("confirmation", () => console.log("confirmed"));
sub.on("error", (e) => console.log(JSON.stringify({ error: e.message })));
sub.on("data", (ev) => {
  console.log(JSON.stringify({ revision: String(ev.event.revision), retryCount: ev.retryCount }));
});
