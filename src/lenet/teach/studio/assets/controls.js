// LeNet-5 studio: the page's controls beside the drawing (training, the camera, test images,
// lecture mode, the tabs of the maps), and the page's start (the engine booted from the bundle). Loaded after studio.js, whose
// state and drawing functions it uses.
"use strict";

// ---- kernels and training ------------------------------------------------------------------------

function refreshKernels() {
  try {
    const k = engine.kernels("paper");
    const box = $("kernels");
    if (!repaintKernelGrid(box, k.C1, k.C3, k.connection_table, false)) {
      box.replaceChildren();
      renderKernelGrid(box, k.C1, k.C3, k.connection_table, false);
    }
    box.dataset.version = k.version;
  } catch (error) { showError(error.message); }
}

function plotCurve(canvas, curve) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 44, R = 44, T = 10, B = 30;
  ctx.clearRect(0, 0, W, H);
  ctx.strokeStyle = "#999"; ctx.strokeRect(L, T, W - L - R, H - T - B);
  ctx.font = "11px sans-serif"; ctx.fillStyle = "#444";
  ctx.fillText(_t("curve.seen"), W / 2 - 40, H - 6);
  if (curve.length === 0) { ctx.fillText(_t("curve.empty"), L + 10, T + 20); return; }
  const maxSeen = curve[curve.length - 1].seen || 1;
  const maxLoss = Math.max(...curve.map((p) => p.loss)) || 1;
  const maxErr = Math.max(...curve.map((p) => p.error), 0.01);
  const X = (s) => L + (s / maxSeen) * (W - L - R);
  const line = (key, top, colour, dash) => {
    ctx.strokeStyle = colour; ctx.setLineDash(dash); ctx.beginPath();
    curve.forEach((p, i) => {
      const y = T + (1 - p[key] / top) * (H - T - B);
      if (i === 0) ctx.moveTo(X(p.seen), y); else ctx.lineTo(X(p.seen), y);
    });
    ctx.stroke();
    ctx.setLineDash([]);
  };
  line("loss", maxLoss, css(POSITIVE), []);
  line("error", maxErr, css(NEGATIVE), [5, 3]);  // dashed: told apart by more than colour
  ctx.fillStyle = css(POSITIVE); ctx.fillText(_t("curve.loss", { loss: fmt(maxLoss, 2) }), 2, T + 10); ctx.fillText("0", L - 12, H - B);
  ctx.fillStyle = css(NEGATIVE); ctx.fillText(`${fmt(100 * maxErr, 1)} %`, W - R + 3, T + 10); ctx.fillText(_t("curve.error"), W - R + 3, T + 24); ctx.fillText(_t("curve.dashed"), W - R + 3, T + 38);
  const now = curve[curve.length - 1];
  canvas.setAttribute("aria-label", _t("curve.alt", { seen: now.seen, loss: fmt(now.loss, 3), error: fmt(100 * now.error, 2) }));
  ctx.fillStyle = "#444"; ctx.fillText(maxSeen.toLocaleString(), W - R - 40, H - B + 12);
}

