// Desk officer of a partner agency: the feed, decrypted and verified in the browser, withheld
// fields shown as withheld, each item's verification status, dispositions in one click.

import { api } from "./protocol.js";
import { actionButton, badge, describeError, el, facts, field, notify, replace, section, showValue } from "./ui.js";
import { canonicalJson, latestCheckpoint, openAlert, openNotice, proveInclusion, searchAll } from "./verify.js";

const DISPOSITIONS = [
  ["received", "Received", "received by the desk"],
  ["acting", "Acting", "the desk is acting on it"],
  ["declined", "Decline", "declined by the desk"],
  ["challenged", "Challenge", "challenged by the desk"],
  ["purged", "Confirm purged", "deleted from our systems"],
];

// Per principal: the feed cursor and the items already opened (in memory only).
const feeds = new Map();

export async function renderDesk(container, session) {
  if (!feeds.has(session.principal.id)) feeds.set(session.principal.id, { after: null, items: [] });
  const state = feeds.get(session.principal.id);
  const list = el("div", { id: "feed-items", class: "cards" });
  const refresh = actionButton("Fetch new items", async () => {
    const added = await poll(session, state);
    await drawAll(session, state, list);
    notify(added ? `${added} new item(s).` : "No new items.");
  }, { id: "feed-refresh" });
  replace(
    container,
    el("h1", {}, `Desk officer — ${session.principal.id}`),
    section(
      "Feed",
      el("p", {}, "Every item is decrypted and verified in this browser: the originator's signature, the broker's key binding to you, and (on request) the item's inclusion in the audit log."),
      el("div", { class: "toolbar" }, refresh),
      list,
    ),
  );
  if (state.after === null) await poll(session, state);
  await drawAll(session, state, list);
}

/** Poll from the stored cursor; calls are serialised, so two renders never read the same
 * page twice. */
function poll(session, state) {
  const run = (state.queue || Promise.resolve()).then(() => pollNow(session, state));
  state.queue = run.catch(() => undefined);
  return run;
}

async function pollNow(session, state) {
  let added = 0;
  for (let page = 0; page < 20; page += 1) {
    const query = new URLSearchParams({ limit: "100" });
    if (state.after !== null) query.set("after", state.after);
    const answer = await api(session, "GET", `/v1/feed?${query}`);
    for (const item of answer.items) {
      state.items.push(await openItem(session, item));
      added += 1;
    }
    // A page may consume rows without serving them (docs/protocol.md §7.2): stop only when
    // the cursor no longer moves.
    const consumed = answer.next !== state.after;
    state.after = answer.next;
    if (!consumed) break;
  }
  return added;
}

async function openItem(session, item) {
  const opened = { item, error: null, verified: null, notice: null, inclusion: "not checked" };
  try {
    if (item.type === "alert") {
      opened.verified = await openAlert(session, item.envelope, item.cursor);
      if (opened.verified.clear.jti !== item.alert_id) throw new Error("the alert id does not match the feed item");
    } else {
      opened.notice = await openNotice(session, item.envelope);
      if (opened.notice.claims.type !== item.type || opened.notice.claims.alert_id !== item.alert_id) {
        throw new Error("the notice does not match the feed item");
      }
    }
  } catch (error) {
    opened.error = describeError(error);
  }
  return opened;
}

async function drawAll(session, state, list) {
  const views = new Map();
  const cards = [];
  for (const opened of [...state.items].reverse()) {
    const id = opened.item.alert_id;
    if (!views.has(id)) views.set(id, await api(session, "GET", `/v1/alerts/${id}`).catch(() => null));
    cards.push(card(session, opened, views.get(id), () => drawAll(session, state, list)));
  }
  replace(list, cards.length ? cards : el("p", { class: "empty" }, "The feed is empty."));
}

function verificationLine(opened) {
  if (opened.error) return el("p", { class: "verification" }, badge("verification failed", "bad"), " ", opened.error);
  const inclusionKind = opened.inclusion === "included" ? "ok" : opened.inclusion.startsWith("failed") ? "bad" : "muted";
  const parts = opened.verified
    ? [badge("originator signature ✓", "ok"), badge("key binding ✓", "ok")]
    : [badge("broker signature ✓", "ok")];
  return el(
    "p",
    { class: "verification" },
    ...parts.flatMap((b) => [b, " "]),
    badge(`log inclusion: ${opened.inclusion}`, inclusionKind),
  );
}

