// The console's protocol library: docs/protocol.md in the browser, with WebCrypto only.
//
// Private keys are imported non-extractable and never leave this page; the only network
// access is `api`'s fetch to the session's baseUrl. Every verifier returns or throws
// ProtocolError (fail closed: no boolean to forget). Bytes are Uint8Array.

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

/** Any verification or format failure; `message` says which check failed. */
export class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** A non-2xx answer of the broker: `status` and the RFC 9457 `problem` document. */
export class ProblemError extends Error {
  constructor(status, problem) {
    const body = problem && typeof problem === "object" ? problem : {};
    super(body.detail || body.title || `HTTP ${status}`);
    this.name = "ProblemError";
    this.status = status;
    this.problem = body;
    this.type = typeof body.type === "string" ? body.type : null;
  }
}

function fail(message) {
  throw new ProtocolError(message);
}

// ---------------------------------------------------------------- encodings (§1)

const STD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_B64 = /^[A-Za-z0-9_-]*$/;

function binaryString(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return out;
}

function fromBinaryString(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Standard base64 with padding (RFC 4648 §4). */
export function b64encode(bytes) {
  return btoa(binaryString(toBytes(bytes)));
}

/** Strict standard base64 with padding; throws ProtocolError on anything else. */
export function b64decode(s) {
  if (typeof s !== "string" || !STD_B64.test(s)) fail("not standard base64 with padding");
  return fromBinaryString(atob(s));
}

/** base64url without padding (RFC 4648 §5, RFC 7515 §2). */
export function b64urlEncode(bytes) {
  return b64encode(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Strict base64url without padding; throws ProtocolError on another alphabet or padding. */
export function b64urlDecode(s) {
  if (typeof s !== "string" || !URL_B64.test(s) || s.length % 4 === 1) {
    fail("not base64url without padding");
  }
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  return fromBinaryString(atob(std + "=".repeat((4 - (std.length % 4)) % 4)));
}

function toBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  fail("expected bytes (Uint8Array)");
}

function ascii(text) {
  // Every JOSE segment and SD-JWT is ASCII; encoding it as UTF-8 gives the same bytes.
  if (!/^[\x00-\x7f]*$/.test(text)) fail("expected ASCII text");
  return encoder.encode(text);
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

// Strict JSON (§1): duplicate member names are refused (JSON.parse keeps the last one,
// another parser the first, so two verifiers could disagree on what was signed).
function strictJson(bytes) {
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    fail("not UTF-8");
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    fail("not JSON");
  }
  // The text is valid JSON here, so a string right after `{` or `,` inside an object is a
  // member name.
  const stack = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") stack.push({ names: new Set(), expectName: true });
    else if (c === "[") stack.push(null);
    else if (c === "}" || c === "]") stack.pop();
    else if (c === "," && stack.length && stack[stack.length - 1]) stack[stack.length - 1].expectName = true;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && top.expectName) {
        const name = JSON.parse(text.slice(i, j + 1));
        if (top.names.has(name)) fail("duplicate JSON member name");
        top.names.add(name);
        top.expectName = false;
      }
      i = j;
    }
  }
  return value;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function jsonObjectSegment(segment, what) {
  const value = strictJson(b64urlDecode(segment));
  if (!isObject(value)) fail(`${what} is not a JSON object`);
  return value;
}

// ---------------------------------------------------------------- keys (§2)

// What each imported key is, for the `kid` checks of §5.2 and §6.2 (a CryptoKey has no kid).
const keyInfo = new WeakMap();

async function thumbprint(jwk) {
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return b64urlEncode(await sha256(encoder.encode(canonical)));
}

