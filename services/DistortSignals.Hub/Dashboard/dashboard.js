// The live dashboard: one WebSocket to /ws subscribed to every channel, rendered with the DOM and <canvas>.
"use strict";

const CHANNELS = ["bars", "signals", "decisions", "directives", "executions", "accounts"];
const KEY_STORAGE = "distortsignals.apiKey";
const MAX_BARS = 300;
const MAX_ROWS = 200;

const charts = new Map();
const accounts = new Map();
let lastSeq = null;
let socket = null;
let retryDelay = 1000;
let retryTimer = null;

const $ = (id) => document.getElementById(id);

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status-text").textContent = text;
}

function notice(text) {
  $("notice").hidden = !text;
  $("notice").textContent = text || "";
}

// A key given as ?key= is kept for this tab only and taken out of the address bar.
function initialKey() {
  const params = new URLSearchParams(location.search);
  const key = params.get("key");
  if (key) {
    sessionStorage.setItem(KEY_STORAGE, key);
    params.delete("key");
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }
  $("key").value = sessionStorage.getItem(KEY_STORAGE) || "";
}

// Browsers cannot set headers on a WebSocket, so the key buys a short-lived token for ?token=.
// The first connection asks for since=0: the hub replays what its buffer still holds, so the page opens
// with the recent history rather than empty; later connections resume after the last event seen.
async function socketUrl() {
  const params = new URLSearchParams();
  params.set("since", String(lastSeq === null ? 0 : lastSeq));
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) {
    const response = await fetch("/api/v1/ws-tokens", { method: "POST", headers: { "X-API-Key": key } });
    if (response.ok) {
      const body = await response.json();
      params.set("token", body.token);
    } else {
      throw new Error(response.status === 401 || response.status === 403
        ? "the API key was refused (HTTP " + response.status + ")"
        : "could not get a WebSocket token (HTTP " + response.status + ")");
    }
  }
  const query = params.toString();
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws" + (query ? "?" + query : "");
}

