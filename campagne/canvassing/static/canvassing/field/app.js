// The field app: my sessions, a session's addresses (list and map), a door's outcome and
// optional questions, the session report. Works offline: the service worker serves this
// page, the bundle is kept in IndexedDB, and every door is queued there with a uuid made
// here, then sent when the network is back (see sync.js).
//
// Routes (after #): "/" my sessions, "/s/<id>" a session, "/s/<id>/a/<address>" a door,
// "/s/<id>/r" the report.

const read = (id) => JSON.parse(document.getElementById(id).textContent);
const ASSETS = read("field-assets");
const T = read("field-strings");
const CONFIG = read("field-config");

const store = await import(ASSETS.store);
const sync = await import(ASSETS.sync);
const mapping = await import(ASSETS.map);

const main = document.getElementById("field-main");
const pendingButton = document.getElementById("field-pending");
const network = document.getElementById("field-network");
const toast = document.getElementById("field-toast");

let bundle = null;
let loginNeeded = false;
let localDoors = new Map(); // "session|address|door" -> outcome, recorded on this phone
let fix = null; // the last GPS position: {lat, lon, accuracy, at}
let watching = false;
let map = null;

// --- small DOM helper: text is always text, never HTML --------------------------------
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function format(text, values) {
  return text.replace(/%\((\w+)\)s/g, (_m, name) => String(values[name] ?? ""));
}

function say(message) {
  toast.textContent = message;
  toast.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { toast.hidden = true; }, 2500);
}

// --- data -------------------------------------------------------------------------------
async function loadBundle() {
  try {
    const response = await fetch(CONFIG.bundle, { credentials: "same-origin" });
    const type = response.headers.get("Content-Type") || "";
    if (response.ok && type.includes("application/json")) {
      bundle = await response.json();
      await store.put("kv", { key: "bundle", value: bundle });
      loginNeeded = false;
      return;
    }
    if (response.redirected || response.status === 401 || response.status === 403) loginNeeded = true;
  } catch (error) {
    // Offline: the last copy below.
  }
  const saved = await store.get("kv", "bundle");
  bundle = saved ? saved.value : null;
}

async function loadLocalDoors() {
  localDoors = new Map();
  if (!bundle) return;
  const doors = (await store.all("doors")).filter((d) => d.user === bundle.user);
  doors.sort((a, b) => (a.recorded_at < b.recorded_at ? -1 : 1));
  for (const d of doors) localDoors.set(`${d.session_id}|${d.address_id}|${d.door || ""}`, d.outcome);
}

function outcomeLabel(value) {
  const found = bundle.outcomes.find((o) => o.value === value);
  return found ? found.label : value;
}

// Doors recorded at an address (server's and this phone's), as {door: outcome}.
function doorsAt(session, addressId) {
  const found = {};
  for (const [key, outcome] of Object.entries(session.done || {})) {
    const [address, door] = key.split("|");
    if (Number(address) === addressId) found[door] = outcome;
  }
  for (const [key, outcome] of localDoors) {
    const [sessionId, address, door] = key.split("|");
    if (Number(sessionId) === session.id && Number(address) === addressId) found[door] = outcome;
  }
  return found;
}

function isDone(session, stop) {
  return Object.keys(doorsAt(session, stop.address_id)).length >= Math.max(1, stop.doors);
}

function sessionById(id) {
  return bundle && bundle.sessions.find((s) => s.id === id);
}

// --- the counter and sync ---------------------------------------------------------------
async function refreshCounter(outcome) {
  const user = bundle ? bundle.user : null;
  const count = user == null ? 0 : await sync.pending(store, user);
  let text = count === 0 ? T.all_sent : count === 1 ? T.pending_one : format(T.pending_many, { count });
  if (outcome && outcome.refused) text += " · " + format(T.refused_many, { count: outcome.refused });
  pendingButton.textContent = text;
  pendingButton.dataset.pending = String(count);
  pendingButton.classList.toggle("has-pending", count > 0);
  network.textContent = navigator.onLine ? T.online : T.offline;
  network.classList.toggle("is-offline", !navigator.onLine);
  if (loginNeeded || (outcome && outcome.stopped === "login")) say(T.login_needed);
}

