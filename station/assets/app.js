// The station's page: camera frames and scanner keystrokes go to the station on
// this machine, verdicts come back. Nothing is loaded from anywhere else.
"use strict";

const UI = {
  en: {
    valid: "VALID", rejected: "REJECTED", idle: "Ready", idleReason: "Show the licence code to the camera or scan it",
    desk: "Desk", bundle: "Trust bundle v", overdue: "overdue", list: "status list", old: "old", stale: "STALE",
    noBundle: "no trust bundle", cameraOn: "Pause camera", cameraOff: "Start camera", profile: "Profile",
    shown: (s) => `shown ${s} s ago`, shownMin: (m, s) => `shown ${m} min ${s} s ago`,
    importTitle: "Trust material", importFiles: "Import files", importDir: "Import a folder",
    importFolder: "Import from path", historyTitle: "Since start", camera: "camera", scanner: "scanner",
    noCamera: "no camera", scanning: (n, ms) => `${n} frames, last ${ms} ms`, issuer: "Issuing authority",
  },
  zh: {
    valid: "有效", rejected: "无效", idle: "就绪", idleReason: "请将驾驶证二维码对准摄像头或用扫码枪扫描",
    desk: "窗口", bundle: "信任列表 v", overdue: "已逾期", list: "状态列表", old: "前", stale: "已过期",
    noBundle: "未安装信任列表", cameraOn: "暂停摄像头", cameraOff: "开启摄像头", profile: "出示范围",
    shown: (s) => `${s} 秒前生成`, shownMin: (m, s) => `${m} 分 ${s} 秒前生成`,
    importTitle: "信任材料", importFiles: "导入文件", importDir: "导入文件夹",
    importFolder: "从路径导入", historyTitle: "本次启动以来", camera: "摄像头", scanner: "扫码枪",
    noCamera: "没有摄像头", scanning: (n, ms) => `已处理 ${n} 帧，最近 ${ms} 毫秒`, issuer: "发证机关",
  },
};

const state = {
  lang: (navigator.language || "").startsWith("zh") ? "zh" : "en",
  verdict: null,
  status: null,
  history: [],
  clockOffset: 0, // station clock minus this browser's, seconds
  cameraOn: true,
  frames: 0,
  lastScanMs: 0,
  imports: [],
};

// Figures the bench reads: capture-to-verdict-on-screen latencies and frame counts.
window.stationBench = { latencies: [], firstVerdictAt: null, frames: 0, started: performance.now() };

const $ = (id) => document.getElementById(id);
const t = () => UI[state.lang];
const nowStation = () => Date.now() / 1000 + state.clockOffset;

function age(seconds) {
  const [d, h, min, s] = state.lang === "zh" ? [" 天 ", " 小时", " 分钟", " 秒"] : [" d ", " h", " min", " s"];
  if (seconds >= 86400) return `${Math.floor(seconds / 86400)}${d}${Math.floor((seconds % 86400) / 3600)}${h}`;
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}${h} ${Math.floor((seconds % 3600) / 60)}${min}`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)}${min}`;
  return `${Math.floor(seconds)}${s}`;
}

function renderVerdict() {
  const v = state.verdict;
  const box = $("verdict");
  const L = t();
  if (!v) {
    box.className = "idle";
    $("verdict-title").textContent = L.idle;
    $("verdict-reason").textContent = L.idleReason;
    $("verdict-profile").textContent = "";
    $("verdict-freshness").textContent = "";
    $("fields").tBodies[0].replaceChildren();
    $("warnings").replaceChildren();
    $("scanner-note").hidden = true;
    return;
  }
  box.className = v.verdict === "valid" ? "valid" : "rejected";
  box.dataset.reason = v.reason || "valid";
  box.dataset.historyId = v.history_id;
  $("verdict-title").textContent = v.verdict === "valid" ? L.valid : L.rejected;
  $("verdict-reason").textContent = v.message ? v.message[state.lang] : (v.issuer ? `${L.issuer}: ${v.issuer.code} ${v.issuer.name}` : "");
  $("verdict-profile").textContent = v.profile ? `${L.profile}: ${v.profile}` : "";
  renderFreshness();
  const rows = (v.fields || []).map((f) => {
    const tr = document.createElement("tr");
    tr.dataset.field = f.name;
    const th = document.createElement("th");
    th.textContent = f.label[state.lang];
    const td = document.createElement("td");
    td.textContent = f.value[state.lang];
    tr.append(th, td);
    return tr;
  });
  $("fields").tBodies[0].replaceChildren(...rows);
  $("warnings").replaceChildren(...(v.warnings || []).map((w) => {
    const li = document.createElement("li");
    li.dataset.code = w.code;
    li.textContent = "⚠ " + w[state.lang];
    return li;
  }));
  const note = v.scanner_note;
  $("scanner-note").hidden = !note;
  if (note) {
    $("scanner-note").textContent = note[state.lang];
    $("scanner-note").dataset.code = note.code;
  }
}

