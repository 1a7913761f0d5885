#!/usr/bin/env node
// Where a proxy-wasm filter's own (guest) time goes, per request, in V8 — without Envoy.
//
//   node benches/envoy/guest_profile.js FILTER.wasm [--config FILE] [--path P] [--authority A]
//        [-H 'name: value']... [--streams N] [--top K] [--cold MIB]
//
// Loads the filter in node's V8 (the engine Envoy embeds) behind a minimal proxy-wasm ABI 0.2.1
// host written in JavaScript, configures it with FILE (e.g. an acepack bundle) and runs N streams
// the way Envoy does (context create, request headers, response headers, done, log, delete), after
// a warm-up long enough for V8 to tier the hot code up. The measured streams run under V8's
// sampling profiler; the report gives the guest's self time per stream (wasm functions only: the
// JavaScript host's time is not Envoy's and is left out), the host calls per stream, and the
// functions with the most self time. Absolute numbers vary with the machine; compare filters
// (e.g. acepack vs target/wasm32-wasip1/release/acepack_trivial_filter.wasm) in the same run.
//
// With --cold MIB, no profiler runs: before each measured stream the host walks MIB of other memory
// (one read per cache line), which evicts the filter's code and data from the CPU caches as
// Envoy's own work and other tenants do between two requests, and each stream is timed alone
// (process.hrtime, host calls included). It prints the median cold stream and, for comparison, the
// median warm stream (no walk), each as the median of per-block medians over interleaved blocks.
//
// The host keeps shared data (with Envoy's CAS rules) and header maps in memory; it answers
// `proxy_get_property` with NotFound and fails on host calls the filters here do not make.
'use strict';
const fs = require('fs');
const inspector = require('inspector');

function parseArgs(argv) {
  const o = { headers: [], streams: 200000, top: 20, path: '/', authority: '127.0.0.1:10000', config: null, cold: 0 };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--config') o.config = next();
    else if (a === '--path') o.path = next();
    else if (a === '--authority') o.authority = next();
    else if (a === '-H' || a === '--header') {
      const h = next();
      const c = h.indexOf(':', 1);
      if (c < 0) throw new Error(`header "${h}" is not "name: value"`);
      o.headers.push([h.slice(0, c).trim().toLowerCase(), h.slice(c + 1).trim()]);
    } else if (a === '--streams') o.streams = parseInt(next(), 10);
    else if (a === '--top') o.top = parseInt(next(), 10);
    else if (a === '--cold') o.cold = parseInt(next(), 10);
    else if (a === '-h' || a === '--help') rest.push('--help');
    else rest.push(a);
  }
  if (rest.length !== 1 || rest[0] === '--help') {
    console.error('usage: guest_profile.js FILTER.wasm [--config FILE] [--path P] [--authority A] ' +
      "[-H 'name: value']... [--streams N] [--top K] [--cold MIB]");
    process.exit(2);
  }
  o.wasm = rest[0];
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const config = opts.config ? fs.readFileSync(opts.config) : Buffer.alloc(0);

let inst;
let mem;
const u8 = () => new Uint8Array(mem.buffer);
const dv = () => new DataView(mem.buffer);
const dec = new TextDecoder();
const enc = new TextEncoder();
const str = (p, l) => dec.decode(u8().subarray(p, p + l));

// Copies bytes into memory the guest allocates (as Envoy does, through proxy_on_memory_allocate).
function give(bytes, pp, sp) {
  const p = bytes.length ? inst.exports.proxy_on_memory_allocate(bytes.length) : 0;
  if (bytes.length) u8().set(bytes, p);
  dv().setUint32(pp, p, true);
  dv().setUint32(sp, bytes.length, true);
}

function serialize(h) {
  const parts = h.map(([k, v]) => [enc.encode(k), enc.encode(v)]);
  let size = 4 + parts.length * 8;
  for (const [k, v] of parts) size += k.length + v.length + 2;
  const b = new Uint8Array(size);
  const d = new DataView(b.buffer);
  d.setUint32(0, parts.length, true);
  let o = 4;
  for (const [k, v] of parts) {
    d.setUint32(o, k.length, true);
    d.setUint32(o + 4, v.length, true);
    o += 8;
  }
  for (const [k, v] of parts) {
    b.set(k, o);
    o += k.length + 1;
    b.set(v, o);
    o += v.length + 1;
  }
  return b;
}

// Request headers as Envoy hands them to filters for `h2load --h1` (plus -H headers).
const baseReq = [[':authority', opts.authority], [':path', opts.path], [':method', 'GET'], [':scheme', 'http'],
  ['user-agent', 'h2load nghttp2/1.52.0'], ...opts.headers, ['x-forwarded-proto', 'http'],
  ['x-request-id', '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b']];
const baseResp = [[':status', '200'], ['content-length', '3'], ['content-type', 'text/plain'],
  ['date', 'Fri, 27 Nov 2026 21:00:00 GMT'], ['server', 'envoy']];
