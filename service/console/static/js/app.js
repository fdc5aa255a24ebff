// The console's entry point: sign-in with private JWK files, the session, the view switcher.
//
// Sign-in never sends a key anywhere: the files are read in the browser, imported into
// WebCrypto as non-extractable keys, and the parsed JWKs (with their `d`) are dropped. Every
// API call is then signed in the browser (RFC 9421) by protocol.js, like any other client.

import { api, importEncryptionKey, importPublicKey, importSigningKey } from "./protocol.js";
import * as store from "./store.js";
import { clearErrors, describeError, el, facts, notify, replace } from "./ui.js";
import { renderAuditor } from "./auditor.js";
import { renderDesk } from "./desk.js";
import { renderOriginator } from "./originator.js";
import { renderReviewer } from "./reviewer.js";

const SESSION_TAG = "liaison-console-session";

const VIEWS = [
  { id: "reviewer", label: "Reviewer", role: "reviewer", render: renderReviewer },
  { id: "desk", label: "Desk officer", role: "agency", render: renderDesk },
  { id: "originator", label: "Originator", role: "agency", render: renderOriginator },
  { id: "auditor", label: "Auditor", role: "auditor", render: renderAuditor },
];

let session = null;

async function readJwk(input, what) {
  const file = input.files && input.files[0];
  if (!file) throw new Error(`choose your ${what} key file`);
  let jwk;
  try {
    jwk = JSON.parse(await file.text());
  } catch {
    throw new Error(`${file.name} is not a JSON key file`);
  }
  if (!jwk || typeof jwk !== "object" || typeof jwk.d !== "string") {
    throw new Error(`${file.name} is not a private JWK (it has no "d"): load PREFIX.${what === "signing" ? "sign" : "enc"}.jwk`);
  }
  return jwk;
}

/** Who holds this signing key: the registry entry listing its kid. */
async function identify(partial) {
  const { agencies } = await api(partial, "GET", "/v1/agencies");
  const principal = agencies.find((a) => (a.signing_keys || []).some((k) => k.kid === partial.kid));
  if (!principal) throw new Error("no registered principal holds this signing key");
  return principal;
}

async function brokerIdentity(baseUrl) {
  const response = await fetch(`${baseUrl}/v1/broker`, { cache: "no-store" });
  if (!response.ok) throw new Error(`the broker's identity could not be read (${response.status})`);
  const broker = await response.json();
  // Pin the broker's keys on first use (docs/protocol.md §8.1): a change is refused.
  const pinned = await store.get("trust", `broker ${baseUrl}`);
  if (pinned && (pinned.checkpoint_vkey !== broker.checkpoint_vkey || pinned.kb_key.x !== broker.kb_key.x)) {
    throw new Error("the broker's keys differ from those this browser pinned: refusing to continue");
  }
  if (!pinned) {
    await store.put("trust", `broker ${baseUrl}`, {
      checkpoint_vkey: broker.checkpoint_vkey,
      origin: broker.origin,
      kb_key: { kty: broker.kb_key.kty, crv: broker.kb_key.crv, x: broker.kb_key.x },
    });
  }
  return broker;
}

async function startSession(keys) {
  const baseUrl = window.location.origin;
  const broker = await brokerIdentity(baseUrl);
  const partial = { baseUrl, kid: keys.kid, key: keys.key };
  const principal = await identify(partial);
  const kbKey = await importPublicKey({ kty: broker.kb_key.kty, crv: broker.kb_key.crv, x: broker.kb_key.x });
  return { ...partial, encKeys: keys.encKeys, principal, broker, kbKey };
}

