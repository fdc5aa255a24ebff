// Auditor: the log's signed checkpoint, verification in the browser (consistency with the
// last checkpoint this browser saw, kept in IndexedDB; the whole log against the signed root;
// inclusion of any entry), search, a per-alert disclosure timeline, the transparency report.

import { api, b64decode, b64encode, leafHash, ProtocolError, verifyConsistency } from "./protocol.js";
import * as store from "./store.js";
import { actionButton, badge, describeError, el, facts, field, notify, replace, section, svg, table } from "./ui.js";
import { latestCheckpoint, proveInclusion, searchAll } from "./verify.js";

const EVENTS = [
  "", "principal.registered", "key.added", "key.revoked", "policy.loaded", "alert.submitted", "alert.held",
  "alert.decision", "alert.disclosed", "alert.disposition", "alert.withdrawn", "alert.expired", "alert.cancelled",
  "alert.shredded", "review.opened", "review.decision", "review.closed", "review.heightened",
  "protected.registered", "audit.query",
];
const ENTRIES_PER_CALL = 1000;

export async function renderAuditor(container, session) {
  const checkpointPanel = el("div", { id: "checkpoint" });
  replace(
    container,
    el("h1", {}, "Auditor"),
    section("Signed checkpoint", checkpointPanel),
    verifyPanel(session),
    inclusionPanel(session),
    searchPanel(session),
    timelinePanel(session),
    reportPanel(session),
  );
  await showCheckpoint(session, checkpointPanel);
}

// ------------------------------------------------------------------ checkpoint, consistency

function trustKey(session) {
  return `checkpoint ${session.broker.origin} ${session.broker.checkpoint_vkey}`;
}

async function showCheckpoint(session, panel) {
  const checkpoint = await latestCheckpoint(session);
  const trusted = await store.get("trust", trustKey(session));
  let consistency;
  try {
    consistency = await checkConsistency(session, trusted, checkpoint);
  } catch (error) {
    consistency = badge(`FAILED: ${describeError(error)}`, "bad");
  }
  replace(
    panel,
    facts([
      ["Origin", checkpoint.origin],
      ["Log size", String(checkpoint.size)],
      ["Root hash", el("code", {}, b64encode(checkpoint.rootHash))],
      ["Signature", badge("verified with the pinned checkpoint key", "ok")],
      ["Last checkpoint seen here", trusted ? `size ${trusted.size} (${trusted.seen})` : "none (first visit)"],
      ["Consistency", el("span", { id: "consistency-result" }, consistency)],
    ]),
  );
}

/** The log only grew since the checkpoint this browser last trusted: verify the consistency
 * proof, then trust the new checkpoint. A shrunk log or a failed proof throws. */
async function checkConsistency(session, trusted, checkpoint) {
  if (!trusted) {
    await trust(session, checkpoint);
    return badge("nothing to compare yet: this checkpoint is now trusted", "info");
  }
  if (checkpoint.size < trusted.size) {
    throw new ProtocolError(`the log shrank from ${trusted.size} to ${checkpoint.size} entries`);
  }
  const answer = await api(session, "GET", `/v1/audit/proof/consistency?from=${trusted.size}&to=${checkpoint.size}`);
  await verifyConsistency(trusted.size, checkpoint.size, answer.hashes.map((h) => b64decode(h)), b64decode(trusted.root), checkpoint.rootHash);
  await trust(session, checkpoint);
  return badge(`consistent with size ${trusted.size}`, "ok");
}

function trust(session, checkpoint) {
  return store.put("trust", trustKey(session), {
    size: checkpoint.size,
    root: b64encode(checkpoint.rootHash),
    seen: new Date().toISOString(),
  });
}

// ------------------------------------------------------------------ whole-log verification

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

async function nodeHash(left, right) {
  const data = new Uint8Array(1 + left.length + right.length);
  data[0] = 1;
  data.set(left, 1);
  data.set(right, 1 + left.length);
  return sha256(data);
}

/** RFC 9162 §2.1.1 Merkle Tree Hash over leaf hashes [lo, hi). */
async function treeHash(hashes, lo, hi) {
  if (hi - lo === 0) return sha256(new Uint8Array(0));
  if (hi - lo === 1) return hashes[lo];
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return nodeHash(await treeHash(hashes, lo, lo + k), await treeHash(hashes, lo + k, hi));
}

