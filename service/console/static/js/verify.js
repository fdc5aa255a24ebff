// Verification steps the views share: opening alert copies, checkpoints, inclusion proofs.
// Every function returns or throws (ProtocolError from protocol.js for a failed check).

import {
  api,
  b64decode,
  importPublicKey,
  leafHash,
  openEnvelope,
  ProtocolError,
  verifyCheckpoint,
  verifyInclusion,
  verifyNotice,
  verifyPresentation,
} from "./protocol.js";
import { decodeSegment, sha256Hex } from "./ui.js";

const originatorKeys = new Map();

/** The originator's registered Ed25519 key `kid` (GET /v1/agencies/{iss}), imported. */
export async function originatorKey(session, iss, kid) {
  const cacheKey = `${iss} ${kid}`;
  if (!originatorKeys.has(cacheKey)) {
    const agency = await api(session, "GET", `/v1/agencies/${encodeURIComponent(iss)}`);
    const jwk = (agency.signing_keys || []).find((k) => k.kid === kid);
    if (!jwk) throw new ProtocolError(`${iss} has no signing key ${kid}`);
    originatorKeys.set(cacheKey, await importPublicKey({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }));
  }
  return originatorKeys.get(cacheKey);
}

/** Decrypt an alert envelope with the session's keys and verify the presentation inside
 * (docs/protocol.md §5.2): issuer signature, disclosures, key binding to the broker with
 * `aud` = the signed-in principal and `nonce`. Returns the verified parts plus the plaintext
 * (whose SHA-256 the matching alert.disclosed audit entry carries). */
export async function openAlert(session, envelope, nonce) {
  const plaintext = await openEnvelope(envelope, session.encKeys);
  const text = new TextDecoder().decode(plaintext);
  const issuerJwt = text.split("~")[0];
  const [headerSegment, payloadSegment] = issuerJwt.split(".");
  // Read (not yet trusted) which key to verify with; verifyPresentation then decides.
  const header = decodeSegment(headerSegment);
  const unverified = decodeSegment(payloadSegment);
  const key = await originatorKey(session, unverified.iss, header.kid);
  const verified = await verifyPresentation(text, {
    originatorKey: key,
    kbKey: session.kbKey,
    audience: session.principal.id,
    nonce,
  });
  return { ...verified, plaintext, digest: await sha256Hex(plaintext) };
}

/** Decrypt a notice envelope and verify it with the broker's kb key. */
export async function openNotice(session, envelope) {
  const plaintext = await openEnvelope(envelope, session.encKeys);
  const claims = await verifyNotice(new TextDecoder().decode(plaintext), session.kbKey);
  if (claims.aud !== session.principal.id) {
    throw new ProtocolError("the notice is addressed to someone else");
  }
  return { claims, plaintext, digest: await sha256Hex(plaintext) };
}

/** The latest checkpoint, verified against the broker's pinned checkpoint key. */
export async function latestCheckpoint(session) {
  const response = await fetch(`${session.baseUrl}/v1/audit/checkpoint`, { cache: "no-store" });
  if (!response.ok) throw new ProtocolError(`the checkpoint could not be fetched (${response.status})`);
  const note = await response.text();
  const checkpoint = await verifyCheckpoint(note, session.broker.checkpoint_vkey, session.broker.origin);
  return { ...checkpoint, note };
}

/** Canonical JSON of an audit entry (docs/protocol.md §10.1): members sorted, no spaces,
 * non-ASCII as itself. Used only where the API hands out decoded entries (search). */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const names = Object.keys(value).sort();
    return `{${names.map((n) => `${JSON.stringify(n)}:${canonicalJson(value[n])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Verify that `leaf` (bytes) is entry `index` of the tree the verified `checkpoint` signs. */
export async function proveInclusion(session, index, leaf, checkpoint) {
  if (index >= checkpoint.size) {
    throw new ProtocolError(`entry ${index} is not yet in the latest checkpoint (size ${checkpoint.size})`);
  }
  const proof = await api(session, "GET", `/v1/audit/proof/inclusion?index=${index}&size=${checkpoint.size}`);
  const hashes = proof.hashes.map((h) => b64decode(h));
  await verifyInclusion(await leafHash(leaf), index, checkpoint.size, hashes, checkpoint.rootHash);
  return true;
}

/** Every audit entry a search returns (following `next`), oldest first. */
export async function searchAll(session, params, maxPages = 20) {
  const entries = [];
  let after = null;
  for (let page = 0; page < maxPages; page += 1) {
    const query = new URLSearchParams({ ...params, limit: "1000" });
    if (after !== null) query.set("after", String(after));
    const answer = await api(session, "GET", `/v1/audit/search?${query}`);
    entries.push(...answer.entries);
    if (answer.next === null || answer.next === undefined) break;
    after = answer.next;
  }
  return entries;
}