function checkOkp(jwk, crv, needPrivate) {
  if (!isObject(jwk) || jwk.kty !== "OKP" || jwk.crv !== crv) fail(`not an OKP ${crv} JWK`);
  if (typeof jwk.x !== "string" || jwk.x.length !== 43 || b64urlDecode(jwk.x).length !== 32) {
    fail("the JWK's x is not a 32-byte base64url key");
  }
  if (needPrivate) {
    if (typeof jwk.d !== "string" || jwk.d.length !== 43 || b64urlDecode(jwk.d).length !== 32) {
      fail("the JWK has no 32-byte private key d");
    }
  } else if ("d" in jwk) {
    fail("a public key must not carry d");
  }
  if ("kid" in jwk && (typeof jwk.kid !== "string" || jwk.kid.length < 1 || jwk.kid.length > 128)) {
    fail("the JWK's kid is not 1..128 characters");
  }
}

async function publicJwkOf(jwk) {
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  publicJwk.kid = typeof jwk.kid === "string" ? jwk.kid : await thumbprint(jwk);
  return publicJwk;
}

/** A private Ed25519 JWK (as `liaison keygen` writes it) → { kid, key (non-extractable), publicJwk }. */
export async function importSigningKey(jwk) {
  checkOkp(jwk, "Ed25519", true);
  const publicJwk = await publicJwkOf(jwk);
  let key;
  try {
    key = await subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x, d: jwk.d },
      { name: "Ed25519" }, false, ["sign"]);
  } catch {
    fail("the signing key does not import: x and d must be one key pair");
  }
  // x and d must be one key pair: otherwise every request would fail at the broker.
  const probe = encoder.encode("liaison key check");
  const signature = new Uint8Array(await subtle.sign({ name: "Ed25519" }, key, probe));
  const publicKey = await importPublicKey(publicJwk);
  if (!(await subtle.verify({ name: "Ed25519" }, publicKey, signature, probe))) {
    fail("the signing key's d does not match its x: x and d must be one key pair");
  }
  keyInfo.set(key, { kid: publicJwk.kid, x: publicJwk.x });
  return { kid: publicJwk.kid, key, publicJwk };
}

/** A private X25519 JWK → { kid, key (non-extractable, deriveBits), publicJwk }. */
export async function importEncryptionKey(jwk) {
  checkOkp(jwk, "X25519", true);
  const publicJwk = await publicJwkOf(jwk);
  let key;
  try {
    key = await subtle.importKey("jwk", { kty: "OKP", crv: "X25519", x: jwk.x, d: jwk.d },
      { name: "X25519" }, false, ["deriveBits"]);
  } catch {
    fail("the encryption key does not import: x and d must be one key pair");
  }
  // x and d must be one key pair: agree with a throwaway key both ways.
  const probe = await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const ours = await importX25519Public(b64urlDecode(jwk.x));
  const a = await subtle.deriveBits({ name: "X25519", public: probe.publicKey }, key, 256);
  const b = await subtle.deriveBits({ name: "X25519", public: ours }, probe.privateKey, 256);
  if (!equalBytes(new Uint8Array(a), new Uint8Array(b))) {
    fail("the encryption key's d does not match its x: x and d must be one key pair");
  }
  keyInfo.set(key, { kid: publicJwk.kid, x: publicJwk.x });
  return { kid: publicJwk.kid, key, publicJwk };
}

/** A public Ed25519 JWK (an originator's key, the broker's kb_key) → a verify CryptoKey. */
export async function importPublicKey(jwk) {
  if (isObject(jwk) && "d" in jwk) fail("a public key must not carry d");
  checkOkp(jwk, "Ed25519", false);
  const key = await subtle.importKey("raw", b64urlDecode(jwk.x), { name: "Ed25519" }, true, ["verify"]);
  keyInfo.set(key, { kid: typeof jwk.kid === "string" ? jwk.kid : null, x: jwk.x });
  return key;
}

function importX25519Public(raw) {
  return subtle.importKey("raw", raw, { name: "X25519" }, true, []).catch(() => fail("not an X25519 public key"));
}

function requireVerifyKey(key) {
  if (!key || key.type !== "public" || key.algorithm?.name !== "Ed25519") {
    fail("expected an Ed25519 public CryptoKey");
  }
}