function equal(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** docs/protocol.md §10.6: every entry, each a JSON object with its own index, hashed as
 * served; the recomputed root must be the signed one. */
async function verifyWholeLog(session, progress) {
  const checkpoint = await latestCheckpoint(session);
  const trusted = await store.get("trust", trustKey(session));
  await checkConsistency(session, trusted, checkpoint);
  const hashes = [];
  for (let start = 0; start < checkpoint.size; start += ENTRIES_PER_CALL) {
    const end = Math.min(start + ENTRIES_PER_CALL, checkpoint.size);
    const { entries } = await api(session, "GET", `/v1/audit/entries?start=${start}&end=${end}`);
    if (entries.length !== end - start) throw new ProtocolError(`entries ${start}..${end} came back incomplete`);
    for (const [offset, encoded] of entries.entries()) {
      const leaf = b64decode(encoded);
      let entry;
      try {
        entry = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(leaf));
      } catch {
        throw new ProtocolError(`entry ${start + offset} is not JSON`);
      }
      if (!entry || entry.index !== start + offset) throw new ProtocolError(`entry ${start + offset} carries index ${entry && entry.index}`);
      hashes.push(await leafHash(leaf));
    }
    progress(`${end} of ${checkpoint.size} entries hashed…`);
  }
  const root = await treeHash(hashes, 0, hashes.length);
  if (!equal(root, checkpoint.rootHash)) {
    throw new ProtocolError(`the entries do not hash to the signed root of size ${checkpoint.size}: the log was altered`);
  }
  return checkpoint;
}

function verifyPanel(session) {
  const result = el("div", { id: "verify-result", role: "status" });
  const button = actionButton(
    "Verify the whole log",
    async () => {
      replace(result, "Verifying…");
      result.dataset.result = "running";
      try {
        const checkpoint = await verifyWholeLog(session, (text) => replace(result, text));
        result.dataset.result = "ok";
        replace(result, badge("verified", "ok"), ` all ${checkpoint.size} entries hash to the signed root; the log is consistent with the last checkpoint seen.`);
      } catch (error) {
        result.dataset.result = "failed";
        replace(result, badge("FAILED", "bad"), ` ${describeError(error)}`);
      }
    },
    { id: "verify-log" },
  );
  return section("Verify the log", el("p", {}, "Downloads every entry and recomputes the Merkle root in this browser."), button, result);
}

// ------------------------------------------------------------------ inclusion of one entry

function inclusionPanel(session) {
  const index = el("input", { type: "number", min: 0, step: 1, id: "inclusion-index" });
  const result = el("div", { id: "inclusion-result", role: "status" });
  const button = actionButton("Verify inclusion", async () => {
    const i = Number(index.value);
    if (!Number.isInteger(i) || i < 0) throw new Error("give an entry index (0, 1, 2, …)");
    const checkpoint = await latestCheckpoint(session);
    const { entries } = await api(session, "GET", `/v1/audit/entries?start=${i}&end=${i + 1}`);
    if (!entries.length) throw new Error(`there is no entry ${i} yet`);
    const leaf = b64decode(entries[0]);
    try {
      await proveInclusion(session, i, leaf, checkpoint);
      replace(result, badge("included", "ok"), ` in the signed tree of size ${checkpoint.size}`, el("pre", { class: "json" }, new TextDecoder().decode(leaf)));
    } catch (error) {
      replace(result, badge("FAILED", "bad"), ` ${describeError(error)}`);
    }
  });
  return section("Inclusion of an entry", field("Entry index", index)[0], button, result);
}

// ------------------------------------------------------------------ search and timeline

function rfc3339(localValue) {
  return localValue ? new Date(localValue).toISOString() : "";
}

function entryRow(entry) {
  const { index, time, event, actor, ...rest } = entry;
  return [String(index), time, el("code", {}, event), actor, el("code", { class: "members" }, JSON.stringify(rest))];
}

function searchPanel(session) {
  const alertId = el("input", { type: "text", id: "search-alert", autocomplete: "off" });
  const partner = el("input", { type: "text", id: "search-partner", autocomplete: "off" });
  const event = el("select", { id: "search-event" }, EVENTS.map((e) => el("option", { value: e }, e || "any event")));
  const since = el("input", { type: "datetime-local", id: "search-since" });
  const until = el("input", { type: "datetime-local", id: "search-until" });
  const results = el("div", { id: "search-results" });
  let after = null;
  const run = async (fromStart) => {
    if (fromStart) after = null;
    const query = new URLSearchParams({ limit: "100" });
    for (const [name, value] of [["alert_id", alertId.value.trim()], ["partner", partner.value.trim()], ["event", event.value], ["since", rfc3339(since.value)], ["until", rfc3339(until.value)]]) {
      if (value) query.set(name, value);
    }
    if (after !== null) query.set("after", String(after));
    const answer = await api(session, "GET", `/v1/audit/search?${query}`);
    after = answer.next;
    replace(
      results,
      table(`${answer.entries.length} entries${answer.next !== null ? " (more follow)" : ""}`, ["Index", "Time", "Event", "Actor", "Members"], answer.entries.map(entryRow)),
      answer.next !== null ? actionButton("Next page", () => run(false)) : null,
    );
  };
  return section(
    "Search the log",
    el(
      "div",
      { class: "grid" },
      field("Alert id", alertId)[0],
      field("Partner", partner)[0],
      field("Event", event)[0],
      field("Since (your local time)", since)[0],
      field("Until", until)[0],
    ),
    actionButton("Search", () => run(true), { id: "search-run" }),
    results,
  );
}

