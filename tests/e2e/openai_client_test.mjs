// End-to-end: the official `openai` npm client talks to DistillGuard, which
// forwards to the demo upstream. Usage:
//   node openai_client_test.mjs DISTILLGUARD_BIN DG_DEMO_UPSTREAM_BIN
// With DG_E2E_DIRECT=1 the client talks to the demo upstream directly (to
// check the test itself without a proxy). Exit code 0 = pass, 1 = fail.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";

const OVERALL_DEADLINE_MS = 90_000;
const START_DEADLINE_MS = 15_000;
const REQUEST_TIMEOUT_MS = 20_000;
const API_KEY = "sk-e2e-distillguard-test-key";

const children = [];
let tmpDir = null;

function log(msg) {
  process.stderr.write(`e2e: ${msg}\n`);
}

function fail(msg) {
  throw failure(msg);
}

function failure(msg) {
  const err = new Error(msg);
  err.isTestFailure = true;
  return err;
}

function check(cond, msg) {
  if (!cond) fail(msg);
}

/** Starts `bin args`, resolves with {child, host, port} once a line matching
 *  `re` (with host and port groups) appears on stdout or stderr. */
function startAndReadPort(name, bin, args, re) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    children.push({ name, child });
    let output = "";
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(failure(`${name} did not print its port within ${START_DEADLINE_MS} ms; output:\n${output}`));
    }, START_DEADLINE_MS);
    const onData = (buf) => {
      output += buf.toString();
      if (output.length > 65536) output = output.slice(-65536);
      const m = re.exec(output);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ child, host: m[1], port: Number(m[2]), output: () => output });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(failure(`${name} could not start (${bin}): ${e.message}`));
    });
    child.on("exit", (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(failure(`${name} exited early (code ${code}, signal ${signal}); output:\n${output}`));
    });
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves when all are gone. */
async function stopAll() {
  await Promise.all(
    children.map(
      ({ name, child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => {
            log(`${name} ignored SIGTERM for 5 s, killing it`);
            child.kill("SIGKILL");
          }, 5000);
          const give_up = setTimeout(resolve, 8000);
          child.once("exit", () => {
            clearTimeout(kill);
            clearTimeout(give_up);
            resolve();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
}

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function main() {
  const [proxyBin, demoBin] = process.argv.slice(2);
  if (!proxyBin || !demoBin) {
    process.stderr.write("usage: node openai_client_test.mjs DISTILLGUARD_BIN DG_DEMO_UPSTREAM_BIN\n");
    process.exit(2);
  }
  const direct = process.env.DG_E2E_DIRECT === "1";

  const demo = await startAndReadPort("dg-demo-upstream", demoBin, ["--port", "0", "--token-interval-ms", "5"],
                                      /listening (\S+):(\d+)/);
  const demoUrl = `http://${demo.host}:${demo.port}`;
  log(`demo upstream on ${demoUrl}`);

  let baseHost = demo.host;
  let basePort = demo.port;
  if (!direct) {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "dg-e2e-"));
    const configPath = path.join(tmpDir, "distillguard.yaml");
    fs.writeFileSync(
      configPath,
      [
        "listen:",
        '  address: "127.0.0.1"',
        "  port: 0",
        "upstream:",
        `  url: "${demoUrl}"`,
        "workers: 1",
        "identity:",
        "  allow_anonymous: false",
        "",
      ].join("\n"),
    );
    const proxy = await startAndReadPort("distillguard", proxyBin, ["--config", configPath],
                                         /listening on (\S+?):(\d+)/);
    baseHost = proxy.host;
    basePort = proxy.port;
    log(`distillguard on http://${baseHost}:${basePort}`);
  }
  const baseURL = `http://${baseHost}:${basePort}/v1`;
  const client = new OpenAI({ apiKey: API_KEY, baseURL, maxRetries: 0, timeout: REQUEST_TIMEOUT_MS });

  // 1. Chat completion.
  const messages = [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "Explain, step by step, why the sum of two odd numbers is even." },
  ];
  const chat = await client.chat.completions.create({ model: "gpt-4o-mini", messages, max_tokens: 48 });
  const text = chat.choices?.[0]?.message?.content;
  check(typeof text === "string" && text.length > 0, `chat: no text in ${JSON.stringify(chat)}`);
  check(chat.usage && chat.usage.prompt_tokens > 0, `chat: no prompt token usage: ${JSON.stringify(chat.usage)}`);
  check(chat.usage.completion_tokens > 0 && chat.usage.completion_tokens <= 48,
        `chat: completion_tokens ${chat.usage.completion_tokens} not in 1..48`);
  log(`chat ok: ${chat.usage.prompt_tokens}+${chat.usage.completion_tokens} tokens`);

  // 2. Streaming chat: several chunks that add up to the same (deterministic) text.
  const stream = await client.chat.completions.create({
    model: "gpt-4o-mini", messages, max_tokens: 48, stream: true, stream_options: { include_usage: true },
  });
  let streamed = "";
  let contentChunks = 0;
  let usage = null;
  for await (const chunk of stream) {
    const delta = chunk.choices?.[0]?.delta?.content;
    if (delta) {
      streamed += delta;
      contentChunks += 1;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  check(contentChunks >= 3, `stream: only ${contentChunks} content chunks`);
  check(streamed === text, `stream: text differs from the non-streamed answer:\n  ${streamed}\n  ${text}`);
  check(usage && usage.completion_tokens === chat.usage.completion_tokens,
        `stream: usage ${JSON.stringify(usage)} differs from ${JSON.stringify(chat.usage)}`);
  log(`streaming chat ok: ${contentChunks} chunks`);

  // 3. Embeddings (the client asks for base64 and decodes it).
  const emb = await client.embeddings.create({ model: "text-embedding-3-small", input: ["first text", "second text"] });
  check(emb.data?.length === 2, `embeddings: ${emb.data?.length} vectors, want 2`);
  for (const d of emb.data) {
    check(Array.isArray(d.embedding) && d.embedding.length === 256, `embeddings: bad vector length ${d.embedding?.length}`);
    const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
    check(Math.abs(norm - 1) < 1e-3, `embeddings: vector norm ${norm}, want 1`);
  }
  check(emb.usage?.prompt_tokens > 0, "embeddings: no usage");
  log("embeddings ok");

  // 4. What reached the upstream: the key still travels as Authorization.
  const received = await getJson(`${demoUrl}/demo/received`);
  check(received.status === 200, `demo /demo/received answered ${received.status}`);
  const reqs = received.body.requests;
  check(reqs.length === 3, `upstream saw ${reqs.length} requests, want 3`);
  check(reqs.every((r) => r.has_authorization), "upstream: a request arrived without Authorization");
  check(reqs[0].user_agent.startsWith("OpenAI/JS"), `upstream: user agent ${reqs[0].user_agent}`);

  if (!direct) {
    check(reqs.every((r) => r.x_forwarded_for.length > 0), "upstream: X-Forwarded-For missing through the proxy");
    // 5. No key: the proxy refuses with 401 and an OpenAI-shaped error.
    const anon = await fetch(`${baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const anonBody = await anon.json().catch(() => null);
    check(anon.status === 401, `anonymous request got ${anon.status}, want 401`);
    check(anonBody?.error?.message, `anonymous 401 body is not an OpenAI error: ${JSON.stringify(anonBody)}`);
    log("anonymous request refused with 401");
  }
}

const watchdog = setTimeout(async () => {
  log(`FAIL: the test did not finish within ${OVERALL_DEADLINE_MS} ms`);
  await stopAll();
  process.exit(1);
}, OVERALL_DEADLINE_MS);

let code = 0;
try {
  await main();
  log("PASS");
} catch (e) {
  code = 1;
  log(`FAIL: ${e.isTestFailure ? e.message : e.stack || e}`);
} finally {
  await stopAll();
  clearTimeout(watchdog);
}
process.exit(code);