async function trySync() {
  if (!bundle || !navigator.onLine) return refreshCounter();
  const outcome = await sync.flush(store, CONFIG, bundle.user);
  if (outcome.sent && !outcome.stopped) {
    // What the server now holds shows as done on the other phones of this volunteer.
    await loadBundle();
  }
  await refreshCounter(outcome);
}

// --- GPS --------------------------------------------------------------------------------
function watchPosition() {
  if (watching || !("geolocation" in navigator)) return;
  watching = true;
  navigator.geolocation.watchPosition(
    (position) => {
      fix = {
        lat: position.coords.latitude,
        lon: position.coords.longitude,
        accuracy: position.coords.accuracy,
        at: Date.now(),
      };
    },
    () => { fix = null; },
    { enableHighAccuracy: true, maximumAge: 30000, timeout: 20000 }
  );
}

// --- views ------------------------------------------------------------------------------
function render() {
  if (map) { map.remove(); map = null; }
  main.replaceChildren();
  if (!bundle) {
    main.append(h("p", { class: "field-empty" }, loginNeeded ? T.login_needed : T.no_bundle));
    return;
  }
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const session = parts[0] === "s" ? sessionById(Number(parts[1])) : null;
  if (session && parts[2] === "a") return renderDoor(session, Number(parts[3]));
  if (session && parts[2] === "r") return renderReport(session);
  if (session) return renderSession(session);
  renderSessions();
}

function renderSessions() {
  main.append(h("h1", {}, T.sessions));
  if (!bundle.sessions.length) {
    main.append(h("p", { class: "field-empty" }, T.no_sessions));
    return;
  }
  const list = h("ul", { class: "field-cards" });
  for (const session of bundle.sessions) {
    const done = session.stops.filter((stop) => isDone(session, stop)).length;
    const when = new Date(session.starts_at).toLocaleString(document.documentElement.lang, {
      weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit",
    });
    list.append(h("li", {},
      h("a", { class: "field-card", href: `#/s/${session.id}` },
        h("strong", {}, `${session.campaign} · ${session.turf}`),
        h("span", {}, when),
        session.meeting ? h("span", {}, `${T.meeting} : ${session.meeting}`) : null,
        h("span", { class: "field-progress" }, `${done} / ${session.stops.length} ${T.done}`))));
  }
  main.append(list);
}

function renderSession(session) {
  watchPosition();
  main.append(
    h("p", {}, h("a", { class: "field-back", href: "#/" }, `← ${T.sessions}`)),
    h("h1", {}, `${session.turf}`),
    h("p", { class: "field-sub" }, session.campaign, session.meeting ? ` · ${T.meeting} : ${session.meeting}` : ""));
  if (session.script) {
    main.append(h("details", { class: "field-script" },
      h("summary", {}, T.script), h("p", { class: "field-script-text" }, session.script)));
  }
  const mapBox = h("div", { class: "field-map", role: "region", "aria-label": T.map });
  main.append(mapBox);
  const list = h("ol", { class: "field-stops", "aria-label": T.addresses });
  for (const stop of session.stops) {
    const recorded = doorsAt(session, stop.address_id);
    const outcomes = Object.values(recorded).map(outcomeLabel);
    list.append(h("li", {},
      h("a", {
        class: "field-stop" + (isDone(session, stop) ? " is-done" : ""),
        href: `#/s/${session.id}/a/${stop.address_id}`,
      },
      h("span", { class: "field-stop-label" }, stop.label),
      stop.doors > 1 ? h("span", {}, `${Object.keys(recorded).length} / ${stop.doors} ${T.doors}`) : null,
      outcomes.length ? h("span", { class: "field-stop-outcome" }, outcomes.join(", ")) : null)));
  }
  main.append(list,
    h("p", {}, h("a", { class: "field-button field-secondary", href: `#/s/${session.id}/r` }, T.report)));
  requestAnimationFrame(() => {
    map = mapping.drawTurf(mapBox, CONFIG, session, (stop) => isDone(session, stop),
      (stop) => { location.hash = `#/s/${session.id}/a/${stop.address_id}`; });
  });
}