function describeEntry(entry) {
  switch (entry.event) {
    case "alert.submitted": return `submitted by ${entry.actor} (${entry.kind}, TLP:${entry.tlp})`;
    case "alert.held": return `held: ${(entry.policies || []).join(", ")}`;
    case "alert.decision": return `${entry.partner}: ${entry.decision}${entry.redacted && entry.redacted.length ? `, withheld ${entry.redacted.join(", ")}` : ""}`;
    case "alert.disclosed": return `disclosed to ${entry.partner} (${entry.item}, cursor ${entry.cursor}, sha-256 ${String(entry.digest).slice(0, 12)}…)`;
    case "alert.disposition": return `${entry.partner} answered ${entry.status}: ${entry.reason}`;
    case "review.decision": return `reviewer ${entry.actor}: ${entry.decision} — ${entry.reason}`;
    case "alert.withdrawn": return `withdrawn by ${entry.actor}: ${entry.reason}`;
    default: return `${entry.event} by ${entry.actor}`;
  }
}

function timelinePanel(session) {
  const alertId = el("input", { type: "text", id: "timeline-alert", autocomplete: "off" });
  const results = el("div", { id: "timeline" });
  const button = actionButton("Show timeline", async () => {
    const id = alertId.value.trim();
    if (!id) throw new Error("give an alert id");
    const entries = await searchAll(session, { alert_id: id });
    const disclosures = entries.filter((e) => e.event === "alert.disclosed").length;
    replace(
      results,
      el("p", {}, `${entries.length} entries, ${disclosures} disclosure(s).`),
      el(
        "ol",
        { class: "timeline" },
        entries.map((e) => el("li", { class: e.event === "alert.disclosed" ? "disclosure" : "" }, el("time", {}, e.time), " ", el("strong", {}, e.event), " — ", describeEntry(e), ` (#${e.index})`)),
      ),
    );
  }, { id: "timeline-run" });
  return section("Disclosure timeline of an alert", field("Alert id", alertId)[0], button, results);
}

// ------------------------------------------------------------------ transparency report

/** A horizontal bar chart drawn as inline SVG (colours come from console.css). */
export function barChart(title, data) {
  const entries = Object.entries(data).filter(([, v]) => typeof v === "number");
  const rowHeight = 26;
  const labelWidth = 230;
  const width = 640;
  const height = Math.max(1, entries.length) * rowHeight + 10;
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const titleId = `chart-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": titleId, class: "chart" },
    svg("title", { id: titleId }, `${title}: ${entries.map(([k, v]) => `${k} ${v}`).join(", ") || "no data"}`),
  );
  entries.forEach(([label, value], i) => {
    const y = 5 + i * rowHeight;
    const barWidth = Math.round(((width - labelWidth - 60) * value) / max);
    chart.append(
      svg("text", { x: labelWidth - 8, y: y + 17, "text-anchor": "end", class: "chart-label" }, label),
      svg("rect", { x: labelWidth, y: y + 3, width: Math.max(barWidth, value ? 2 : 0), height: rowHeight - 8, class: "chart-bar" }),
      svg("text", { x: labelWidth + barWidth + 6, y: y + 17, class: "chart-value" }, String(value)),
    );
  });
  if (!entries.length) chart.append(svg("text", { x: 10, y: 20, class: "chart-label" }, "no data"));
  return el("figure", { class: "chart-figure" }, chart, el("figcaption", {}, title));
}

function reportPanel(session) {
  const now = new Date();
  const yearAgo = new Date(now.getTime() - 365 * 86400 * 1000);
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const from = el("input", { type: "datetime-local", id: "report-from", value: local(yearAgo) });
  const to = el("input", { type: "datetime-local", id: "report-to", value: local(new Date(now.getTime() + 3600 * 1000)) });
  const results = el("div", { id: "report" });
  const button = actionButton("Build the report", async () => {
    const query = new URLSearchParams({ from: rfc3339(from.value), to: rfc3339(to.value) });
    const report = await api(session, "GET", `/v1/transparency?${query}`);
    const submittedByKind = Object.fromEntries(Object.entries(report.by_kind).map(([k, v]) => [k, v.submitted || 0]));
    replace(
      results,
      facts([["Period", `${report.from} – ${report.to}`], ["Log size", String(report.log_size)]]),
      el("div", { class: "charts" }, barChart("Outcomes", report.outcomes), barChart("Submitted by kind", submittedByKind), barChart("Held by screening policy", report.held_by_policy)),
      table("Overdue purges", ["Alert", "Partner", "Deadline"], report.purge_overdue.map((p) => [p.alert_id, p.partner, p.deadline])),
    );
    notify("Transparency report built from the audit log.");
  }, { id: "report-run" });
  return section("Transparency report", el("div", { class: "grid" }, field("From", from)[0], field("To", to)[0]), button, results);
}
