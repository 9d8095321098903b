// The Breakout dashboard: REST for the state as of now, then the WebSocket bridge for every
// change (no polling). Nothing here decides anything: buttons record operator commands.
const $ = (id) => document.getElementById(id);
const state = {
  symbol: "", token: sessionStorage.getItem("breakout.token") || "", ws: null,
  lastPrice: {}, walls: new Map(), positions: new Map(), kill: null,
  chart: null, candles: null, line: null, lastLineTime: 0, lastCandleTime: 0, levelLines: [],
};
window.breakout = { chartReady: false, points: 0, walls: state.walls, positions: state.positions, frames: 0 };

const num = (v) => (v === null || v === undefined || v === "" ? NaN : Number(v));
const fmt = (v, d = 2) => (Number.isFinite(num(v)) ? num(v).toLocaleString(undefined, { maximumFractionDigits: d }) : "–");
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const say = (text) => { $("message").textContent = text; };

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json", ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 404) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body.detail ?? body)}`);
  return body;
}

// -- chart ---------------------------------------------------------------------------------
function setupChart() {
  const el = $("chart");
  el.innerHTML = "";
  state.lastLineTime = state.lastCandleTime = 0;
  state.levelLines = [];
  if (typeof LightweightCharts === "undefined") {
    $("chart-status").textContent = "chart library unavailable (npm registry unreachable?)";
    return;
  }
  state.chart = LightweightCharts.createChart(el, {
    autoSize: true,
    layout: { background: { color: "#161b22" }, textColor: "#e6edf3" },
    grid: { vertLines: { color: "#21262d" }, horzLines: { color: "#21262d" } },
    timeScale: { timeVisible: true, secondsVisible: true },
  });
  state.candles = state.chart.addCandlestickSeries();
  // Walls and levels are price lines: keep them in view, not only the traded prices.
  const withLines = (original) => {
    const base = original();
    const marks = [...state.walls.values()].map((w) => w.price)
      .concat(state.levelLines.map((l) => l.options().price)).filter(Number.isFinite);
    if (!base || !marks.length) return base;
    return { ...base, priceRange: {
      minValue: Math.min(base.priceRange.minValue, ...marks), maxValue: Math.max(base.priceRange.maxValue, ...marks) } };
  };
  state.line = state.chart.addLineSeries({ color: "#58a6ff", lineWidth: 2, autoscaleInfoProvider: withLines });
  window.breakout.chartReady = true;
}

function addPrice(tsMs, price) {
  if (!state.line || !Number.isFinite(price)) return;
  const time = Math.floor(tsMs / 1000);
  if (time < state.lastLineTime) return;
  state.line.update({ time, value: price });
  state.lastLineTime = time;
  window.breakout.points += 1;
}

function addCandle(c) {
  if (!state.candles) return;
  const time = Math.floor(c.open_ts_ms / 1000);
  if (time < state.lastCandleTime) return;
  state.candles.update({ time, open: num(c.open), high: num(c.high), low: num(c.low), close: num(c.close) });
  state.lastCandleTime = time;
  window.breakout.points += 1;
}

function drawLevels(levels) {
  if (!state.line || !levels) return;
  for (const line of state.levelLines) state.line.removePriceLine(line);
  state.levelLines = [levels.resistance, levels.support].map((level) =>
    state.line.createPriceLine({ price: num(level.price), color: level.kind === "resistance" ? "#f85149" : "#2ea043",
      lineStyle: 2, lineWidth: 1, title: `${level.kind} (${level.touches})` }));
}

// -- density walls -------------------------------------------------------------------------
function upsertWall(wall) {
  const old = state.walls.get(wall.wall_id);
  if (old && old.line && state.line) state.line.removePriceLine(old.line);
  const price = (num(wall.price_low) + num(wall.price_high)) / 2;
  const line = state.line ? state.line.createPriceLine({ price, lineWidth: 3, lineStyle: 0,
    color: wall.side === "bid" ? "rgba(46,160,67,.8)" : "rgba(248,81,73,.8)", title: `wall ${fmt(wall.usd ?? 0, 0)}$` }) : null;
  state.walls.set(wall.wall_id, { ...old, ...wall, price, line });
  renderWalls();
}