function renderFreshness() {
  const v = state.verdict;
  const el = $("verdict-freshness");
  if (!v || v.presented_at == null) { el.textContent = ""; return; }
  const s = Math.max(0, Math.round(nowStation() - v.presented_at));
  el.textContent = "· " + (s >= 60 ? t().shownMin(Math.floor(s / 60), s % 60) : t().shown(s));
}

function renderStatus() {
  const s = state.status;
  const L = t();
  $("desk").textContent = `${L.desk}: ${s ? s.desk : "…"}`;
  if (!s) return;
  const bundle = $("bundle");
  if (s.bundle) {
    bundle.textContent = `${L.bundle}${s.bundle.version}` + (s.bundle.stale ? ` · ${L.overdue} ${age(s.bundle.overdue_s)}` : "");
    bundle.className = s.bundle.stale ? "chip warn" : "chip";
    bundle.dataset.version = s.bundle.version;
  } else {
    bundle.textContent = L.noBundle;
    bundle.className = "chip warn";
    delete bundle.dataset.version;
  }
  $("lists").replaceChildren(...s.lists.map((l) => {
    const chip = document.createElement("span");
    chip.className = l.stale ? "chip warn list" : "chip list";
    chip.dataset.issuer = l.issuer;
    chip.dataset.ageS = l.age_s;
    chip.textContent = `${l.issuer} ${L.list} ${age(l.age_s)}${state.lang === "zh" ? L.old : " " + L.old}` + (l.stale ? ` · ${L.stale}` : "");
    return chip;
  }));
  const problem = $("trust-problem");
  problem.hidden = !s.problem;
  if (s.problem) problem.textContent = s.problem[state.lang];
}

function renderHistory() {
  const L = t();
  $("history").replaceChildren(...state.history.map((h) => {
    const li = document.createElement("li");
    li.className = h.verdict;
    li.dataset.id = h.id;
    li.dataset.reason = h.reason || "valid";
    li.dataset.source = h.source;
    li.dataset.sightings = h.sightings;
    const time = new Date(h.at * 1000).toLocaleTimeString();
    li.textContent = `${time} ${h.verdict === "valid" ? L.valid : L.rejected} ${h.reason || h.profile || ""} · ${L[h.source]}` + (h.serial_tag ? ` · #${h.serial_tag}` : "");
    return li;
  }));
}

function renderImports() {
  $("import-result").replaceChildren(...state.imports.map((r) => {
    const li = document.createElement("li");
    li.className = r.ok ? "ok" : "bad";
    li.dataset.code = r.ok ? "ok" : r.code;
    const what = r.kind === "trust_bundle" ? `trust bundle v${r.version}` : r.kind === "status_list" ? `status list ${r.issuer}` : "";
    li.textContent = `${r.file || ""}: ` + (r.ok ? `✔ ${what}` : `✘ ${r.message ? r.message[state.lang] : r.code}`);
    return li;
  }));
}

function renderLabels() {
  const L = t();
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  $("lang").textContent = state.lang === "zh" ? "English" : "中文";
  $("camera-toggle").textContent = state.cameraOn ? L.cameraOn : L.cameraOff;
  $("import-title").textContent = L.importTitle;
  $("import-files-label").textContent = L.importFiles;
  $("import-dir-label").textContent = L.importDir;
  $("import-folder").textContent = L.importFolder;
  $("history-title").textContent = L.historyTitle;
}

function renderAll() {
  renderLabels(); renderVerdict(); renderStatus(); renderHistory(); renderImports();
}

function show(v) {
  if (v.now != null) state.clockOffset = v.now - Date.now() / 1000;
  state.verdict = v;
  renderVerdict();
  refreshHistory();
}

async function refreshStatus() {
  try {
    const r = await fetch("/api/status");
    state.status = await r.json();
    state.clockOffset = state.status.now - Date.now() / 1000;
    renderStatus();
  } catch (e) { /* the station is restarting; the next poll retries */ }
}

async function refreshHistory() {
  try {
    const r = await fetch("/api/history");
    state.history = await r.json();
    renderHistory();
  } catch (e) { /* next poll */ }
}

// ---- Keyboard-wedge scanner: captured wherever focus is, ended by Enter or a pause.
const SCAN_PAUSE_MS = 150;   // scanners type a code in one burst; a person pauses longer
const SCAN_MIN_CHARS = 8;    // stray keys are not a scan
const SCAN_MAX_CHARS = 8192;
let scanBuffer = "";
let scanTimer = null;

function submitScan() {
  clearTimeout(scanTimer);
  const text = scanBuffer;
  scanBuffer = "";
  if (text.length < SCAN_MIN_CHARS) return;
  fetch("/api/scan", { method: "POST", body: text, headers: { "Content-Type": "text/plain; charset=utf-8" } })
    .then((r) => r.json()).then(show).catch(() => {});
}

