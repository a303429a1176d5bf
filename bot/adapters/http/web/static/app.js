// The web page: plain JavaScript, no build step. The API key is sent once, to /web/api/session, and then
// forgotten: the browser holds only an HttpOnly session cookie, and every change carries the CSRF token.
"use strict";

const T = JSON.parse(document.getElementById("texts").textContent);
const $ = (id) => document.getElementById(id);
const state = { csrf: "", ratio: "1:1", ratios: [], maxRefs: 4, refs: [], current: null, busy: false, seen: new Set(), models: [] };

function t(key, params = {}) {
  return (T[key] || key).replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

function show(el, visible) { el.hidden = !visible; }

function toast(text) {
  const el = document.createElement("div");
  el.className = "toast";
  el.textContent = text;
  document.body.appendChild(el);
  setTimeout(() => el.remove(), 2500);
}

async function api(path, options = {}) {
  const headers = Object.assign({ "X-CSRF-Token": state.csrf }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers, credentials: "same-origin" }));
  if (response.status === 401 && path !== "/web/api/session") {
    signedOut(t("web.error.session"));
    throw new Error("signed out");
  }
  return response;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error && body.error.message ? body.error.message : t("error.generic");
  } catch (e) {
    return t("error.generic");
  }
}

// --- signing in and out --------------------------------------------------------------------------

function signedOut(message) {
  state.csrf = "";
  show($("app"), false);
  show($("who"), false);
  show($("signout"), false);
  show($("signin"), true);
  const error = $("signin-error");
  error.textContent = message || "";
  show(error, Boolean(message));
  $("key").focus();
}

function signedIn(session) {
  state.csrf = session.csrf;
  state.ratios = session.ratios;
  state.maxRefs = session.max_references;
  $("who").textContent = session.name;
  show($("who"), true);
  show($("signout"), true);
  show($("signin"), false);
  show($("app"), true);
  state.models = session.models;
  drawModels();
  drawRatios();
  loadHistory();
  show($("accounts"), session.admin);
  if (session.admin) loadAccounts();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("key");
  $("signin-button").disabled = true;
  try {
    const response = await fetch("/web/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ key: input.value.trim() }),
      credentials: "same-origin",
    });
    input.value = ""; // the key is not kept anywhere in the page
    if (response.ok) signedIn(await response.json());
    else signedOut(await errorText(response)); // the server's sentence: a wrong key, or no keys at all
  } catch (e) {
    signedOut(t("web.error.network"));
  } finally {
    $("signin-button").disabled = false;
  }
});

$("signout").addEventListener("click", async () => {
  await api("/web/api/session", { method: "DELETE" }).catch(() => null);
  signedOut("");
});

$("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try { localStorage.setItem("theme", next); } catch (e) { /* private mode */ }
});

// --- the form ------------------------------------------------------------------------------------

function drawRatios() {
  const box = $("ratios");
  box.replaceChildren();
  for (const option of state.ratios) {
    const button = document.createElement("button");
    button.type = "button";
    button.setAttribute("role", "radio");
    button.dataset.ratio = option.ratio;
    const [w, h] = option.ratio.split(":").map(Number);
    const shape = document.createElement("span");
    shape.className = "shape";
    const scale = 14 / Math.max(w, h);
    shape.style.width = `${Math.round(w * scale)}px`;
    shape.style.height = `${Math.round(h * scale)}px`;
    button.append(shape, ` ${option.ratio}`);
    button.addEventListener("click", () => chooseRatio(option.ratio));
    box.appendChild(button);
  }
  chooseRatio(state.ratio);
}

function chooseRatio(ratio) {
  const option = state.ratios.find((o) => o.ratio === ratio) || state.ratios[0];
  state.ratio = option.ratio;
  for (const button of $("ratios").children) {
    button.setAttribute("aria-checked", String(button.dataset.ratio === option.ratio));
  }
  drawReadout();
}