function plotSteps(canvas, hist) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 40, T = 10, B = 30, R = 70;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px sans-serif"; ctx.fillStyle = "#444";
  if (!hist) { ctx.fillText(_t("steps.none"), 6, 20); return; }
  ctx.strokeStyle = "#999"; ctx.strokeRect(L, T, W - L - R, H - T - B);
  const edges = hist.log10_edges, n = edges.length - 1;
  const colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"];
  const top = Math.max(1, ...Object.values(hist.layers).flat());
  Object.entries(hist.layers).forEach(([name, counts], j) => {
    ctx.strokeStyle = colours[j % colours.length]; ctx.beginPath();
    counts.forEach((c, i) => {
      const x = L + ((i + 0.5) / n) * (W - L - R), y = T + (1 - Math.sqrt(c / top)) * (H - T - B);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
    ctx.fillStyle = colours[j % colours.length]; ctx.fillText(name, W - R + 6, T + 12 + 13 * j);
  });
  ctx.fillStyle = "#444";
  ctx.fillText(`log10 eps_k: ${edges[0]} .. ${edges[n]}   (eta ${hist.eta}, mu ${hist.mu})`, L, H - 6);
  ctx.fillText(_t("steps.count"), 2, T + 10);
}

// a trainer's state as the page says it (the states are the trainer's words: docs/studio-training.md)
function stateName(name) {
  const names = { running: _t("state.running"), paused: _t("state.paused"), stopped: _t("state.stopped"), finished: _t("state.finished"), failed: _t("state.failed"), saving: _t("state.saving") };
  return names[name] || name;
}

function pollTraining() {
  try {
    const s = engine.trainer(state.trainModel).status();
    const text = s.state === "idle" ? _t("status.idle", { model: state.trainModel, recipe: state.trainModel === "paper" ? _t("recipe.paper") : _t("recipe.seed") })
      : _t("status", { state: stateName(s.state), pass: s.pass, passes: s.passes, step: s.step.toLocaleString(), steps: s.steps_per_pass.toLocaleString(), seen: s.seen.toLocaleString(), rate: Math.round(s.images_per_second).toLocaleString() })
        + (s.curve.length ? _t("status.running", { loss: fmt(s.curve[s.curve.length - 1].loss, 3), error: fmt(100 * s.curve[s.curve.length - 1].error, 2) }) : "")
        + (s.history.length && s.history[s.history.length - 1].test_error !== null ? _t("status.test", { pass: s.history.length, error: fmt(100 * s.history[s.history.length - 1].test_error, 2) }) : "")
        + (s.checkpoint ? _t("status.checkpoint", { path: s.checkpoint }) : "") + (s.message ? ` · ${s.message}` : "");
    $("train-status").textContent = text;
    $("train-status").dataset.state = s.state;
    $("train-status").dataset.seen = s.seen;
    plotCurve($("train-curve"), s.curve);
    plotSteps($("train-steps"), s.step_sizes);
    if (s.current) bars($("train-current"), s.current.output, s.current.label, state.trainModel === "paper", _t("bars.label.n", { label: s.current.label }));
    const now = performance.now();
    if (s.version !== undefined && s.version !== state.seenVersion && now - state.lastRefresh > 1000 && state.trainModel === "paper") {
      state.seenVersion = s.version; state.lastRefresh = now;
      refreshKernels();
      // the maps in a task of their own: the page's thread is never busy with both at once
      if (state.input) setTimeout(() => requestInfer(performance.now()), 0);
    }
  } catch (error) { showError(error.message); }
  setTimeout(pollTraining, 600);
}

async function trainCommand(action, amount) {
  try {
    if (!engine.bundle.data.train) throw new Error(engine.bundle.data.missing || _t("error.notrain"));
    await engine.trainer(state.trainModel)[action](amount);
    const s = engine.trainer(state.trainModel).status();
    if (s.state === "failed") showError(s.message);
  } catch (error) { showError(error.message); }
}

// ---- camera: a digit held up to it, thresholded, read live -----------------------------------------

function otsu(gray) {
  const hist = new Array(256).fill(0);
  gray.forEach((g) => hist[g]++);
  const total = gray.length;
  let sum = 0; for (let i = 0; i < 256; i++) sum += i * hist[i];
  let sumB = 0, wB = 0, best = 0, threshold = 127;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]; if (!wB) continue;
    const wF = total - wB; if (!wF) break;
    sumB += t * hist[t];
    const between = wB * wF * (sumB / wB - (sum - sumB) / wF) ** 2;
    if (between > best) { best = between; threshold = t; }
  }
  return threshold;
}