async function connect() {
  clearTimeout(retryTimer);
  if (socket) {
    socket.onclose = null;
    socket.close(1000, "reconnecting");
  }
  setStatus("connecting", "connecting…");
  let url;
  try {
    url = await socketUrl();
  } catch (error) {
    setStatus("error", error.message);
    scheduleReconnect();
    return;
  }
  const ws = new WebSocket(url);
  socket = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", channels: CHANNELS }));
  ws.onmessage = (message) => handle(JSON.parse(message.data));
  ws.onclose = (close) => {
    setStatus("disconnected", "disconnected" + (close.reason ? ": " + close.reason : " (" + close.code + ")"));
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  retryTimer = setTimeout(connect, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 15000);
}

function handle(message) {
  switch (message.type) {
    case "subscribed":
      retryDelay = 1000;
      setStatus("live", "live");
      break;
    case "event":
      lastSeq = message.seq;
      $("seq").textContent = "seq " + message.seq;
      onEvent(message.channel, message.event);
      break;
    case "gap":
      // On the first load a gap only says the buffer no longer reaches back to the first event.
      if (lastSeq !== null) {
        notice("Missed events " + message.from + "–" + message.to + " (the connection fell behind or resumed too late).");
      }
      break;
    case "error":
      notice("Hub: " + message.message);
      break;
  }
}

function onEvent(channel, event) {
  const data = event.data || {};
  switch (channel) {
    case "bars": addBar(data); break;
    case "signals": addSignal(data); break;
    case "accounts": updateAccount(event, data); break;
    default: addFeedRow(channel, event, data); break;
  }
}

// ---- prices -------------------------------------------------------------------------------

function chartFor(symbol, timeframe) {
  const id = symbol + " " + timeframe;
  let chart = charts.get(id);
  if (!chart) {
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.symbol = symbol;
    box.dataset.timeframe = timeframe;
    const title = document.createElement("h3");
    const name = document.createElement("span");
    name.textContent = symbol + " · " + timeframe;
    const last = document.createElement("span");
    last.className = "last";
    title.append(name, last);
    const canvas = document.createElement("canvas");
    canvas.dataset.bars = "0";
    canvas.dataset.signals = "0";
    box.append(title, canvas);
    const list = $("charts");
    list.querySelector(".empty")?.remove();
    list.append(box);
    chart = { bars: [], signals: [], canvas, last };
    charts.set(id, chart);
  }
  return chart;
}

function addBar(bar) {
  const chart = chartFor(bar.symbol, bar.timeframe);
  const time = Date.parse(bar.openTime);
  const at = chart.bars.findIndex((b) => b.time >= time);
  const point = { time, close: Number(bar.close) };
  if (at < 0) chart.bars.push(point);
  else if (chart.bars[at].time === time) chart.bars[at] = point; // a repeated delivery
  else chart.bars.splice(at, 0, point);
  if (chart.bars.length > MAX_BARS) chart.bars.splice(0, chart.bars.length - MAX_BARS);
  chart.last.textContent = fmt(chart.bars[chart.bars.length - 1].close);
  draw(chart);
}

function markSignal(signal) {
  const chart = chartFor(signal.symbol, signal.timeframe);
  chart.signals.push({ time: Date.parse(signal.barTime), buy: signal.direction === "Buy" });
  if (chart.signals.length > MAX_BARS) chart.signals.shift();
  draw(chart);
}

function draw(chart) {
  const canvas = chart.canvas;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 380;
  const height = canvas.clientHeight || 220;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);

  const bars = chart.bars;
  canvas.dataset.bars = String(bars.length);
  if (bars.length === 0) {
    canvas.dataset.signals = "0";
    return;
  }
  const pad = { left: 8, right: 64, top: 14, bottom: 14 };
  const closes = bars.map((b) => b.close);
  let low = Math.min(...closes);
  let high = Math.max(...closes);
  if (high === low) { high += Math.abs(high) * 0.001 || 1; low -= Math.abs(low) * 0.001 || 1; }
  const x = (i) => pad.left + (bars.length === 1 ? (width - pad.left - pad.right) / 2 : i * (width - pad.left - pad.right) / (bars.length - 1));
  const y = (price) => pad.top + (high - price) * (height - pad.top - pad.bottom) / (high - low);

  g.strokeStyle = "#2a323c";
  g.fillStyle = "#7d8894";
  g.font = "11px system-ui, sans-serif";
  g.lineWidth = 1;
  for (const price of [high, (high + low) / 2, low]) {
    g.beginPath();
    g.moveTo(pad.left, y(price));
    g.lineTo(width - pad.right, y(price));
    g.stroke();
    g.fillText(fmt(price), width - pad.right + 6, y(price) + 4);
  }

  g.strokeStyle = "#4c9be8";
  g.lineWidth = 1.5;
  g.beginPath();
  bars.forEach((b, i) => (i === 0 ? g.moveTo(x(i), y(b.close)) : g.lineTo(x(i), y(b.close))));
  if (bars.length === 1) g.arc(x(0), y(bars[0].close), 2, 0, Math.PI * 2);
  g.stroke();

  let plotted = 0;
  for (const signal of chart.signals) {
    const i = bars.findIndex((b) => b.time === signal.time);
    if (i < 0) continue;
    triangle(g, x(i), y(bars[i].close), signal.buy);
    plotted++;
  }
  canvas.dataset.signals = String(plotted);
}

// Buy: an up triangle under the close; sell: a down triangle over it.
function triangle(g, cx, cy, up) {
  const size = 6;
  const tip = up ? cy + 4 : cy - 4;
  const base = up ? tip + size * 1.6 : tip - size * 1.6;
  g.fillStyle = up ? "#2fbf71" : "#e5534b";
  g.beginPath();
  g.moveTo(cx, tip);
  g.lineTo(cx - size, base);
  g.lineTo(cx + size, base);
  g.closePath();
  g.fill();
}

window.addEventListener("resize", () => charts.forEach(draw));

// ---- tables -------------------------------------------------------------------------------

function addSignal(signal) {
  const cells = [
    time(signal.time || signal.barTime), signal.strategy, signal.symbol, signal.direction,
    fmt(signal.strength, 2), fmt(signal.entry), fmt(signal.stopLoss), fmt(signal.takeProfit),
  ];
  const row = prependRow($("signals"), cells, signal.id);
  row.dataset.symbol = signal.symbol;
  row.dataset.direction = signal.direction;
  row.cells[3].className = signal.direction;
  markSignal(signal);
}