async function rawPublic(key) {
  return new Uint8Array(await subtle.exportKey("raw", key));
}

// ---------------------------------------------------------------- request signing (§3)

function sfString(value, what) {
  if (typeof value !== "string" || !/^[\x20-\x7e]*$/.test(value)) fail(`${what} is not a structured-field string`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

async function prepareRequest({ method, url, body, kid, created, nonce }) {
  if (typeof method !== "string" || !/^[A-Z]+$/.test(method)) fail("method must be an upper-case token");
  const target = new URL(url);
  const bytes = body == null ? new Uint8Array(0) : typeof body === "string" ? encoder.encode(body) : toBytes(body);
  const when = created ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(when) || when < 0) fail("created must be an integer number of seconds");
  const fresh = nonce ?? b64urlEncode(crypto.getRandomValues(new Uint8Array(24)));
  if (!URL_B64.test(fresh) || fresh.length > 128 || b64urlDecode(fresh).length < 16) {
    fail("the nonce must be base64url of at least 16 bytes");
  }
  if (typeof kid !== "string" || kid.length < 1 || kid.length > 128) fail("kid must be 1..128 characters");
  const components = [
    ["@method", method],
    // URL.host is lowercase and omits the scheme's default port (RFC 9421 §2.2.3).
    ["@authority", target.host],
    ["@path", target.pathname || "/"],
    ["@query", target.search || "?"],
  ];
  let contentDigest = null;
  if (bytes.length > 0) {
    contentDigest = `sha-256=:${b64encode(await sha256(bytes))}:`;
    components.push(["content-digest", contentDigest]);
  }
  const params =
    `(${components.map(([name]) => `"${name}"`).join(" ")})` +
    `;created=${when};keyid=${sfString(kid, "keyid")};alg="ed25519"` +
    `;nonce=${sfString(fresh, "nonce")};tag="liaison"`;
  const base = components.map(([name, value]) => `"${name}": ${value}\n`).join("") + `"@signature-params": ${params}`;
  if (!/^[\x20-\x7e\n]*$/.test(base)) fail("a covered component is not printable ASCII");
  return { base, params, contentDigest };
}

/** The RFC 9421 signature base signRequest signs (for checks against the vectors). */
export async function requestSignatureBase(request) {
  return (await prepareRequest(request)).base;
}

/** RFC 9421 headers for one request (§3): a fresh nonce each call unless one is given. */
export async function signRequest(request) {
  const { base, params, contentDigest } = await prepareRequest(request);
  const signature = new Uint8Array(await subtle.sign({ name: "Ed25519" }, request.key, encoder.encode(base)));
  const headers = contentDigest === null ? {} : { "Content-Digest": contentDigest };
  headers["Signature-Input"] = `sig1=${params}`;
  headers.Signature = `sig1=:${b64encode(signature)}:`;
  return headers;
}

/**
 * A signed call to the broker: `jsonBody` (an object) is sent as JSON; a string or bytes
 * body is sent as is with `options.contentType` (default application/sd-jwt, for alerts).
 * Returns the parsed JSON, the text of a text/plain answer, or null for an empty one;
 * throws ProblemError on a non-2xx answer.
 */
export async function api(session, method, path, jsonBody, options = {}) {
  if (typeof path !== "string" || !path.startsWith("/")) fail("path must start with /");
  const url = String(session.baseUrl).replace(/\/+$/, "") + path;
  let body = null;
  const headers = { Accept: "application/json, application/problem+json, text/plain" };
  if (jsonBody !== undefined && jsonBody !== null) {
    if (typeof jsonBody === "string" || jsonBody instanceof Uint8Array) {
      body = typeof jsonBody === "string" ? encoder.encode(jsonBody) : jsonBody;
      headers["Content-Type"] = options.contentType || "application/sd-jwt";
    } else {
      body = encoder.encode(JSON.stringify(jsonBody));
      headers["Content-Type"] = "application/json";
    }
  }
  const upper = method.toUpperCase();
  Object.assign(headers, await signRequest({ method: upper, url, body, kid: session.kid, key: session.key }));
  const response = await fetch(url, {
    method: upper,
    headers,
    body: body && body.length ? body : undefined,
    credentials: "omit",
    cache: "no-store",
    redirect: "error",
  });
  const type = (response.headers.get("Content-Type") || "").toLowerCase();
  const text = await response.text();
  const isJson = type.includes("json");
  if (!response.ok) {
    let problem = { status: response.status, title: response.statusText, detail: text.slice(0, 500) };
    if (isJson) {
      try {
        problem = JSON.parse(text);
      } catch {
        // keep the plain description
      }
    }
    throw new ProblemError(response.status, problem);
  }
  if (text === "") return null;
  if (isJson) return JSON.parse(text);
  return text;
}

// ---------------------------------------------------------------- JWS profile (§6.3)

const JWS_SEGMENT = /^[A-Za-z0-9_-]+$/;

// Header exactly alg/typ/kid, an allowed alg (never none, never a MAC), the expected typ,
// the key's kid when the key was imported with one, and the Ed25519 signature.
async function verifyJws(token, key, typ, algs, what) {
  requireVerifyKey(key);
  if (typeof token !== "string") fail(`${what}: not a compact JWS`);
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => JWS_SEGMENT.test(p))) fail(`${what}: not a compact JWS`);
  const header = jsonObjectSegment(parts[0], `${what} header`);
  const claims = jsonObjectSegment(parts[1], `${what} payload`);
  if (!algs.includes(header.alg)) fail(`${what}: alg must be ${algs.join(" or ")}`);
  const names = Object.keys(header).sort().join(",");
  if (names !== "alg,kid,typ") fail(`${what}: the header must have exactly alg, typ and kid`);
  if (header.typ !== typ) fail(`${what}: typ must be ${typ}`);
  const expectedKid = keyInfo.get(key)?.kid;
  if (typeof header.kid !== "string" || (expectedKid && header.kid !== expectedKid)) {
    fail(`${what}: kid does not name the expected key`);
  }
  const signature = b64urlDecode(parts[2]);
  const signed = ascii(`${parts[0]}.${parts[1]}`);
  if (signature.length !== 64 || !(await subtle.verify({ name: "Ed25519" }, key, signature, signed))) {
    fail(`${what}: the signature does not verify`);
  }
  return { header, claims };
}

