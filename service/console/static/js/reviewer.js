// Reviewer: the queue of held alerts and open challenges, the decrypted alert, decisions,
// heightened review (docs/protocol.md §9.1).

import { api } from "./protocol.js";
import { actionButton, badge, el, facts, field, notify, replace, section, showValue, table } from "./ui.js";
import { openAlert } from "./verify.js";

const REGISTER_HOLD = "protected-subject-register";
const STATUSES = ["pending", "approved", "rejected", "upheld", "cancelled"];

let policyDescriptions = null;

async function describePolicies(session) {
  if (policyDescriptions === null) {
    const { policies } = await api(session, "GET", "/v1/policy");
    policyDescriptions = new Map(policies.map((p) => [p.annotations.id || p.id, p.annotations.description || ""]));
  }
  return policyDescriptions;
}

/** Why a case is held: the screening policies (with their descriptions) and, for a
 * protected-subject match, the register entry. */
function whyHeld(item, descriptions) {
  const [policyPart, ...rest] = item.reason.split("; ");
  const policies = item.kind === "screening" ? policyPart.split(", ").filter(Boolean) : [];
  const list = el("ul", { class: "reasons" });
  if (item.kind === "challenge") {
    list.append(el("li", {}, badge("challenge", "warn"), ` by ${item.opened_by}: ${item.reason}`));
  }
  for (const id of policies) {
    if (id === REGISTER_HOLD) {
      list.append(el("li", {}, badge("protected-subject match", "bad"), " ", rest.join("; ")));
    } else {
      list.append(el("li", {}, el("code", {}, id), descriptions.get(id) ? ` — ${descriptions.get(id)}` : ""));
    }
  }
  return list;
}

export async function renderReviewer(container, session) {
  const detail = el("div", { id: "review-detail", "aria-live": "polite" });
  const queue = el("div", { id: "review-queue" });
  const statusSelect = el("select", { id: "review-status" }, STATUSES.map((s) => el("option", { value: s }, s)));
  const [statusField] = field("Cases", statusSelect);
  const refresh = actionButton("Refresh", () => loadQueue(session, queue, detail, statusSelect.value), { id: "review-refresh" });
  statusSelect.addEventListener("change", () => refresh.click());
  replace(
    container,
    el("h1", {}, "Reviewer"),
    section("Review queue", el("div", { class: "toolbar" }, statusField, refresh), queue),
    detail,
    heightenedPanel(session),
  );
  await loadQueue(session, queue, detail, "pending");
}

async function loadQueue(session, queue, detail, status) {
  const descriptions = await describePolicies(session);
  const { reviews } = await api(session, "GET", `/v1/reviews?status=${encodeURIComponent(status)}`);
  const rows = reviews.map((item) => [
    el("code", {}, item.alert_id),
    item.kind,
    `${item.alert_kind} / ${item.category}`,
    `TLP:${item.tlp.toUpperCase()}`,
    item.originator,
    whyHeld(item, descriptions),
    item.opened_at,
    actionButton("Open", () => openCase(session, item, detail, () => loadQueue(session, queue, detail, status)), {
      "data-alert": item.alert_id,
      "aria-label": `Open the alert ${item.alert_id}`,
    }),
  ]);
  replace(
    queue,
    table(`${reviews.length} ${status} case(s)`, ["Alert", "Case", "Kind", "TLP", "Originator", "Why", "Opened", ""], rows, {
      id: "review-table",
    }),
  );
}

async function openCase(session, item, detail, reload) {
  const copy = await api(session, "GET", `/v1/reviews/${item.alert_id}`);
  const verified = await openAlert(session, copy.envelope, copy.nonce);
  const clear = verified.clear;
  const content = Object.entries(verified.disclosed).map(([name, value]) => [name, showValue(value)]);
  replace(
    detail,
    section(
      `Alert ${item.alert_id}`,
      el("p", {}, badge("originator signature verified", "ok"), " ", badge("key binding verified", "ok")),
      facts([
        ["Originator", clear.iss],
        ["Kind / category", `${clear.kind} / ${clear.category}`],
        ["TLP", clear.tlp],
        ["Purpose", clear.purpose],
        ["Legal basis", clear.legal_basis],
        ["Audience", JSON.stringify(clear.audience)],
        ["Case", `${copy.case.kind} #${copy.case.case} (${copy.case.status})`],
      ]),
      el("h3", {}, "Content"),
      facts(content, { id: "review-content" }),
      item.status === "open" ? decisionForm(session, item, reload) : el("p", {}, `Decided: ${item.status} by ${item.decided_by}`),
    ),
  );
}

function decisionForm(session, item, reload) {
  const verdicts = item.kind === "screening" ? ["approve", "reject"] : ["uphold", "cancel"];
  const verdict = el("select", { id: "verdict" }, verdicts.map((v) => el("option", { value: v }, v)));
  const reason = el("textarea", { id: "decision-reason", rows: 2, maxlength: 1000, required: true });
  const grounds = el("input", { type: "checkbox", id: "neutrality" });
  const children = [field("Decision", verdict)[0], field("Reason (recorded in the audit log)", reason)[0]];
  if (item.kind === "challenge") {
    children.push(
      el(
        "div",
        { class: "field checkbox" },
        grounds,
        el("label", { for: "neutrality" }, "Grounds: neutrality (cancel only; registers the subject as protected)"),
      ),
    );
  }
  const submit = actionButton(
    "Record decision",
    async () => {
      if (!reason.value.trim()) throw new Error("give a reason");
      const body = { decision: verdict.value, reason: reason.value.trim() };
      if (grounds.checked && verdict.value === "cancel") body.grounds = "neutrality";
      const decided = await api(session, "POST", `/v1/reviews/${item.alert_id}`, body);
      notify(`Case ${decided.case}: ${decided.status}; the alert is now ${decided.alert_status}.`, "ok");
      await reload();
    },
    { id: "decide" },
  );
  return el("div", { class: "form", role: "group", "aria-label": "Decision" }, el("h3", {}, "Decision"), ...children, submit);
}

function heightenedPanel(session) {
  const agency = el("input", { type: "text", id: "heightened-agency", pattern: "[a-z0-9][a-z0-9.-]{1,62}", autocomplete: "off" });
  const active = el("input", { type: "checkbox", id: "heightened-active", checked: true });
  const reason = el("textarea", { id: "heightened-reason", rows: 2, maxlength: 1000 });
  const submit = actionButton("Apply", async () => {
    const answer = await api(session, "POST", `/v1/reviews/heightened/${encodeURIComponent(agency.value.trim())}`, {
      active: active.checked,
      reason: reason.value.trim(),
    });
    notify(
      answer.heightened_review
        ? `Heightened review is active for ${answer.agency} since ${answer.since}: every alert of it is held.`
        : `Heightened review ended for ${answer.agency}.`,
      "ok",
    );
  });
  return section(
    "Heightened review",
    el("p", {}, "While active, every alert of the agency is held for review."),
    field("Agency id", agency)[0],
    el("div", { class: "field checkbox" }, active, el("label", { for: "heightened-active" }, "Active")),
    field("Reason", reason)[0],
    submit,
  );
}