function questionField(question) {
  const name = `q-${question.key}`;
  const legend = h("legend", {}, question.label || question.key);
  if (question.kind === "text") {
    return h("label", { class: "field-label" }, question.label || question.key,
      h("input", { type: "text", name, "data-question": question.key, "data-kind": "text" }));
  }
  const choices = question.kind === "scale" ? ["1", "2", "3", "4", "5"] : question.choices || [];
  const type = question.kind === "multi" ? "checkbox" : "radio";
  return h("fieldset", { class: "field-choices" }, legend,
    choices.map((choice) => h("label", { class: "field-choice" },
      h("input", { type, name, value: choice, "data-question": question.key, "data-kind": question.kind }),
      choice)));
}

function collectAnswers(form) {
  const answers = {};
  for (const input of form.querySelectorAll("[data-question]")) {
    const key = input.dataset.question;
    if (input.type === "text") {
      if (input.value.trim()) answers[key] = input.value.trim();
    } else if (input.checked) {
      if (input.dataset.kind === "multi") (answers[key] = answers[key] || []).push(input.value);
      else answers[key] = input.value;
    }
  }
  return answers;
}

function nextStop(session, address) {
  const index = session.stops.findIndex((stop) => stop.address_id === address);
  const after = session.stops.slice(index + 1).concat(session.stops.slice(0, index));
  return after.find((stop) => !isDone(session, stop));
}

function renderDoor(session, addressId) {
  watchPosition();
  const stop = session.stops.find((s) => s.address_id === addressId);
  if (!stop) { location.hash = `#/s/${session.id}`; return; }
  const opinion = h("input", { type: "checkbox", name: "opinion_consent" });
  const opinionFields = h("fieldset", { class: "field-opinions", disabled: true },
    h("fieldset", { class: "field-choices" }, h("legend", {}, T.support),
      ["1", "2", "3", "4", "5"].map((value) => h("label", { class: "field-choice" },
        h("input", { type: "radio", name: "support", value }), value))),
    (session.questionnaire || []).map(questionField));
  opinion.addEventListener("change", () => { opinionFields.disabled = !opinion.checked; });
  const wantsContact = h("input", { type: "checkbox", name: "wants_contact" });
  const contactFields = h("fieldset", { class: "field-contact", hidden: true },
    h("label", { class: "field-label" }, T.first_name, h("input", { name: "first_name", autocomplete: "off" })),
    h("label", { class: "field-label" }, T.last_name, h("input", { name: "last_name", autocomplete: "off" })),
    h("label", { class: "field-label" }, T.email, h("input", { name: "email", type: "email", autocomplete: "off" })),
    h("label", { class: "field-label" }, T.phone, h("input", { name: "phone", type: "tel", autocomplete: "off" })),
    h("p", { class: "field-consent-text" }, T.consent_text),
    h("label", { class: "field-check" }, h("input", { type: "checkbox", name: "consent_read" }), T.consent_read));
  wantsContact.addEventListener("change", () => { contactFields.hidden = !wantsContact.checked; });
  const questions = h("details", { class: "field-questions" },
    h("summary", {}, T.questions),
    h("label", { class: "field-check" }, opinion, T.opinion_consent),
    opinionFields,
    h("label", { class: "field-check" }, h("input", { type: "checkbox", name: "wants_to_volunteer" }), T.wants_to_volunteer),
    h("label", { class: "field-check" }, wantsContact, T.wants_contact),
    contactFields,
    h("label", { class: "field-label" }, T.notes, h("textarea", { name: "notes", rows: 3, maxlength: 2000 })));
  const saveButton = h("button", { type: "submit", class: "field-button field-save", hidden: true }, T.save);
  const form = h("form", { class: "field-door", onsubmit: (event) => { event.preventDefault(); save(); } });
  let chosen = null;
  const outcomes = h("div", { class: "field-outcomes", role: "group", "aria-label": T.outcome },
    bundle.outcomes.map((o) => h("button", {
      type: "button",
      class: `field-outcome outcome-${o.value}`,
      "aria-pressed": "false",
      "data-outcome": o.value,
      onclick: (event) => {
        chosen = o.value;
        for (const b of outcomes.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === event.currentTarget));
        if (bundle.conversation.includes(o.value)) {
          // A conversation: the questions may follow, then "Enregistrer".
          questions.open = true;
          saveButton.hidden = false;
        } else {
          save();
        }
      },
    }, o.label)));
  const recorded = doorsAt(session, addressId);
  form.append(
    h("p", {}, h("a", { class: "field-back", href: `#/s/${session.id}` }, `← ${T.back}`)),
    h("h1", {}, stop.label),
    Object.keys(recorded).length
      ? h("p", { class: "field-sub" }, Object.entries(recorded).map(([d, o]) => (d ? `${d} : ` : "") + outcomeLabel(o)).join(" · "))
      : null,
    h("label", { class: "field-label" }, T.door, h("input", { name: "door", maxlength: 60, autocomplete: "off" })),
    outcomes, questions, saveButton);
  main.append(form);

  async function save() {
    if (!chosen) return;
    const data = new FormData(form);
    const consent = opinion.checked;
    const body = {
      client_uuid: crypto.randomUUID(),
      session_id: session.id,
      address_id: addressId,
      door: (data.get("door") || "").trim(),
      outcome: chosen,
      recorded_at: new Date().toISOString(),
      opinion_consent: consent,
      support: consent && data.get("support") ? Number(data.get("support")) : null,
      answers: consent ? collectAnswers(form) : {},
      issues: [],
      wants_to_volunteer: data.get("wants_to_volunteer") === "on",
      wants_contact: wantsContact.checked,
      contact: null,
      notes: (data.get("notes") || "").trim(),
      latitude: null,
      longitude: null,
      accuracy_metres: null,
    };
    if (wantsContact.checked && data.get("consent_read") === "on") {
      body.contact = {
        first_name: data.get("first_name") || "",
        last_name: data.get("last_name") || "",
        email: data.get("email") || "",
        phone: data.get("phone") || "",
        consent_text: T.consent_text,
      };
    }
    if (fix && Date.now() - fix.at < 120000) {
      body.latitude = fix.lat;
      body.longitude = fix.lon;
      body.accuracy_metres = fix.accuracy;
    }
    const item = { client_uuid: body.client_uuid, kind: "door", user: bundle.user, created: Date.now(), body };
    await store.recordDoor(item);
    localDoors.set(`${session.id}|${addressId}|${body.door}`, chosen);
    say(T.saved);
    await refreshCounter();
    trySync();
    // A building with doors left: stay; otherwise the next address not yet done.
    const next = isDone(session, stop) ? nextStop(session, addressId) : stop;
    location.hash = next ? `#/s/${session.id}/a/${next.address_id}` : `#/s/${session.id}`;
    if (next === stop) render();
  }
}