/** A broker notice (§6.2); with `expect`, also its aud, type and alert_id. Returns the claims. */
export async function verifyNotice(jws, kbKey, expect = {}) {
  const { claims } = await verifyJws(jws, kbKey, "liaison-notice+jwt", ["Ed25519"], "notice");
  for (const [field, name] of [["audience", "aud"], ["type", "type"], ["alertId", "alert_id"]]) {
    if (expect[field] !== undefined && claims[name] !== expect[field]) fail(`notice: ${name} does not match`);
  }
  return claims;
}

// ---------------------------------------------------------------- SD-JWT+KB (§4, §5)

const SD_DIGEST = /^[A-Za-z0-9_-]{43}$/;
const KB_CLAIMS = "aud,iat,nonce,sd_hash";
const KB_SKEW_SECONDS = 60;
const RESERVED_NAMES = new Set([
  "_sd", "_sd_alg", "...", "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf", "nonce", "sd_hash",
  "kind", "category", "tlp", "handling", "audience", "purpose", "legal_basis", "supersedes",
  "character", "subject_status",
]);

function embedsDigests(value) {
  const stack = [value];
  while (stack.length) {
    const item = stack.pop();
    if (Array.isArray(item)) stack.push(...item);
    else if (isObject(item)) {
      if (Object.hasOwn(item, "_sd") || Object.hasOwn(item, "...")) return true;
      stack.push(...Object.values(item));
    }
  }
  return false;
}

