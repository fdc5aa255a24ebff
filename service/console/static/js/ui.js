// DOM helpers and error wording shared by every view.
//
// Nothing here uses innerHTML: every value from the server or from an alert is inserted as
// text, so alert content can never become markup (and the CSP forbids inline script anyway).

import { ProblemError, ProtocolError } from "./protocol.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** Create an element: `attrs` are attributes (`class`, `for`, `aria-*`…) except `on*`
 * functions, which become listeners; children are nodes or strings (inserted as text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

/** The same for SVG elements (charts). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

function setAttributes(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace a container's children. */
export function replace(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

/** A table with a caption; `rows` are arrays of cells (nodes or text). */
export function table(caption, headers, rows, attrs = {}) {
  return el(
    "table",
    attrs,
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el(
      "tbody",
      {},
      rows.length
        ? rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))
        : el("tr", {}, el("td", { colspan: headers.length, class: "empty" }, "Nothing to show.")),
    ),
  );
}

/** A definition list from [term, value] pairs. */
export function facts(pairs, attrs = {}) {
  return el(
    "dl",
    { class: "facts", ...attrs },
    pairs.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value ?? "—")]),
  );
}

/** A small coloured label: kind is one of ok, bad, warn, info, muted. */
export function badge(text, kind = "info") {
  return el("span", { class: `badge badge-${kind}` }, text);
}

/** A labelled form control; returns [wrapper, control]. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  const wrapper = el("div", { class: "field" }, el("label", { for: id }, label), control);
  if (hint) {
    const hintId = `${id}-hint`;
    wrapper.append(el("p", { class: "hint", id: hintId }, hint));
    control.setAttribute("aria-describedby", hintId);
  }
  return [wrapper, control];
}

/** Show a message in the page's live region (`role=status` or `role=alert`). */
export function notify(message, kind = "info") {
  const region = document.getElementById(kind === "error" ? "errors" : "status");
  if (!region) return;
  replace(region, el("p", { class: `message message-${kind}` }, message));
}

export function clearErrors() {
  const region = document.getElementById("errors");
  if (region) region.replaceChildren();
}

// What a person at the desk should read for each problem type (docs/protocol.md §11).
const PROBLEM_WORDING = {
  "key-not-valid": "Your signing key is expired, not yet valid or revoked. Load a current key (ask your administrator to rotate it).",
  "unknown-key": "The server does not know this signing key. Check that you loaded your agency's current key file.",
  "stale-signature": "The server refused the signature as stale: this computer's clock differs from the server's by more than five minutes.",
  "invalid-signature": "The server refused the request signature.",
  "replayed-request": "The server refused a replayed request; try again.",
  "digest-mismatch": "The server refused the request body (its digest did not match).",
  "unsigned-request": "The request was not signed; sign in again.",
  "missing-component": "The server refused the request signature (a component was not covered).",
  "unsupported-algorithm": "The server refused the signature algorithm.",
  "wrong-authority": "The server does not answer to this address; open the console at the broker's public URL.",
  "authentication-failed": "Authentication failed.",
  forbidden: "You are not allowed to do this (your role or relationship to the alert does not permit it).",
  "not-found": "Not found, or not visible to you.",
  conflict: "The alert or case is no longer in a state that allows this (someone may have acted first). Reload and try again.",
  "validation-failed": "The request was refused as invalid.",
  "invalid-input": "The request was refused as invalid.",
  "malformed-body": "The request could not be parsed by the server.",
  "payload-too-large": "The request is too large.",
  "not-ready": "The server is not ready (database, keys or first checkpoint missing). Try again shortly.",
  "internal-error": "The server failed unexpectedly.",
};

/** A problem type's short name (`urn:liaison:problem:forbidden` → `forbidden`). */
export function problemType(problem) {
  const type = (problem && problem.type) || "";
  return type.startsWith("urn:liaison:problem:") ? type.slice("urn:liaison:problem:".length) : type;
}

/** Plain words for any error a view may meet: a problem answer, a failed verification, an
 * unreachable server, or a bug. */
export function describeError(error) {
  if (error instanceof ProblemError) {
    const problem = error.problem || {};
    const name = problemType(problem);
    let text = PROBLEM_WORDING[name] || `The server answered ${error.status}.`;
    if (problem.detail && problem.detail !== "see errors") text += ` (${problem.detail})`;
    if (Array.isArray(problem.errors)) {
      text += " " + problem.errors.map((e) => `${(e.location || []).join(".")}: ${e.message}`).join("; ");
    }
    return `${text} [${name || error.status}]`;
  }
  if (error instanceof ProtocolError) {
    return `Verification failed: ${error.message}`;
  }
  if (error instanceof TypeError && /fetch|network|Failed/i.test(error.message)) {
    return "The server is unreachable. Check the network connection and that the broker is running.";
  }
  if (error && error.name === "DataError") {
    return "This key file could not be imported (not an Ed25519 or X25519 private JWK).";
  }
  if (error && error.constructor === Error) return error.message; // the console's own words
  return `Unexpected error: ${error && error.message ? error.message : String(error)}`;
}

/** Run an async action from a button: disable it while running, report errors. */
export async function guarded(button, action) {
  if (button) button.disabled = true;
  clearErrors();
  try {
    return await action();
  } catch (error) {
    notify(describeError(error), "error");
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** A button that runs `action` guarded. */
export function actionButton(label, action, attrs = {}) {
  const button = el("button", { type: "button", ...attrs }, label);
  button.addEventListener("click", () => guarded(button, action));
  return button;
}

/** Decode a compact JWS/JWT segment (base64url JSON), for display only (not trusted). */
export function decodeSegment(segment) {
  const padded = segment.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** A claim value for display: strings as they are, anything else as indented JSON. */
export function showValue(value) {
  if (typeof value === "string") return value;
  return el("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

/** Lowercase hex of bytes. */
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of bytes as lowercase hex. */
export async function sha256Hex(bytes) {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** A heading for a view section. */
export function section(title, ...children) {
  const id = `h-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return el("section", { class: "panel", "aria-labelledby": id }, el("h2", { id }, title), ...children);
}