function renderReport(session) {
  const form = h("form", { class: "field-report" },
    h("p", {}, h("a", { class: "field-back", href: `#/s/${session.id}` }, `← ${T.back}`)),
    h("h1", {}, T.report),
    h("label", { class: "field-label" }, T.heard, h("textarea", { name: "heard", rows: 4, maxlength: 4000 })),
    h("label", { class: "field-label" }, T.problems, h("textarea", { name: "problems", rows: 3, maxlength: 4000 })),
    h("label", { class: "field-label" }, T.material, h("textarea", { name: "material", rows: 2, maxlength: 2000 })),
    h("button", { type: "submit", class: "field-button" }, T.send));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      client_uuid: crypto.randomUUID(),
      session_id: session.id,
      heard: data.get("heard") || "",
      problems: data.get("problems") || "",
      material: data.get("material") || "",
    };
    if (!body.heard.trim() && !body.problems.trim() && !body.material.trim()) return;
    await store.put("outbox", { client_uuid: body.client_uuid, kind: "report", user: bundle.user, created: Date.now(), body });
    say(T.report_queued);
    await refreshCounter();
    trySync();
    location.hash = `#/s/${session.id}`;
  });
  main.append(form);
}

// --- start ----------------------------------------------------------------------------
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(CONFIG.worker, { scope: CONFIG.scope }).catch(() => {});
}
window.addEventListener("hashchange", render);
window.addEventListener("online", trySync);
window.addEventListener("offline", () => refreshCounter());
pendingButton.addEventListener("click", trySync);
setInterval(() => { if (navigator.onLine) trySync(); }, 30000);

await loadBundle();
await loadLocalDoors();
render();
await refreshCounter();
document.body.dataset.ready = "true";
trySync();