function cameraFrame() {
  const video = $("video");
  if (!state.camera || video.readyState < 2) return;
  const side = Math.min(video.videoWidth, video.videoHeight);
  const small = document.createElement("canvas");
  small.width = small.height = 112;
  const ctx = small.getContext("2d");
  ctx.drawImage(video, (video.videoWidth - side) / 2, (video.videoHeight - side) / 2, side, side, 0, 0, 112, 112);
  const data = ctx.getImageData(0, 0, 112, 112).data;
  const gray = [];
  for (let i = 0; i < data.length; i += 4) gray.push(Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]));
  const t = otsu(gray);
  const rows = [];
  let inked = 0;
  for (let r = 0; r < 112; r++) {
    const row = [];
    for (let c = 0; c < 112; c++) { const v = gray[r * 112 + c] <= t ? 255 : 0; inked += v > 0; row.push(v); }
    rows.push(row);
  }
  // the thresholded frame on the pad, so the learner sees what is read
  const image = padCtx.createImageData(280, 280);
  for (let r = 0; r < 280; r++) for (let c = 0; c < 280; c++) {
    const g = 255 - rows[Math.floor(r * 112 / 280)][Math.floor(c * 112 / 280)];
    const i = 4 * (r * 280 + c); image.data[i] = image.data[i + 1] = image.data[i + 2] = g; image.data[i + 3] = 255;
  }
  padCtx.putImageData(image, 0, 0);
  if (inked > 0.4 * 112 * 112) { $("test-info").textContent = _t("camera.ink"); return; }
  $("test-info").textContent = _t("camera.threshold", { grey: t });
  state.cameraRows = rows;
  requestInfer(performance.now());
}

async function toggleCamera() {
  if (state.camera) {
    state.camera.getTracks().forEach((t) => t.stop());
    state.camera = null; state.cameraRows = null; clearInterval(state.cameraTimer);
    $("video").hidden = true;
    $("camera").setAttribute("aria-pressed", "false"); newDrawing();
    return;
  }
  try {
    state.camera = await navigator.mediaDevices.getUserMedia({ video: true });
    const video = $("video");
    video.srcObject = state.camera;
    video.hidden = false;
    await video.play();  // frames are drawn only once it plays
    $("camera").setAttribute("aria-pressed", "true");
    newDrawing(_t("source.camera"));
    state.cameraTimer = setInterval(cameraFrame, 250);
  } catch (error) { showError(_t("error.camera", { error: error.message })); }
}

// ---- test images -----------------------------------------------------------------------------------

async function testImage(pick) {
  try {
    const t = await engine.testImage(pick, Number($("test-index").value), "paper");
    $("test-index").value = t.index;
    $("test-info").textContent = _t("source.test", { index: t.index, label: t.label });
    showDigit(t.image);
    state.testImage = t.image;
    state.testPixels = t.pixels;
    state.source = _t("source.test", { index: t.index, label: t.label });
    chooseLabel(Number.isInteger(t.label) ? t.label : null);  // its gradients follow its answer
    requestInfer(performance.now());
  } catch (error) { showError(error.message); }
}

// a drawing (or the camera) instead of a test image: no label is known, so none stays chosen
function newDrawing(source = _t("source.drawing")) {
  state.testImage = null; state.testPixels = null;
  state.source = source;
  $("test-info").textContent = "";
  chooseLabel(null);
}

// ---- lecture mode, the tabs of the maps ----------------------------------------------------------

function setLecture(on) {  // large type, a large pad, larger maps: for a projector
  document.body.classList.toggle("lecture", on);
  $("lecture").setAttribute("aria-pressed", String(on));
  state.zoom = on ? 1.5 : 1;
  const url = new URL(window.location.href);
  if (on) url.searchParams.set("lecture", "1"); else url.searchParams.delete("lecture");
  window.history.replaceState(null, "", url);
  if (state.latest) {  // rebuilt at the new size
    renderSteps(state.latest.steps);
    renderAnswer(state.latest.results.paper, state.latest.results.modern);
    renderLayers($("layers"), state.latest.results.paper, "paper", "data-layer");
    renderLayers($("modern"), state.latest.results.modern, "modern", "data-modern-layer");
  }
}