const baseReqSerialized = serialize(baseReq);
let req = [];
let resp = [];
let reqUntouched = false; // req still equals baseReq: serve the cached serialization
const map = (m) => (m === 0 ? req : resp);

const shared = new Map();
let casSeq = 1;
const calls = {};
const count = (n) => {
  calls[n] = (calls[n] || 0) + 1;
};
const localResponses = {};

const env = {
  proxy_log: (level, p, s) => {
    count('log');
    if (level >= 3) console.error(`guest log (${level}): ${str(p, s)}`);
    return 0;
  },
  proxy_get_buffer_bytes: (type, start, max, pp, sp) => {
    count('get_buffer_bytes');
    if (type !== 7) return 1;
    give(config, pp, sp);
    return 0;
  },
  proxy_get_header_map_pairs: (m, pp, sp) => {
    count('get_header_map_pairs');
    give(m === 0 && reqUntouched ? baseReqSerialized : serialize(map(m)), pp, sp);
    return 0;
  },
  proxy_get_header_map_value: (m, kp, kl, pp, sp) => {
    count('get_header_map_value');
    const k = str(kp, kl);
    const e = map(m).find(([n]) => n === k);
    if (!e) return 1;
    give(enc.encode(e[1]), pp, sp);
    return 0;
  },
  proxy_replace_header_map_value: (m, kp, kl, vp, vl) => {
    count('replace_header_map_value');
    const k = str(kp, kl);
    const h = map(m);
    const i = h.findIndex(([n]) => n === k);
    if (i >= 0) h[i] = [k, str(vp, vl)];
    else h.push([k, str(vp, vl)]);
    if (m === 0) reqUntouched = false;
    return 0;
  },
  proxy_add_header_map_value: (m, kp, kl, vp, vl) => {
    count('add_header_map_value');
    map(m).push([str(kp, kl), str(vp, vl)]);
    if (m === 0) reqUntouched = false;
    return 0;
  },
  proxy_remove_header_map_value: (m, kp, kl) => {
    count('remove_header_map_value');
    const k = str(kp, kl);
    const h = map(m);
    for (let i = h.length - 1; i >= 0; i--) if (h[i][0] === k) h.splice(i, 1);
    if (m === 0) reqUntouched = false;
    return 0;
  },
  proxy_get_current_time_nanoseconds: (p) => {
    count('get_current_time');
    dv().setBigUint64(p, BigInt(Date.now()) * 1000000n, true);
    return 0;
  },
  proxy_get_shared_data: (kp, kl, pp, sp, cp) => {
    count('get_shared_data');
    const e = shared.get(str(kp, kl));
    if (!e) return 1;
    give(e[0], pp, sp);
    dv().setUint32(cp, e[1], true);
    return 0;
  },
  proxy_set_shared_data: (kp, kl, vp, vl, cas) => {
    count('set_shared_data');
    const k = str(kp, kl);
    const e = shared.get(k);
    if (cas !== 0 && e && e[1] !== cas) return 8; // Envoy compares the CAS only for an existing key
    shared.set(k, [u8().slice(vp, vp + vl), ++casSeq]);
    return 0;
  },
  proxy_define_metric: (kind, p, s, ip) => {
    dv().setUint32(ip, 1, true);
    return 0;
  },
  proxy_increment_metric: () => {
    count('increment_metric');
    return 0;
  },
  proxy_get_property: () => {
    count('get_property');
    return 1;
  },
  proxy_send_local_response: (status) => {
    count('send_local_response');
    localResponses[status] = (localResponses[status] || 0) + 1;
    return 0;
  },
  proxy_set_effective_context: () => 0,
  proxy_set_tick_period_milliseconds: () => 0,
  proxy_continue_stream: () => 0,
  proxy_close_stream: () => 0,
  proxy_done: () => 0,
};
const wasi = {
  environ_sizes_get: (a, b) => {
    dv().setUint32(a, 0, true);
    dv().setUint32(b, 0, true);
    return 0;
  },
  environ_get: () => 0,
  fd_write: (fd, iov, n, wp) => {
    let t = 0;
    for (let i = 0; i < n; i++) t += dv().getUint32(iov + 8 * i + 4, true);
    dv().setUint32(wp, t, true);
    return 0;
  },
  proc_exit: (c) => {
    throw new Error(`proc_exit(${c})`);
  },
};

const mod = new WebAssembly.Module(fs.readFileSync(opts.wasm));
const imports = { env: {}, wasi_snapshot_preview1: {} };
for (const i of WebAssembly.Module.imports(mod)) {
  const table = i.module === 'env' ? env : wasi;
  imports[i.module] = imports[i.module] || {};
  imports[i.module][i.name] = table[i.name] || (() => {
    throw new Error(`host call ${i.module}.${i.name} is not implemented here`);
  });
}
inst = new WebAssembly.Instance(mod, imports);
mem = inst.exports.memory;
const X = inst.exports;
if (X._initialize) X._initialize();
const ROOT = 1;
X.proxy_on_context_create(ROOT, 0);
if (X.proxy_on_vm_start && !X.proxy_on_vm_start(ROOT, 0)) throw new Error('proxy_on_vm_start failed');
if (!X.proxy_on_configure(ROOT, config.length)) throw new Error('proxy_on_configure failed (see the guest log)');

