// The appstreamd viewer: redeems the entitlement URL it was served from (POST), attaches
// to the session's stream over a WebSocket, and shows the program full-window —
// xterm.js for terminal programs, noVNC for x11 programs. After a network drop it
// reconnects with the resume secret while the server still keeps the session.

const banner = document.getElementById('banner');
const screen = document.getElementById('screen');
const entitlementUrl = location.origin + location.pathname.replace(/\/+$/, '');
const storeKey = 'appstreamd:' + location.pathname;

function show(text, kind = 'info') {
  banner.textContent = text;
  banner.className = kind;
  banner.dataset.state = kind;
}
function hide() { banner.className = 'hidden'; }

const MESSAGES = {
  EntitlementExpiredException: 'This link has already been used or has expired. Ask for a new link to start another session.',
  EntitlementNotFoundException: 'This link is not valid. Check that you copied the whole link.',
  ConflictException: 'The application is not available right now.',
  NoAvailableInstanceException: 'All streaming slots are in use. Try again in a moment.',
};

async function post(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const code = String(data.__type || '').split('#').pop();
    const err = new Error(MESSAGES[code] || data.message || ('Request failed: ' + res.status));
    err.code = code;
    err.status = res.status;
    throw err;
  }
  return data;
}

async function redeem() {
  const saved = sessionStorage.getItem(storeKey);
  if (saved) {
    // A reload of a redeemed link: resume the same session instead of burning a new one.
    const { resumeSecret } = JSON.parse(saved);
    try {
      const grant = await post(entitlementUrl + '/resume', { resumeSecret });
      return { ...grant, resumeSecret };
    } catch {
      sessionStorage.removeItem(storeKey);
    }
  }
  const grant = await post(entitlementUrl);
  sessionStorage.setItem(storeKey, JSON.stringify({ resumeSecret: grant.resumeSecret }));
  return grant;
}

let grant;
let ended = false;
let renderer;

function socketUrl(g) {
  return g.streamUrl + '?token=' + encodeURIComponent(g.connectToken);
}

async function start() {
  try {
    grant = await redeem();
  } catch (err) {
    ended = true;
    show(err.message, 'error');
    document.body.dataset.state = err.code === 'EntitlementExpiredException' ? 'expired' : 'error';
    return;
  }
  renderer = grant.protocol === 'rfb' ? await startRfb() : await startTerminal();
  connect();
}

async function startTerminal() {
  const { Terminal } = await import('/vendor/xterm/lib/xterm.mjs');
  const term = new Terminal({ cursorBlink: true, convertEol: false, fontSize: 15, scrollback: 5000 });
  term.open(screen);
  window.appstreamTerminal = term;
  let ws = null;
  const fit = () => {
    const cell = term._core?._renderService?.dimensions?.css?.cell;
    if (!cell || !cell.width || !cell.height) return;
    const cols = Math.max(20, Math.floor((screen.clientWidth - 8) / cell.width));
    const rows = Math.max(5, Math.floor((screen.clientHeight - 8) / cell.height));
    if (cols !== term.cols || rows !== term.rows) term.resize(cols, rows);
  };
  window.addEventListener('resize', fit);
  term.onResize(({ cols, rows }) => ws?.readyState === 1 && ws.send(JSON.stringify({ type: 'resize', cols, rows })));
  const encoder = new TextEncoder();
  term.onData((data) => ws?.readyState === 1 && ws.send(encoder.encode(data)));
  term.focus();
  return {
    attach(socket) {
      ws = socket;
      socket.binaryType = 'arraybuffer';
      socket.onmessage = (ev) => term.write(new Uint8Array(ev.data));
      socket.onopen = () => {
        hide();
        fit();
        socket.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
        term.focus();
      };
      return socket;
    },
  };
}

async function startRfb() {
  const { default: RFB } = await import('/vendor/novnc/core/rfb.js');
  return {
    attach() {
      const rfb = new RFB(screen, socketUrl(grant), { wsProtocols: ['binary'] });
      rfb.scaleViewport = true;
      rfb.addEventListener('connect', () => { hide(); rfb.focus(); });
      window.appstreamRfb = rfb;
      return rfb;
    },
  };
}

function connect() {
  const target = renderer.attach(grant.protocol === 'rfb' ? null : new WebSocket(socketUrl(grant)));
  const onClose = (code) => {
    if (ended) return;
    if (code === 4000) {
      ended = true;
      sessionStorage.removeItem(storeKey);
      document.body.dataset.state = 'ended';
      show('The session has ended.', 'ended');
      return;
    }
    reconnect();
  };
  if (target instanceof WebSocket) target.onclose = (ev) => onClose(ev.code);
  else target.addEventListener('disconnect', (ev) => onClose(ev.detail?.clean ? 4000 : 1006));
}

async function reconnect(attempt = 0) {
  show('Connection lost. Reconnecting…', 'info');
  await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
  try {
    const next = await post(entitlementUrl + '/resume', { resumeSecret: grant.resumeSecret });
    grant = { ...grant, ...next };
    connect();
  } catch (err) {
    if (err.status === 410 || err.status === 404 || err.status === 401) {
      ended = true;
      document.body.dataset.state = 'ended';
      show('The session has ended.', 'ended');
      return;
    }
    if (attempt < 30) reconnect(attempt + 1);
  }
}

document.body.dataset.state = 'starting';
start().then(() => { if (!ended) document.body.dataset.state = 'running'; });