/** RFC 9901 §4.2.3: base64url(SHA-256(ASCII bytes of the disclosure as sent)). */
export async function disclosureDigest(encoded) {
  return b64urlEncode(await sha256(ascii(encoded)));
}

/**
 * Verify an SD-JWT+KB presentation as a partner (§5.2 steps 2-6) and return
 * { clear, disclosed, undisclosedCount, kb }. `now` (seconds) defaults to the clock.
 */
export async function verifyPresentation(text, { originatorKey, kbKey, audience, nonce, now } = {}) {
  if (typeof text !== "string") fail("a presentation is a string");
  ascii(text);
  const parts = text.split("~");
  if (parts.length < 2) fail("a presentation has at least one '~'");
  const kbJwt = parts[parts.length - 1];
  const disclosures = parts.slice(1, -1);
  if (!kbJwt) fail("the presentation has no key-binding JWT");
  // 3: the originator's signature over the issuer JWT (EdDSA allowed there only, §6.3).
  const { claims: payload } = await verifyJws(parts[0], originatorKey, "liaison-alert+sd-jwt",
    ["Ed25519", "EdDSA"], "issuer-signed JWT");
  // 4: the disclosures against _sd, flat only.
  if (payload._sd_alg !== "sha-256") fail("_sd_alg must be sha-256");
  const digests = payload._sd ?? [];
  if (!Array.isArray(digests) || !digests.every((d) => typeof d === "string" && SD_DIGEST.test(d))) {
    fail("_sd must be a list of SHA-256 digests");
  }
  const listed = new Set(digests);
  if (listed.size !== digests.length) fail("_sd lists a digest twice");
  const clear = {};
  for (const [name, value] of Object.entries(payload)) if (name !== "_sd" && name !== "_sd_alg") clear[name] = value;
  if (embedsDigests(clear)) fail("digests may appear only in the top-level _sd");
  const seen = new Set();
  const disclosed = {};
  for (const [i, encoded] of disclosures.entries()) {
    const n = i + 1;
    const digest = await disclosureDigest(encoded);
    if (seen.has(digest)) fail(`disclosure ${n} is repeated`);
    if (!listed.has(digest)) fail(`disclosure ${n} is not listed in _sd`);
    seen.add(digest);
    const decoded = strictJson(b64urlDecode(encoded));
    if (!Array.isArray(decoded) || decoded.length !== 3) fail(`disclosure ${n} is not a [salt, name, value] array`);
    const [salt, name, value] = decoded;
    if (typeof salt !== "string" || salt.length < 22) fail(`disclosure ${n} has a salt shorter than 128 bits`);
    if (typeof name !== "string" || !name) fail(`disclosure ${n} has no claim name`);
    if (RESERVED_NAMES.has(name)) fail(`disclosure ${n} uses a reserved claim name`);
    if (Object.hasOwn(clear, name) || Object.hasOwn(disclosed, name)) fail(`disclosure ${n} repeats a claim name`);
    if (embedsDigests(value)) fail(`disclosure ${n} embeds digests`);
    Object.defineProperty(disclosed, name, { value, enumerable: true, writable: true, configurable: true });
  }
  // 5: the alert is bound to the broker's key-binding key (key material only).
  const jwk = isObject(clear.cnf) ? clear.cnf.jwk : null;
  if (!isObject(jwk) || jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") {
    fail("cnf.jwk is not an Ed25519 public key");
  }
  requireVerifyKey(kbKey);
  if (!equalBytes(b64urlDecode(jwk.x), await rawPublic(kbKey))) fail("cnf.jwk is not the broker's key-binding key");
  // 6: the KB-JWT by the broker, for this audience and nonce, over exactly these disclosures.
  const { claims: kb } = await verifyJws(kbJwt, kbKey, "kb+jwt", ["Ed25519"], "key-binding JWT");
  if (Object.keys(kb).sort().join(",") !== KB_CLAIMS) {
    fail("key-binding JWT claims must be exactly iat, aud, nonce, sd_hash");
  }
  if (!Number.isSafeInteger(kb.iat)) fail("key-binding JWT iat is not an integer");
  const clock = now ?? Math.floor(Date.now() / 1000);
  if (kb.iat > clock + KB_SKEW_SECONDS) fail("key-binding JWT is issued in the future");
  if (typeof audience !== "string" || kb.aud !== audience) fail("key-binding JWT is for another audience");
  if (typeof kb.nonce !== "string" || (nonce !== undefined && kb.nonce !== nonce)) {
    fail("key-binding JWT nonce does not match");
  }
  const presented = text.slice(0, text.length - kbJwt.length);
  if (kb.sd_hash !== (await disclosureDigest(presented))) fail("key-binding JWT sd_hash does not match");
  return { clear, disclosed, undisclosedCount: digests.length - disclosures.length, kb };
}