function removeWall(wallId) {
  const old = state.walls.get(wallId);
  if (old && old.line && state.line) state.line.removePriceLine(old.line);
  state.walls.delete(wallId);
  renderWalls();
}

function renderWalls() {
  $("walls").tBodies[0].innerHTML = [...state.walls.values()].map((w) =>
    `<tr data-wall-id="${esc(w.wall_id)}"><td class="${w.side === "bid" ? "pos" : "neg"}">${esc(w.side)}</td>` +
    `<td>${fmt(w.price, 6)}</td><td>${fmt(w.usd, 0)}</td><td>${fmt(100 * num(w.eaten_ratio || 0), 0)}%</td></tr>`).join("");
}

function onDensity(data) {
  if (data.type === "feat.density_detected.v1") {
    upsertWall({ wall_id: data.wall_id, side: data.side, price_low: data.price_low, price_high: data.price_high,
      usd: data.usd, eaten_ratio: 0 });
  } else if (data.type === "feat.density_eaten.v1") {
    const old = state.walls.get(data.wall_id);
    if (old) upsertWall({ ...old, eaten_ratio: data.eaten_ratio });
  } else if (data.type === "feat.density_removed.v1") {
    removeWall(data.wall_id);
  }
}

// -- activity ------------------------------------------------------------------------------
function onActivity(data) {
  if (data.type === "feat.trade_activity.v1") {
    state.lastPrice[data.symbol] = num(data.last_price);
    addPrice(data.ts_ms, num(data.last_price));
    const index = num(data.activity_index);
    $("activity-bar").style.width = `${Math.max(0, Math.min(100, 50 + 10 * (Number.isFinite(index) ? index : 0)))}%`;
    const w = (data.windows || [])[0] || {};
    $("activity").textContent = `index ${fmt(index)} · TPM ${fmt(w.tpm, 0)} · drop ${fmt(100 * num(data.drop_frac), 0)}%`;
    renderPositions();
  } else if (data.type === "feat.activity_dropped.v1") {
    $("activity").textContent = `ACTIVITY DROPPED ${fmt(100 * num(data.drop_frac), 0)}% (≥ ${fmt(100 * num(data.threshold), 0)}%)`;
  }
}

// -- positions (any pos.* event: fields merged per stream, gone when closed) ---------------
function onPosition(envelope) {
  if (envelope.type.startsWith("pos.closed.")) state.positions.delete(envelope.stream);
  else state.positions.set(envelope.stream, { ...(state.positions.get(envelope.stream) || {}), ...envelope.data });
  renderPositions();
}

function pnlR(p) {
  const last = state.lastPrice[p.symbol];
  const entry = num(p.entry_price);
  const risk = Number.isFinite(num(p.risk_per_unit)) ? num(p.risk_per_unit) : Math.abs(entry - num(p.stop_price));
  if (!Number.isFinite(last) || !Number.isFinite(entry) || !(risk > 0)) return NaN;
  return ((last - entry) / risk) * (p.side === "short" ? -1 : 1);
}

function renderPositions() {
  $("positions").tBodies[0].innerHTML = [...state.positions.entries()].map(([stream, p]) => {
    const r = pnlR(p);
    return `<tr data-position="${esc(p.position_id ?? stream)}"><td>${esc(p.symbol)}</td><td>${esc(p.side)}</td>` +
      `<td>${fmt(p.entry_price, 6)}</td><td>${fmt(p.stop_price, 6)}</td><td>${fmt(p.qty, 6)}</td>` +
      `<td class="${r >= 0 ? "pos" : "neg"}">${fmt(r)}</td>` +
      `<td><button data-close="${esc(p.position_id ?? stream)}">close</button></td></tr>`;
  }).join("");
}

// -- signals, news, orders, scans, regime, kill switch -------------------------------------
function prependRow(table, html, keep = 50) {
  const body = $(table).tBodies[0];
  body.insertAdjacentHTML("afterbegin", html);
  while (body.rows.length > keep) body.deleteRow(-1);
}

function signalRow(d) {
  const rejected = d.type === "sig.signal_rejected.v1";
  const why = rejected ? (d.failed || []).join(", ") : `${d.strategy} @ ${fmt(d.entry_price, 6)} stop ${fmt(d.stop_price, 6)}`;
  return `<tr><td class="${rejected ? "neg" : "pos"}">${rejected ? "rejected" : "signal"}</td><td>${esc(d.symbol)}</td><td>${esc(d.preset)}</td><td>${esc(why)}</td></tr>`;
}