document.addEventListener("keydown", (e) => {
  const target = e.target;
  if (target && target.dataset && target.dataset.typing === "human") return;
  if (e.ctrlKey || e.altKey || e.metaKey) return;
  if (e.key === "Enter") {
    if (scanBuffer.length > 0) { e.preventDefault(); submitScan(); }
    return;
  }
  // A dead key composes with the next key, whose event carries the result.
  if (e.key.length !== 1 && [...e.key].length !== 1) return;
  e.preventDefault();
  if (scanBuffer.length < SCAN_MAX_CHARS) scanBuffer += e.key;
  clearTimeout(scanTimer);
  scanTimer = setTimeout(submitScan, SCAN_PAUSE_MS);
}, true);

// ---- Camera: frames as 8-bit luma, one at a time, at most as fast as the station answers.
const MAX_FRAME_WIDTH = 1280;
let stream = null;

async function startCamera() {
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "environment" }, audio: false,
    });
    $("video").srcObject = stream;
    $("camera-state").textContent = "";
    cameraLoop();
  } catch (e) {
    $("camera-state").textContent = `${t().noCamera}: ${e.name}`;
  }
}

async function cameraLoop() {
  const video = $("video");
  const canvas = $("frame");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  loopRunning = true;
  while (state.cameraOn && stream) {
    if (video.readyState < 2 || !video.videoWidth) { await sleep(50); continue; }
    const scale = Math.min(1, MAX_FRAME_WIDTH / video.videoWidth);
    const w = Math.round(video.videoWidth * scale), h = Math.round(video.videoHeight * scale);
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    const captured = performance.now();
    context.drawImage(video, 0, 0, w, h);
    const rgba = context.getImageData(0, 0, w, h).data;
    const luma = new Uint8Array(w * h);
    for (let i = 0, j = 0; j < luma.length; i += 4, j++) {
      luma[j] = (rgba[i] * 77 + rgba[i + 1] * 150 + rgba[i + 2] * 29) >> 8;
    }
    let wait = 0;
    try {
      const r = await fetch(`/api/frame?w=${w}&h=${h}`, { method: "POST", body: new Blob([luma]), headers: { "Content-Type": "application/octet-stream" } });
      const answer = await r.json();
      if (r.status === 429) { wait = answer.retry_ms || 50; }
      else if (r.ok) {
        state.frames++;
        window.stationBench.frames++;
        state.lastScanMs = answer.scan_ms;
        if (answer.found && !answer.repeat) {
          show(answer);
          await nextPaint();
          window.stationBench.latencies.push(performance.now() - captured);
          if (window.stationBench.firstVerdictAt === null) window.stationBench.firstVerdictAt = performance.now();
        } else if (answer.found) {
          state.verdict = answer;
          renderFreshness();
        }
        if (state.frames % 10 === 0) $("camera-state").textContent = t().scanning(state.frames, state.lastScanMs);
      } else { wait = 500; }
    } catch (e) { wait = 1000; }
    await sleep(wait);
  }
  loopRunning = false;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nextPaint = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

// ---- Import: files (bundle first, so lists verify against it), a folder, a path.
async function importFiles(files) {
  const sorted = [...files].filter((f) => f.name.endsWith(".cbor"))
    .sort((a, b) => (b.name.includes("trust") - a.name.includes("trust")) || a.name.localeCompare(b.name));
  state.imports = [];
  for (const file of sorted) {
    try {
      const r = await fetch(`/api/import?name=${encodeURIComponent(file.name)}`, { method: "POST", body: file });
      const answer = await r.json();
      for (const result of answer.results) state.imports.push(Object.assign({ file: file.name }, result));
    } catch (e) {
      state.imports.push({ file: file.name, ok: false, code: "io_error" });
    }
    renderImports();
  }
  await refreshStatus();
}

async function importPath() {
  const path = $("folder-path").value.trim();
  if (!path) return;
  const r = await fetch("/api/import-folder", { method: "POST", body: path });
  const answer = await r.json();
  state.imports = answer.results;
  renderImports();
  await refreshStatus();
}

$("import-files").addEventListener("change", (e) => importFiles(e.target.files));
$("import-dir").addEventListener("change", (e) => importFiles(e.target.files));
$("import-folder").addEventListener("click", importPath);
$("lang").addEventListener("click", () => { state.lang = state.lang === "zh" ? "en" : "zh"; renderAll(); });
// Pausing stops sending frames but keeps the camera open: reopening a camera is slow.
let loopRunning = false;
$("camera-toggle").addEventListener("click", () => {
  state.cameraOn = !state.cameraOn;
  if (state.cameraOn && !stream) startCamera();
  else if (state.cameraOn && !loopRunning) cameraLoop();
  renderLabels();
});

renderAll();
refreshStatus();
refreshHistory();
setInterval(refreshStatus, 3000);
setInterval(renderFreshness, 1000);
startCamera();