// ---------------------------------------------------------------- envelopes (§6.1)

const JWE_MEMBERS = new Set(["alg", "enc", "kid", "epk", "apu", "apv", "cty", "typ"]);
const MAX_PLAINTEXT = 4 * 1024 * 1024;

function lengthPrefixed(bytes) {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

// RFC 7518 §4.6.2: Concat KDF (NIST SP 800-56A §5.8.1) with SHA-256 for a 256-bit key,
// one round: SHA-256(counter 1 ‖ Z ‖ AlgorithmID ‖ PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo).
async function concatKdf(sharedSecret, enc, apu, apv) {
  const keyBits = new Uint8Array(4);
  new DataView(keyBits.buffer).setUint32(0, 256);
  const otherInfo = concat(lengthPrefixed(encoder.encode(enc)), lengthPrefixed(apu), lengthPrefixed(apv), keyBits);
  return sha256(concat(new Uint8Array([0, 0, 0, 1]), sharedSecret, otherInfo));
}

/** Open a feed envelope (JWE compact, ECDH-ES + A256GCM over X25519) with the key its kid names. */
export async function openEnvelope(jwe, encKeys) {
  if (typeof jwe !== "string") fail("not a compact ECDH-ES JWE");
  const parts = jwe.split(".");
  if (parts.length !== 5 || !JWS_SEGMENT.test(parts[0]) || parts[1] !== "") fail("not a compact ECDH-ES JWE");
  const header = jsonObjectSegment(parts[0], "envelope header");
  if ("zip" in header) fail("compressed envelopes are refused");
  if (header.alg !== "ECDH-ES" || header.enc !== "A256GCM") fail("alg must be ECDH-ES and enc A256GCM");
  if (!Object.keys(header).every((name) => JWE_MEMBERS.has(name))) fail("the header holds members outside the profile");
  const recipient = (encKeys || []).find((k) => k && k.kid === header.kid);
  if (!recipient) fail("no encryption key has the envelope's kid");
  const epk = header.epk;
  if (!isObject(epk) || epk.kty !== "OKP" || epk.crv !== "X25519" || typeof epk.x !== "string" || "d" in epk) {
    fail("epk is not an X25519 public key");
  }
  const epkRaw = b64urlDecode(epk.x);
  if (epkRaw.length !== 32) fail("epk is not an X25519 public key");
  const iv = b64urlDecode(parts[2]);
  const ciphertext = b64urlDecode(parts[3]);
  const tag = b64urlDecode(parts[4]);
  if (iv.length !== 12 || tag.length !== 16) fail("the IV or tag has the wrong length");
  if (ciphertext.length > MAX_PLAINTEXT) fail("the envelope is too large");
  const apu = header.apu === undefined ? new Uint8Array(0) : b64urlDecode(String(header.apu));
  const apv = header.apv === undefined ? new Uint8Array(0) : b64urlDecode(String(header.apv));
  let plaintext;
  try {
    const z = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: await importX25519Public(epkRaw) },
      recipient.key, 256));
    const cek = await subtle.importKey("raw", await concatKdf(z, header.enc, apu, apv), { name: "AES-GCM" },
      false, ["decrypt"]);
    plaintext = await subtle.decrypt({ name: "AES-GCM", iv, additionalData: ascii(parts[0]), tagLength: 128 },
      cek, concat(ciphertext, tag));
  } catch {
    fail("the envelope does not decrypt");
  }
  return new Uint8Array(plaintext);
}