// With references the server may switch to FLUX_REFERENCE_MODEL, whose sizes differ: show what will be drawn.
function drawReadout() {
  const option = state.ratios.find((o) => o.ratio === state.ratio);
  const sizes = option && option.sizes[chosenModel().alias];
  const size = sizes && sizes[Math.min(state.refs.length, sizes.length - 1)];
  $("size-readout").textContent = size ? t("web.size.readout", size) : "";
}

function chosenModel() {
  return state.models.find((m) => m.alias === $("model").value) || state.models[0];
}

// The model menu shows only when the operator offers more than one (FLUX_MODELS); steps only for models with steps.
function drawModels() {
  const select = $("model");
  select.replaceChildren(...state.models.map((m) => {
    const option = new Option(m.alias, m.alias);
    option.title = m.name;
    return option;
  }));
  show($("model-field"), state.models.length > 1);
  modelChanged();
}

function modelChanged() {
  const model = chosenModel();
  show($("steps-field"), Boolean(model.max_steps));
  $("steps").placeholder = model.max_steps ? `${T["web.steps.placeholder"]} (≤ ${model.max_steps})` : "";
  drawReadout();
}
$("model").addEventListener("change", modelChanged);

function composeError(message) {
  $("compose-error").textContent = message || "";
  show($("compose-error"), Boolean(message));
}

function addFiles(files) {
  composeError("");
  for (const file of files) {
    if (!file.type.startsWith("image/")) {
      composeError(t("web.refs.not_image", { name: file.name }));
      continue;
    }
    if (state.refs.length >= state.maxRefs) {
      composeError(t("web.refs.too_many", { max: state.maxRefs }));
      break;
    }
    state.refs.push({ file, url: URL.createObjectURL(file) });
  }
  drawPreviews();
}

function drawPreviews() {
  drawReadout();
  const list = $("previews");
  list.replaceChildren();
  state.refs.forEach((ref, index) => {
    const item = document.createElement("li");
    const img = document.createElement("img");
    img.src = ref.url;
    img.alt = ref.file.name;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.title = t("web.refs.remove");
    remove.setAttribute("aria-label", `${t("web.refs.remove")} ${ref.file.name}`);
    remove.addEventListener("click", () => {
      URL.revokeObjectURL(ref.url);
      state.refs.splice(index, 1);
      drawPreviews();
    });
    item.append(img, remove);
    list.appendChild(item);
  });
}

$("files").addEventListener("change", (event) => {
  addFiles(Array.from(event.target.files));
  event.target.value = "";
});
const drop = $("drop");
for (const name of ["dragenter", "dragover"]) {
  drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
}
for (const name of ["dragleave", "drop"]) {
  drop.addEventListener(name, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  addFiles(Array.from(event.dataTransfer.files));
});

$("compose").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = new FormData();
  body.append("prompt", $("prompt").value);
  body.append("ratio", state.ratio);
  body.append("seed", $("seed").value.trim());
  body.append("raw", $("raw").checked ? "1" : "");
  body.append("model", chosenModel().alias);
  if (chosenModel().max_steps) body.append("steps", $("steps").value.trim());
  for (const ref of state.refs) body.append("references", ref.file, ref.file.name);
  run("/web/api/generate", body);
});

// --- generating, with live progress over server-sent events ----------------------------------------

function markStage(stage) {
  // Only the stages the server reported are ticked: a re-roll skips "polishing", a free queue skips "in line".
  state.seen.add(stage);
  for (const item of $("stages").children) {
    const name = item.dataset.stage;
    const active = name === stage && stage !== "done";
    item.classList.toggle("active", active);
    item.classList.toggle("done", state.seen.has(name) && !active);
    item.classList.toggle("skipped", stage === "done" && !state.seen.has(name));
  }
}

function setBusy(busy) {
  state.busy = busy;
  for (const id of ["generate", "reroll"]) $(id).disabled = busy;
  $("canvas").classList.toggle("busy", busy);
}