function showTab(tab) {
  const tabs = [$("tab-paper"), $("tab-modern")];
  for (const t of tabs) {
    const chosen = t === tab;
    t.setAttribute("aria-selected", String(chosen));
    t.tabIndex = chosen ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !chosen;
  }
  // the modern panel's maps are placed once it is visible: place their cursors again
  document.querySelectorAll("#modern .maps canvas[tabindex='0']").forEach(placeCursor);
}

function tabKeys(event) {
  const tabs = [$("tab-paper"), $("tab-modern")];
  const i = tabs.indexOf(event.target);
  const next = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: tabs.length - 1 - i }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  const tab = tabs[(i + next + tabs.length) % tabs.length];
  showTab(tab);
  tab.focus();
}

// ---- start ----------------------------------------------------------------------------------------

async function main() {
  clearPad();
  for (let k = 0; k < 10; k++) {
    const b = el("button", String(k));
    b.type = "button";
    b.setAttribute("aria-pressed", "false");
    b.dataset.testid = `label-${k}`;
    b.addEventListener("click", () => backward(k));
    $("labels").appendChild(b);
  }
  $("clear").addEventListener("click", () => { clearPad(); newDrawing(); });
  $("camera").addEventListener("click", toggleCamera);
  $("test-form").addEventListener("submit", (event) => { event.preventDefault(); testImage("index"); });
  $("test-random").addEventListener("click", () => testImage("random"));
  $("test-wrong").addEventListener("click", () => testImage("misclassified"));
  $("lecture").addEventListener("click", () => setLecture(!document.body.classList.contains("lecture")));
  if (new URLSearchParams(window.location.search).get("lecture") === "1") setLecture(true);
  for (const tab of [$("tab-paper"), $("tab-modern")]) {
    tab.addEventListener("click", () => showTab(tab));
    tab.addEventListener("keydown", tabKeys);
  }
  $("train-start").addEventListener("click", () => trainCommand("start"));
  $("train-pause").addEventListener("click", () => trainCommand("pause"));
  $("train-step-1").addEventListener("click", () => trainCommand("step", "1"));
  $("train-step-100").addEventListener("click", () => trainCommand("step", "100"));
  $("train-step-pass").addEventListener("click", () => trainCommand("step", "pass"));
  $("train-stop").addEventListener("click", () => trainCommand("stop"));
  try {
    engine = await StudioEngine.boot();
    I18N.follow(engine.bundle.lang);  // `lenet studio --lang` (or LENET_LANG), unless the URL says
    state.network.paper = engine.network("paper");
    state.network.modern = engine.network("modern");
    if (!engine.bundle.data.test) $("test-info").textContent = engine.bundle.data.missing;
    const info = state.network.paper;
    const [background, inked] = info.input_range;  // the page's text on the paper's input
    const said = { background, ink: inked, span: +(inked - background).toPrecision(12) };
    document.querySelectorAll("[data-input]").forEach((e) => { e.textContent = String(said[e.dataset.input]); });
    $("network-info").textContent = _t("network.info", { paper: info.source, modern: state.network.modern.source });
    $("modern-source").textContent = `(${state.network.modern.source})`;
    for (const m of info.models) {
      const option = el("option", m === "paper" ? _t("train.paper") : _t("train.modern"));
      option.value = m; $("train-model").appendChild(option);
    }
    $("train-model").value = info.primary; state.trainModel = info.primary;
    $("train-model").addEventListener("change", () => { state.trainModel = $("train-model").value; });
  } catch (error) { showError(error.message); return; }
  refreshKernels();
  pollTraining();
  document.body.dataset.ready = "1";
}

main();
