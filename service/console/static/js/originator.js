// Originator: its alerts, their status, the per-partner decisions and redactions, the
// partners' dispositions, purge confirmations with deadlines, withdrawal.
//
// The API has no "list my alerts" endpoint: the console finds the caller's alerts in the
// audit log (GET /v1/audit/search returns the entries naming the caller as actor, here its
// alert.submitted entries) and remembers, for this page, any id typed in by hand.

import { api } from "./protocol.js";
import { actionButton, badge, el, facts, field, notify, replace, section, table } from "./ui.js";
import { searchAll } from "./verify.js";

const ENDED = new Set(["withdrawn", "superseded", "expired", "cancelled", "rejected", "shredded"]);
const typedIds = new Set();

export async function renderOriginator(container, session) {
  const list = el("div", { id: "originator-alerts" });
  const idInput = el("input", { type: "text", id: "originator-alert-id", autocomplete: "off", spellcheck: "false" });
  const add = actionButton("Show", async () => {
    const id = idInput.value.trim().toLowerCase();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new Error("an alert id is a lowercase UUID");
    typedIds.add(id);
    await load(session, list);
  });
  const refresh = actionButton("Refresh", () => load(session, list), { id: "originator-refresh" });
  replace(
    container,
    el("h1", {}, `Originator — ${session.principal.id}`),
    section(
      "Your alerts",
      el("p", { class: "hint" }, "Alerts are found through your alert.submitted entries in the audit log (entries appear there within seconds of submission)."),
      el("div", { class: "toolbar" }, field("Alert id", idInput)[0], add, refresh),
      list,
    ),
  );
  await load(session, list);
}

async function alertIds(session) {
  const entries = await searchAll(session, { event: "alert.submitted" });
  const ids = entries.filter((e) => e.actor === session.principal.id).map((e) => e.alert_id);
  for (const id of typedIds) if (!ids.includes(id)) ids.push(id);
  return ids.reverse(); // newest first
}

async function load(session, list) {
  const ids = await alertIds(session);
  const cards = [];
  for (const id of ids) {
    try {
      cards.push(alertCard(session, await api(session, "GET", `/v1/alerts/${id}`), () => load(session, list)));
    } catch (error) {
      cards.push(el("article", { class: "card", "data-alert": id }, el("h3", {}, el("code", {}, id)), el("p", {}, badge("unavailable", "bad"), ` ${error.message}`)));
    }
  }
  replace(list, cards.length ? el("div", { class: "cards" }, cards) : el("p", { class: "empty" }, "No alert found yet."));
}

function statusBadge(status) {
  const kind = status === "published" ? "ok" : status === "pending_review" ? "warn" : ENDED.has(status) ? "muted" : "info";
  return badge(status, kind);
}

function alertCard(session, view, reload) {
  const decisions = table(
    "Decisions per partner",
    ["Partner", "Decision", "Withheld claims", "Policies"],
    view.decisions.map((d) => [
      d.partner,
      badge(d.decision, d.decision === "received" ? "ok" : "muted"),
      d.redacted.length ? d.redacted.join(", ") : "none",
      d.policies.join(", ") || "—",
    ]),
    { class: "decisions" },
  );
  const dispositions = table(
    "Partners' dispositions",
    ["Partner", "Answer", "Reason", "At"],
    view.dispositions.map((d) => [d.partner, d.status, d.reason, d.at]),
    { class: "dispositions" },
  );
  const children = [
    el("h3", {}, statusBadge(view.status), " ", el("code", {}, view.alert_id)),
    facts([
      ["Kind / category", `${view.kind} / ${view.category}`],
      ["TLP", `TLP:${view.tlp.toUpperCase()}`],
      ["Received", view.received_at],
      ["Expires", view.expires_at],
      ["Status reason", view.status_reason],
    ]),
    decisions,
    dispositions,
  ];
  if (view.purge) {
    const p = view.purge;
    children.push(
      el(
        "div",
        { class: "purge" },
        el("h4", {}, `Purge confirmations — deadline ${p.deadline}`),
        facts([
          ["Confirmed", p.confirmed.join(", ") || "none yet"],
          ["Outstanding", p.outstanding.join(", ") || "none"],
          ["Overdue", p.overdue.length ? el("strong", {}, p.overdue.join(", ")) : "none"],
        ]),
      ),
    );
  }
  if (view.reviews && view.reviews.length) {
    children.push(
      table(
        "Review cases",
        ["Case", "Kind", "Status", "Reason", "Decided by", "Decision reason"],
        view.reviews.map((r) => [String(r.case), r.kind, r.status, r.reason, r.decided_by || "—", r.decision_reason || "—"]),
      ),
    );
  }
  if (view.status === "published" || view.status === "pending_review") children.push(withdrawForm(session, view, reload));
  return el("article", { class: "card", "data-alert": view.alert_id, "data-status": view.status }, ...children);
}

function withdrawForm(session, view, reload) {
  const reason = el("input", { type: "text", maxlength: 500, class: "reason" });
  const button = actionButton(
    "Withdraw",
    async () => {
      if (!reason.value.trim()) throw new Error("give the reason for the withdrawal (partners read it)");
      const answer = await api(session, "POST", `/v1/alerts/${view.alert_id}/withdraw`, { reason: reason.value.trim() });
      notify(`Withdrawn; ${answer.recipients.length} recipient(s) must purge it.`, "ok");
      await reload();
    },
    { class: "danger" },
  );
  return el("div", { class: "actions", role: "group", "aria-label": `Withdraw ${view.alert_id}` }, field("Withdrawal reason", reason)[0], button);
}