function card(session, opened, view, redraw) {
  const { item } = opened;
  const mine = view ? (view.decisions || []).find((d) => d.partner === session.principal.id) : null;
  const children = [
    el("h3", {}, `${item.type === "alert" ? "Alert" : `Notice: ${item.type}`} `, el("code", {}, item.alert_id)),
    verificationLine(opened),
  ];
  if (opened.verified) {
    const clear = opened.verified.clear;
    children.push(
      facts([
        ["From", clear.iss],
        ["Kind / category", `${clear.kind} / ${clear.category}`],
        ["TLP", `TLP:${clear.tlp.toUpperCase()}`],
        ["Purpose", clear.purpose],
        ["Status", view ? view.status : "—"],
      ]),
    );
    const content = Object.entries(opened.verified.disclosed).map(([name, value]) => [name, showValue(value)]);
    for (const name of (mine && mine.redacted) || []) {
      content.push([name, el("span", { class: "withheld" }, badge("withheld", "warn"), " not disclosed to your agency by policy")]);
    }
    const undisclosed = opened.verified.undisclosedCount - ((mine && mine.redacted.length) || 0);
    if (undisclosed > 0) content.push(["(other)", `${undisclosed} undisclosed digest(s) (withheld claims or decoys)`]);
    children.push(el("h4", {}, "Content"), facts(content, { class: "facts content" }));
  }
  if (opened.notice) {
    const claims = opened.notice.claims;
    children.push(facts([["Reason", claims.reason], ["At", claims.at]]));
    if (item.type !== "expiry") children.push(el("p", { class: "duty" }, badge("purge required", "warn"), " delete the alert and confirm."));
  }
  if (view && view.dispositions && view.dispositions.length) {
    children.push(
      el("h4", {}, "Your answers"),
      el("ul", { class: "dispositions" }, view.dispositions.map((d) => el("li", {}, `${d.at}: ${d.status} — ${d.reason}`))),
    );
  }
  if (opened.verified || opened.notice) children.push(actions(session, opened, redraw));
  return el("article", { class: "card", "data-alert": item.alert_id, "data-type": item.type, "data-cursor": item.cursor }, ...children);
}

function actions(session, opened, redraw) {
  const { item } = opened;
  const reason = el("input", { type: "text", maxlength: 1000, class: "reason" });
  const [reasonField] = field("Reason (optional for one-click answers)", reason);
  const buttons = DISPOSITIONS.filter(([status]) => (item.type === "alert" ? status !== "purged" : status === "purged")).map(
    ([status, label, fallback]) =>
      actionButton(
        label,
        async () => {
          const answer = await api(session, "POST", `/v1/alerts/${item.alert_id}/dispositions`, {
            status,
            reason: reason.value.trim() || fallback,
          });
          notify(`Recorded "${answer.status}" for ${item.alert_id}.`, "ok");
          await redraw();
        },
        { "data-disposition": status },
      ),
  );
  const check = actionButton("Check log inclusion", async () => {
    opened.inclusion = await inclusion(session, opened);
    await redraw();
  }, { class: "secondary", "data-action": "inclusion" });
  return el("div", { class: "actions", role: "group", "aria-label": `Answer ${item.alert_id}` }, reasonField, el("div", { class: "buttons" }, ...buttons, check));
}

/** Find the alert.disclosed entry of this very plaintext (same digest, same cursor) and verify
 * its inclusion in the latest signed checkpoint. */
async function inclusion(session, opened) {
  const { item } = opened;
  const digest = (opened.verified || opened.notice).digest;
  const entries = await searchAll(session, { alert_id: item.alert_id, event: "alert.disclosed", partner: session.principal.id });
  const entry = entries.find((e) => e.digest === digest && e.cursor === item.cursor);
  if (!entry) return "pending (not yet logged)";
  const checkpoint = await latestCheckpoint(session);
  if (entry.index >= checkpoint.size) return "pending (not yet in a checkpoint)";
  try {
    await proveInclusion(session, entry.index, new TextEncoder().encode(canonicalJson(entry)), checkpoint);
  } catch (error) {
    return `failed: ${describeError(error)}`;
  }
  return "included";
}