async function signIn(form) {
  const signingInput = form.querySelector("#signing-key");
  const encryptionInput = form.querySelector("#encryption-key");
  const signingJwk = await readJwk(signingInput, "signing");
  const encryptionJwk = encryptionInput.files && encryptionInput.files[0] ? await readJwk(encryptionInput, "encryption") : null;
  const signing = await importSigningKey(signingJwk);
  const encKeys = encryptionJwk ? [await importEncryptionKey(encryptionJwk)] : [];
  // The parsed private members are no longer needed: drop them and clear the pickers.
  delete signingJwk.d;
  if (encryptionJwk) delete encryptionJwk.d;
  signingInput.value = "";
  encryptionInput.value = "";
  const keys = { kid: signing.kid, key: signing.key, encKeys: encKeys.map((k) => ({ kid: k.kid, key: k.key })) };
  session = await startSession(keys);
  if (form.querySelector("#keep-keys").checked) {
    const tag = crypto.randomUUID();
    sessionStorage.setItem(SESSION_TAG, tag);
    await store.put("session", "current", { tag, ...keys });
  }
  showSignedIn();
}

async function restore() {
  const tag = sessionStorage.getItem(SESSION_TAG);
  const saved = await store.get("session", "current").catch(() => undefined);
  if (!saved) return false;
  if (!tag || saved.tag !== tag) {
    // Kept by another tab session that has ended: forget it.
    await store.remove("session", "current");
    return false;
  }
  session = await startSession(saved);
  return true;
}

async function signOut() {
  session = null;
  sessionStorage.removeItem(SESSION_TAG);
  await store.remove("session", "current").catch(() => undefined);
  document.getElementById("identity").replaceChildren();
  document.getElementById("views").replaceChildren();
  replace(document.getElementById("view"));
  document.getElementById("signin").hidden = false;
  document.getElementById("signout").hidden = true;
  notify("Signed out; the keys are forgotten.");
}

function showSignedIn() {
  const principal = session.principal;
  document.getElementById("signin").hidden = true;
  document.getElementById("signout").hidden = false;
  replace(
    document.getElementById("identity"),
    facts([
      ["Signed in as", `${principal.id} (${principal.name})`],
      ["Roles", principal.roles.join(", ")],
      ["Signing key", session.kid],
      ["Decryption", session.encKeys.length ? session.encKeys.map((k) => k.kid).join(", ") : "no encryption key loaded"],
    ]),
  );
  const nav = document.getElementById("views");
  const available = VIEWS.filter((v) => principal.roles.includes(v.role));
  nav.replaceChildren(
    ...available.map((view) =>
      el("button", { type: "button", id: `nav-${view.id}`, "data-view": view.id, "aria-controls": "view", onclick: () => show(view) }, view.label),
    ),
  );
  if (!available.length) {
    notify("This principal has no role the console serves (reviewer, agency or auditor).", "error");
    return;
  }
  const wanted = available.find((v) => `#${v.id}` === window.location.hash) || available[0];
  show(wanted);
}

async function show(view) {
  clearErrors();
  for (const button of document.querySelectorAll("#views button")) {
    button.setAttribute("aria-current", button.dataset.view === view.id ? "page" : "false");
  }
  history.replaceState(null, "", `#${view.id}`);
  const container = document.getElementById("view");
  container.dataset.view = view.id;
  replace(container, el("p", { class: "loading" }, "Loading…"));
  try {
    await view.render(container, session);
  } catch (error) {
    replace(container);
    notify(describeError(error), "error");
  }
  container.focus();
}

function main() {
  const form = document.getElementById("signin-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    clearErrors();
    try {
      await signIn(form);
      notify(`Signed in as ${session.principal.id}.`);
    } catch (error) {
      session = null;
      notify(describeSignInError(error), "error");
    } finally {
      button.disabled = false;
    }
  });
  document.getElementById("signout").addEventListener("click", signOut);
  restore()
    .then((restored) => {
      if (restored) {
        showSignedIn();
        notify(`Session restored for ${session.principal.id}.`);
      }
    })
    .catch((error) => notify(describeSignInError(error), "error"));
}

function describeSignInError(error) {
  // Plain Error messages are the console's own sentences; everything else is mapped.
  if (error && error.constructor === Error) return error.message;
  return describeError(error);
}

main();