async function run(path, body) {
  if (state.busy) return;
  composeError("");
  setBusy(true);
  state.seen = new Set();
  for (const item of $("stages").children) item.classList.remove("done", "active", "skipped");
  show($("stages"), true);
  $("status").textContent = "";
  // On a phone the result is below the form: bring the progress into view.
  if (window.matchMedia("(max-width: 860px)").matches) $("result").scrollIntoView({ behavior: "smooth" });
  let finished = false;
  try {
    const response = await api(path, { method: "POST", body });
    if (!response.ok) {
      fail(await errorText(response));
      return;
    }
    await readEvents(response, (data) => {
      if (data.type === "progress") {
        markStage(data.stage);
        $("status").textContent = data.text;
      } else if (data.type === "result") {
        finished = true;
        markStage("done");
        $("status").textContent = "";
        showResult(data);
        loadHistory();
      } else if (data.type === "error") {
        finished = true;
        fail(data.message);
      }
    });
    if (!finished) fail(t("web.error.network"));
  } catch (e) {
    if (e.message !== "signed out") fail(t("web.error.network"));
  } finally {
    setBusy(false);
  }
}

function fail(message) {
  show($("stages"), false);
  $("status").textContent = "";
  composeError(message);
}

// Server-sent events over fetch (EventSource cannot POST a form): "data:" lines, blank-line separated;
// comment lines (": keep-alive") are skipped.
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trimStart());
      if (data.length) onEvent(JSON.parse(data.join("\n")));
    }
  }
}

function showResult(job) {
  if (!job.image_url) return;
  state.current = job;
  const img = $("image");
  img.src = job.image_url;
  img.alt = job.prompt;
  img.width = job.width;
  img.height = job.height;
  show(img, true);
  show($("empty"), false);
  $("meta-prompt").textContent = job.prompt;
  $("meta-final").textContent = job.final_prompt;
  $("meta-size").textContent = `${job.width} × ${job.height}`;
  $("meta-seed").textContent = String(job.seed);
  $("meta-model").textContent = job.model;
  show($("meta"), true);
  const download = $("download");
  download.href = job.image_url;
  download.download = job.filename;
  show($("actions"), true);
}

$("copy").addEventListener("click", async () => {
  if (!state.current) return;
  try {
    await navigator.clipboard.writeText(state.current.final_prompt);
    toast(t("web.result.copied"));
  } catch (e) {
    composeError(t("error.generic"));
  }
});
$("reroll").addEventListener("click", () => state.current && reroll(state.current));
$("reuse").addEventListener("click", () => state.current && reuseSeed(state.current));

function reroll(job) {
  run(`/web/api/jobs/${encodeURIComponent(job.id)}/reroll`, new FormData());
}

function reuseSeed(job) {
  $("prompt").value = job.prompt;
  $("seed").value = String(job.seed);
  const model = state.models.find((m) => m.name === job.model);
  if (model) {
    $("model").value = model.alias;
    modelChanged();
  }
  const fits = (s) => s && s.width === job.width && s.height === job.height;
  const same = state.ratios.find((o) => Object.values(o.sizes).some((sizes) => sizes.some(fits)));
  if (same) chooseRatio(same.ratio);
  $("compose").scrollIntoView({ behavior: "smooth", block: "start" });
  $("generate").focus({ preventScroll: true });
}

// --- history and accounts ------------------------------------------------------------------------

async function loadHistory() {
  const response = await api("/web/api/history").catch(() => null);
  if (!response || !response.ok) return;
  const { jobs } = await response.json();
  const list = $("history");
  list.replaceChildren(...jobs.map(historyItem));
  show($("history-empty"), jobs.length === 0);
}