const newsRow = (d) => `<tr><td>${esc(d.impact ?? "")}</td><td>${esc(d.alignment ?? "")}</td><td>${esc(d.title)}</td></tr>`;
const orderRow = (e) => `<tr><td>${esc(e.type.replace(/^exec\.order_?/, "").replace(/\.v\d+$/, ""))}</td><td>${esc(e.data.symbol ?? "")}</td><td>${esc(e.data.side ?? "")}</td><td>${fmt(e.data.price ?? e.data.qty, 6)}</td></tr>`;

function renderScan(scan) {
  const rows = (scan.rows || []).filter((r) => r.passed).sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9));
  $("candidates").tBodies[0].innerHTML = rows.slice(0, 30).map((r) =>
    `<tr><td>${r.rank ?? ""}</td><td><a href="#" data-symbol="${esc(r.symbol)}">${esc(r.symbol)}</a></td><td>${fmt(r.score)}</td><td>${esc(scan.preset)}</td></tr>`).join("");
}

function setKill(kill) {
  state.kill = kill;
  const el = $("kill-state");
  el.className = "badge " + (kill.tripped ? "bad" : "ok");
  el.textContent = kill.tripped ? `TRIPPED (${kill.level})` : "armed";
  el.dataset.state = kill.tripped ? `tripped-${kill.level}` : "armed";
  el.title = `${kill.requested_by ?? ""} ${kill.reason ?? ""}`;
}

function onControl(e) {
  const d = e.data;
  say(`${e.type} by ${d.requested_by}: ${d.reason ?? ""}`);
  if (e.type === "ctl.kill.v1") setKill({ tripped: true, level: d.level, requested_by: d.requested_by, reason: d.reason });
  if (e.type === "ctl.kill_reset.v1") setKill({ tripped: false, requested_by: d.requested_by, reason: d.reason });
}

function setRegime(state_, stale) {
  const el = $("regime");
  el.textContent = state_ + (stale ? " (stale)" : "");
  el.className = "badge " + (state_ === "RISK_ON" ? "ok" : state_ === "RISK_OFF" ? "bad" : "warn");
}

// -- the bridge ----------------------------------------------------------------------------
function onFrame(frame) {
  window.breakout.frames += 1;
  const e = frame.event;
  const d = e.data;
  switch (frame.kind) {
    case "DENSITY_UPDATE": if (d.symbol === state.symbol) onDensity(d); break;
    case "ACTIVITY": if (d.symbol === state.symbol) onActivity(d); else if (d.last_price) state.lastPrice[d.symbol] = num(d.last_price); break;
    case "LEVELS": if (d.symbol === state.symbol) drawLevels(d); break;
    case "CANDLE": if (d.symbol === state.symbol) addCandle(d); break;
    case "POSITION": onPosition(e); break;
    case "SIGNAL": prependRow("signals", signalRow(d)); break;
    case "SCAN": renderScan(d); break;
    case "ORDER": prependRow("orders", orderRow(e)); break;
    case "NEWS": if (e.type === "news.classified.v1") prependRow("news", newsRow(d)); break;
    case "REGIME": if (e.type === "regime.changed.v1") setRegime(d.state, false); else if (e.type === "regime.freshness.v1" && d.state) setRegime(d.state, d.stale); break;
    case "CONTROL": onControl(e); break;
    case "RISK": if (/kill/.test(e.type)) say(`risk: ${e.type}`); break;
  }
}