// ---------------------------------------------------------------- checkpoints (§10.4)

const SIGNATURE_PREFIX = "\u2014 ";

function validKeyName(name) {
  return name.length > 0 && !name.includes("+") && !/[\s\x00-\x1f]/u.test(name);
}

function parseVkey(vkey) {
  if (typeof vkey !== "string") fail("the verifier key is not a string");
  const first = vkey.indexOf("+");
  const second = vkey.indexOf("+", first + 1);
  if (first < 0 || second < 0) fail("a verifier key has three '+'-separated parts");
  const name = vkey.slice(0, first);
  const keyIdHex = vkey.slice(first + 1, second);
  if (!validKeyName(name)) fail("invalid note key name");
  if (!/^[0-9a-f]{8}$/.test(keyIdHex)) fail("the key ID must be 8 lowercase hex digits");
  const typed = b64decode(vkey.slice(second + 1));
  if (typed.length !== 33 || typed[0] !== 0x01) fail("only Ed25519 (type 0x01) note keys are supported");
  const keyId = new Uint8Array(keyIdHex.match(/../g).map((h) => parseInt(h, 16)));
  return { name, keyId, publicKey: typed.subarray(1) };
}

/** Verify a C2SP checkpoint note with `vkey` (and its `origin`); → { origin, size, rootHash }. */
export async function verifyCheckpoint(note, vkey, origin) {
  const verifier = parseVkey(vkey);
  // The key ID is SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4] (C2SP signed-note).
  const derived = (await sha256(concat(encoder.encode(verifier.name), new Uint8Array([0x0a, 0x01]),
    verifier.publicKey))).subarray(0, 4);
  if (!equalBytes(derived, verifier.keyId)) fail("the key ID does not match the name and key");
  if (typeof note !== "string" || !note.endsWith("\n") || /[\x00-\x09\x0b-\x1f]/.test(note)) fail("not a signed note");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) fail("not a signed note");
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split("\n");
  if (lines.pop() !== "" || lines.length === 0) fail("not a signed note");
  const key = await subtle.importKey("raw", verifier.publicKey, { name: "Ed25519" }, false, ["verify"]);
  let verified = false;
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) fail("malformed signature line");
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(" ");
    if (space < 0) fail("malformed signature line");
    const signature = b64decode(rest.slice(space + 1));
    if (signature.length <= 4) fail("malformed signature line");
    // Signatures by other keys are ignored; one by this key that fails rejects the note.
    if (rest.slice(0, space) !== verifier.name || !equalBytes(signature.subarray(0, 4), verifier.keyId)) continue;
    const ok = signature.length === 68 &&
      (await subtle.verify({ name: "Ed25519" }, key, signature.subarray(4), encoder.encode(text)));
    if (!ok) fail("the checkpoint signature does not verify");
    verified = true;
  }
  if (!verified) fail("the checkpoint has no signature by this key");
  const body = text.slice(0, -1).split("\n");
  if (body.length < 3 || body.some((line) => !line)) fail("a checkpoint has at least three non-empty lines");
  const [noteOrigin, sizeText, rootText] = body;
  if (origin !== undefined && origin !== null && noteOrigin !== origin) fail("the checkpoint is of another origin");
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || sizeText.length > 16 || !Number.isSafeInteger(Number(sizeText))) {
    fail("the tree size is not a canonical decimal");
  }
  const rootHash = b64decode(rootText);
  if (rootHash.length !== 32 || b64encode(rootHash) !== rootText) fail("the root hash is not canonical base64");
  return { origin: noteOrigin, size: Number(sizeText), rootHash };
}

// ---------------------------------------------------------------- RFC 9162 proofs (§10)