function historyItem(job) {
  const item = document.createElement("li");
  item.dataset.job = job.id;
  let img;
  if (job.image_url) {
    img = document.createElement("img");
    img.src = job.image_url;
    img.alt = job.prompt;
    img.loading = "lazy";
    img.addEventListener("click", () => showResult(job));
    // expired from the store since the list was drawn: show the placeholder rather than a broken image
    img.addEventListener("error", () => {
      job.image_url = null;
      item.replaceWith(historyItem(job));
    });
  } else {
    // made in a chat, or expired from the image store: the record (and its re-roll) is still there
    img = document.createElement("div");
    img.className = "placeholder";
    img.textContent = t("web.history.no_image");
  }
  const info = document.createElement("div");
  info.className = "info";
  const prompt = document.createElement("div");
  prompt.className = "prompt";
  prompt.textContent = job.prompt;
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = t("web.result.final_prompt");
  const final = document.createElement("p");
  final.className = "final";
  final.textContent = job.final_prompt;
  details.append(summary, final);
  const facts = document.createElement("div");
  facts.className = "facts";
  facts.textContent = `${job.width} × ${job.height} · ${t("result.seed")} ${job.seed} · ${shortModel(job.model)}`;
  facts.title = job.model;
  info.append(prompt, details, facts);
  if (job.created_at) {
    const when = document.createElement("time");
    const date = new Date(job.created_at * 1000);
    when.dateTime = date.toISOString();
    when.className = "when";
    when.textContent = new Intl.DateTimeFormat(document.documentElement.lang, {
      dateStyle: "medium",
      timeStyle: "short",
    }).format(date);
    info.append(when);
  }
  const buttons = document.createElement("div");
  buttons.className = "buttons";
  const again = document.createElement("button");
  again.type = "button";
  again.className = "history-reroll";
  again.textContent = t("web.result.reroll");
  again.addEventListener("click", () => reroll(job));
  const reuse = document.createElement("button");
  reuse.type = "button";
  reuse.className = "history-reuse";
  reuse.textContent = t("web.result.reuse_seed");
  reuse.addEventListener("click", () => reuseSeed(job));
  buttons.append(again, reuse);
  item.append(img, info, buttons);
  return item;
}

function shortModel(name) {
  return name.split("/").pop();
}

async function loadAccounts() {
  const response = await api("/web/api/accounts").catch(() => null);
  if (!response || !response.ok) return;
  const { accounts, free_neurons: free } = await response.json();
  $("account-list").replaceChildren(...accounts.map((account) => {
    const item = document.createElement("li");
    const head = document.createElement("div");
    head.className = "account-head";
    const label = document.createElement("span");
    label.textContent = account.label;
    const badge = document.createElement("span");
    badge.className = `state ${account.state}`;
    badge.textContent = account.state_text;
    head.append(label, badge);
    const meter = document.createElement("div");
    meter.className = "meter";
    meter.setAttribute("role", "meter");
    meter.setAttribute("aria-valuemin", "0");
    meter.setAttribute("aria-valuemax", String(free));
    meter.setAttribute("aria-valuenow", String(Math.round(account.neurons)));
    const fill = document.createElement("span");
    const share = Math.min(1, account.neurons / free);
    fill.style.width = `${(share * 100).toFixed(1)}%`;
    fill.style.backgroundPosition = `${(share * 100).toFixed(1)}% 0`;
    meter.appendChild(fill);
    const note = document.createElement("div");
    note.className = "account-note";
    const number = new Intl.NumberFormat(document.documentElement.lang);
    note.textContent = t("web.accounts.neurons", { used: number.format(Math.round(account.neurons)), limit: number.format(free) })
      + (account.until_text ? ` · ${account.until_text}` : "") + (account.note ? ` · ${account.note}` : "");
    item.append(head, meter, note);
    return item;
  }));
}

// --- start ---------------------------------------------------------------------------------------

(async () => {
  try {
    const response = await fetch("/web/api/session", { credentials: "same-origin" });
    if (response.ok) signedIn(await response.json());
    else signedOut("");
  } catch (e) {
    signedOut(t("web.error.network"));
  }
})();