function connectSocket() {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  const sym = state.symbol;
  const subjects = [`feat.*.${sym}`, `md.candle.*.*.${sym}`, "scan.>", "sig.>", "pos.>", "exec.order.>", "risk.>", "ctl.>", "regime.>", "news.>"];
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?subjects=${encodeURIComponent(subjects.join(","))}`;
  const ws = state.token ? new WebSocket(url, ["bearer", state.token]) : new WebSocket(url);
  state.ws = ws;
  $("conn").textContent = "connecting";
  ws.onmessage = (msg) => {
    const frame = JSON.parse(msg.data);
    if (frame.type === "subscribed") { $("conn").textContent = "live"; $("conn").className = "badge ok"; return; }
    if (frame.type === "resync") { load().catch((err) => say(String(err.message || err))); return; }
    onFrame(frame);
  };
  ws.onclose = (ev) => {
    $("conn").textContent = `closed ${ev.code}${ev.reason ? ": " + ev.reason : ""}`;
    $("conn").className = "badge bad";
    if (ev.code !== 4401 && ev.code !== 4400) setTimeout(() => start(), 2000); // reconnect: reload state, resubscribe
  };
}

// -- loading the state as of now -----------------------------------------------------------
async function load() {
  const sym = state.symbol;
  const [status, density, levels, activity, positions, signals, news, regime, scans, orders] = await Promise.all([
    api("/api/trades/status"), api(`/api/features/density?symbol=${sym}`), api(`/api/features/levels?symbol=${sym}`),
    api(`/api/features/activity?symbol=${sym}`), api("/api/trades/positions"), api("/api/signals?limit=50"),
    api("/api/news/classified?limit=30"), api("/api/regime/current"), api("/api/scan"), api("/api/orders?limit=30"),
  ]);
  setKill(status.kill);
  state.walls.clear();
  for (const w of density.active) upsertWall(w);
  renderWalls();
  if (levels) drawLevels(levels.data);
  if (activity && activity.activity) {
    // The price history the chart starts with: the symbol's last activity events.
    const latest = activity.activity;
    const page = await api(`/api/events?stream=${encodeURIComponent(latest.stream)}&after=${Math.max(0, latest.version - 300)}&limit=300`);
    for (const e of page.events) if (e.data.type === "feat.trade_activity.v1") addPrice(e.data.ts_ms, num(e.data.last_price));
    onActivity(latest.data);
  }
  state.positions.clear();
  for (const view of positions) state.positions.set(view.stream, view.fields);
  renderPositions();
  $("signals").tBodies[0].innerHTML = signals.map((e) => signalRow(e.data)).join("");
  $("news").tBodies[0].innerHTML = news.map((e) => newsRow(e.data)).join("");
  $("orders").tBodies[0].innerHTML = orders.map(orderRow).join("");
  if (regime) setRegime(regime.state, regime.stale);
  if (scans.length) { const first = await api(`/api/scan/${scans[0].preset}`); if (first) renderScan(first.data); }
}

async function start() {
  state.symbol = $("symbol").value.trim().toUpperCase();
  $("chart-symbol").textContent = state.symbol;
  setupChart();
  // Subscribe first, then load: an event landing in between is seen twice (idempotent
  // updates), never missed.
  connectSocket();
  try { await load(); say(""); } catch (err) { say(String(err.message || err)); }
}

// crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
function requestId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function command(path, body) {
  try {
    // A fresh Idempotency-Key per command: the gateway refuses a key it has seen (409, a replay).
    const accepted = await api(path, { method: "POST", headers: { "Idempotency-Key": requestId() }, body: JSON.stringify({ requested_by: "dashboard", reason: "from the dashboard", ...body }) });
    say(`recorded ${accepted.type} (${accepted.stream} v${accepted.stream_version})`);
  } catch (err) { say(String(err.message || err)); }
}

// `make run` prints the dashboard as `/ui#token=…`: a fragment never reaches a server or its
// logs. Take the token from it once, keep it for this tab, and drop it from the address bar.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {
  state.token = fragment.get("token");
  sessionStorage.setItem("breakout.token", state.token);
  history.replaceState(null, "", location.pathname + location.search);
}
$("token").value = state.token;
$("connect").onclick = () => { state.token = $("token").value.trim(); sessionStorage.setItem("breakout.token", state.token); start(); };
$("symbol").onchange = () => start();
$("kill-entries").onclick = () => command("/api/ctl/kill", { level: "entries" });
$("kill-flatten").onclick = () => { if (confirm("Close every position at market and halt?")) command("/api/ctl/kill", { level: "flatten" }); };
$("kill-reset").onclick = () => command("/api/ctl/reset", {});
document.addEventListener("click", (ev) => {
  const close = ev.target.closest("[data-close]");
  if (close) command(`/api/ctl/close/${encodeURIComponent(close.dataset.close)}`, {});
  const link = ev.target.closest("[data-symbol]");
  if (link) { ev.preventDefault(); $("symbol").value = link.dataset.symbol; start(); }
});
start();