/** SHA-256(0x00 ‖ bytes), the RFC 9162 leaf hash. */
export async function leafHash(bytes) {
  return sha256(concat(new Uint8Array([0]), toBytes(bytes)));
}

function nodeHash(left, right) {
  return sha256(concat(new Uint8Array([1]), left, right));
}

function treeIndex(value, what) {
  // BigInt: JavaScript's bitwise operators work on 32 bits, tree sizes go beyond.
  if (typeof value === "bigint" && value >= 0n) return value;
  if (Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  fail(`${what} must be a non-negative integer`);
}

function hashes(values) {
  if (!Array.isArray(values)) fail("a proof is an array of hashes");
  return values.map((h) => {
    const bytes = toBytes(h);
    if (bytes.length !== 32) fail("a proof hash is not 32 bytes");
    return bytes;
  });
}

function hash32(value, what) {
  const bytes = toBytes(value);
  if (bytes.length !== 32) fail(`${what} is not 32 bytes`);
  return bytes;
}

/** RFC 9162 §2.1.3.2: `leafHash` is leaf `index` of the tree of `size` with `root`. */
export async function verifyInclusion(leafHash, index, size, proof, root) {
  const path = hashes(proof);
  let r = hash32(leafHash, "the leaf hash");
  const expected = hash32(root, "the root");
  let fn = treeIndex(index, "index");
  let sn = treeIndex(size, "size");
  // 1. If leaf_index >= tree_size, fail.  2. fn = leaf_index, sn = tree_size - 1.
  if (fn >= sn) fail("the index is not in the tree");
  sn -= 1n;
  // 4. For each p in the inclusion path:
  for (const p of path) {
    // a. If sn is 0, fail.
    if (sn === 0n) fail("the inclusion proof is too long");
    // b. If LSB(fn) is set, or fn equals sn: r = HASH(0x01 ‖ p ‖ r), then shift until LSB(fn) or fn is 0.
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      // Otherwise r = HASH(0x01 ‖ r ‖ p).
      r = await nodeHash(r, p);
    }
    // c. Shift both once.
    fn >>= 1n;
    sn >>= 1n;
  }
  // 5. Succeed only if sn is 0 and r is the root.
  if (sn !== 0n || !equalBytes(r, expected)) fail("the inclusion proof does not verify");
  return true;
}

/** RFC 9162 §2.1.4.2: the tree of `oldSize` with `oldRoot` is a prefix of the newer one. */
export async function verifyConsistency(oldSize, newSize, proof, oldRoot, newRoot) {
  const path = hashes(proof);
  const first = hash32(oldRoot, "the old root");
  const second = hash32(newRoot, "the new root");
  const m = treeIndex(oldSize, "oldSize");
  const n = treeIndex(newSize, "newSize");
  if (n < m) fail("the new tree is smaller than the old one");
  // Nothing to prove: only an empty proof, with the empty-tree or the same root.
  if (m === 0n || m === n) {
    const expected = m === 0n ? await sha256(new Uint8Array(0)) : second;
    if (path.length || !equalBytes(first, expected)) fail("the consistency proof does not verify");
    return true;
  }
  // 1. An empty path fails.  2. If first is a power of 2, prepend first_hash.
  if (!path.length) fail("the consistency proof is empty");
  if ((m & (m - 1n)) === 0n) path.unshift(first);
  // 3. fn = first - 1, sn = second - 1.  4. While LSB(fn), shift both.
  let fn = m - 1n;
  let sn = n - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  // 5. fr = sr = path[0].
  let fr = path[0];
  let sr = path[0];
  // 6. For each subsequent c:
  for (const c of path.slice(1)) {
    if (sn === 0n) fail("the consistency proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  // 7. Succeed only if fr is first_hash, sr is second_hash and sn is 0.
  if (sn !== 0n || !equalBytes(fr, first) || !equalBytes(sr, second)) fail("the consistency proof does not verify");
  return true;
}