// Decisions, directives and executions: their roles come later, so their fields are shown as they are.
// A row is keyed by data.id, so directive.updated replaces the row of its directive.
function addFeedRow(channel, event, data) {
  const table = $(channel);
  if (!table) return;
  const cells = [time(event.time), shortType(event.type), event.subject, details(data)];
  const row = prependRow(table, cells, data.id);
  row.cells[3].className = "details";
}

function prependRow(table, cells, key) {
  const body = table.tBodies[0];
  if (key) body.querySelector('tr[data-key="' + CSS.escape(String(key)) + '"]')?.remove();
  const row = document.createElement("tr");
  if (key) row.dataset.key = String(key);
  for (const value of cells) {
    const cell = document.createElement("td");
    cell.textContent = value ?? "";
    row.append(cell);
  }
  row.className = "fresh";
  body.prepend(row);
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  return row;
}

function details(data) {
  return Object.entries(data)
    .filter(([name]) => name !== "id")
    .map(([name, value]) => name + "=" + (value !== null && typeof value === "object" ? JSON.stringify(value) : fmtValue(value)))
    .join("  ");
}

// ---- accounts -----------------------------------------------------------------------------

function updateAccount(event, data) {
  const name = data.account || event.subject;
  let account = accounts.get(name);
  if (!account) {
    const card = document.createElement("div");
    card.className = "account";
    card.dataset.account = name;
    const title = document.createElement("h3");
    const label = document.createElement("span");
    label.textContent = name;
    const breaker = document.createElement("span");
    breaker.className = "breaker";
    breaker.textContent = "breaker ?";
    title.append(label, breaker);
    const fields = document.createElement("dl");
    card.append(title, fields);
    const list = $("accounts");
    list.querySelector(".empty")?.remove();
    list.append(card);
    account = { card, breaker, fields, values: {} };
    accounts.set(name, account);
  }

  const state = breakerState(event, data);
  if (state) {
    account.breaker.dataset.state = state;
    account.breaker.textContent = "breaker " + state;
    account.card.dataset.breaker = state;
  }
  for (const [field, value] of Object.entries(data)) {
    if (value === null || typeof value !== "object") account.values[field] = value;
  }
  account.values.updated = time(event.time);
  account.fields.replaceChildren(...Object.entries(account.values)
    .filter(([field]) => field !== "account")
    .flatMap(([field, value]) => {
      const term = document.createElement("dt");
      term.textContent = field;
      const description = document.createElement("dd");
      description.textContent = fmtValue(value);
      return [term, description];
    }));
}

// The breaker state under the names the risk role may use: breaker, breaker.state, circuitBreaker.state, or state on breaker.changed.
function breakerState(event, data) {
  const breaker = data.breaker ?? data.circuitBreaker;
  if (typeof breaker === "string") return breaker;
  if (breaker && typeof breaker.state === "string") return breaker.state;
  if (shortType(event.type) === "breaker.changed" && typeof data.state === "string") return data.state;
  return null;
}

// ---- formatting ---------------------------------------------------------------------------

function shortType(type) {
  const match = /^io\.distortsignals\.(.+)\.v\d+$/.exec(type || "");
  return match ? match[1] : type;
}

function time(value) {
  if (!value) return "";
  const date = new Date(value);
  return isNaN(date) ? String(value) : date.toISOString().replace("T", " ").slice(0, 19);
}

function fmt(value, digits) {
  if (value === null || value === undefined || value === "") return "";
  const number = Number(value);
  if (!Number.isFinite(number)) return String(value);
  if (digits !== undefined) return number.toFixed(digits);
  return number.toFixed(Math.abs(number) >= 100 ? 2 : 5);
}

function fmtValue(value) {
  return typeof value === "number" && !Number.isInteger(value) ? fmt(value) : String(value);
}

$("key-form").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const key = $("key").value.trim();
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  retryDelay = 1000;
  connect();
});

initialKey();
connect();