let nextId = 2;
function stream() {
  const id = nextId++;
  req = baseReq.slice();
  resp = baseResp.slice();
  reqUntouched = true;
  X.proxy_on_context_create(id, ROOT);
  X.proxy_on_request_headers(id, req.length, 1);
  X.proxy_on_response_headers(id, resp.length, 1);
  if (X.proxy_on_done) X.proxy_on_done(id);
  if (X.proxy_on_log) X.proxy_on_log(id);
  if (X.proxy_on_delete) X.proxy_on_delete(id);
}

const N = opts.streams;
for (let i = 0; i < Math.max(20000, N / 10); i++) stream(); // warm-up: V8 tiers hot functions up
for (const k of Object.keys(calls)) delete calls[k];
for (const k of Object.keys(localResponses)) delete localResponses[k];

if (opts.cold > 0) {
  coldRun();
  process.exit(0);
}

// Times single streams, warm and after walking opts.cold MiB; interleaved blocks, median of medians.
function coldRun() {
  const flush = new Int32Array((opts.cold * 1024 * 1024) / 4);
  let sink = 0;
  const walk = () => {
    for (let i = 0; i < flush.length; i += 16) sink += flush[i]++;
  };
  const median = (a) => {
    const s = Float64Array.from(a).sort();
    return s[s.length >> 1];
  };
  const one = () => {
    const t0 = process.hrtime.bigint();
    stream();
    return Number(process.hrtime.bigint() - t0) / 1000;
  };
  const blocks = 20;
  const per = Math.max(10, Math.floor(Math.min(N, 4000) / blocks));
  const cold = [];
  const warm = [];
  for (let b = 0; b < blocks; b++) {
    const c = [];
    for (let i = 0; i < per; i++) {
      walk();
      c.push(one());
    }
    cold.push(median(c));
    const w = [];
    for (let i = 0; i < per; i++) w.push(one());
    warm.push(median(w));
  }
  const q = (a, f) => Float64Array.from(a).sort()[Math.floor((a.length - 1) * f)];
  console.log(`${opts.wasm.split('/').pop()}: ${blocks} blocks × ${per} streams, ${opts.cold} MiB walked before each cold one`);
  console.log(`  cold stream  ${median(cold).toFixed(2)} µs (blocks ${q(cold, 0.25).toFixed(2)}–${q(cold, 0.75).toFixed(2)})`);
  console.log(`  warm stream  ${median(warm).toFixed(2)} µs (blocks ${q(warm, 0.25).toFixed(2)}–${q(warm, 0.75).toFixed(2)})`);
  if (sink === 0.5) console.log(''); // keeps the walk observable
}

const session = new inspector.Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) => session.post(method, params || {}, (e, r) => (e ? reject(e) : resolve(r))));

(async () => {
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 50 });
  await post('Profiler.start');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) stream();
  const wall = Number(process.hrtime.bigint() - t0) / 1000 / N;
  const { profile } = await post('Profiler.stop');

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let guest = 0;
  let total = 0;
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const d = profile.timeDeltas[i] || 0;
    total += d;
    const f = n.callFrame;
    if (f.url.startsWith('wasm://') && !f.functionName.startsWith('wasm-to-js')) {
      guest += d;
      const name = f.functionName.replace(/17h[0-9a-f]{16}E$/, '');
      self.set(name, (self.get(name) || 0) + d);
    }
  }
  const scale = wall / (total / N); // sampled time -> measured wall time
  const perCall = Object.entries(calls).map(([k, v]) => `${k} ${(v / N).toFixed(2).replace(/\.00$/, '')}`);
  console.log(`${opts.wasm.split('/').pop()}: ${N} streams`);
  console.log(`  guest self time  ${((guest / N) * scale).toFixed(2)} µs per stream`);
  console.log(`  whole stream     ${wall.toFixed(2)} µs per stream in this JavaScript host (not Envoy's host cost)`);
  console.log(`  host calls       ${perCall.join(', ') || 'none'} per stream`);
  if (Object.keys(localResponses).length) console.log(`  local responses  ${JSON.stringify(localResponses)}`);
  const added = req.filter(([k]) => !baseReq.some(([b]) => b === k));
  console.log(`  request headers added: ${added.map(([k, v]) => `${k}: ${v}`).join(' | ') || 'none'}`);
  console.log(`  response headers added: ${resp.slice(baseResp.length).map(([k, v]) => `${k}: ${v}`).join(' | ') || 'none'}`);
  console.log(`  top guest functions by self time (ns per stream):`);
  for (const [name, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, opts.top)) {
    console.log(`    ${((v / N) * scale * 1000).toFixed(0).padStart(6)}  ${name.slice(0, 150)}`);
  }
  session.disconnect();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
