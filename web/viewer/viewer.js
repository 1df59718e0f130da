// The appstreamd viewer. Served on GET of an entitlement URL, it redeems that URL (POST),
// opens the session's stream WebSocket and shows the program full-window: xterm.js for
// terminal programs, noVNC for x11 programs. When the connection drops it gets a new
// connect token with the resume secret and attaches again; a reload of the tab does the
// same (the secret is kept in sessionStorage), so a redeemed link is never redeemed twice.
//
// Plain ES module, no build step; every library comes from appstreamd itself (/vendor/...).
//
// For people and tests: document.body.dataset.state is one of starting, connecting,
// running, reconnecting, replaced, ended, expired, invalid, error; dataset.connections
// counts successful attaches. window.appstreamSocket is the current WebSocket,
// window.appstreamTerminal the xterm.js Terminal, window.appstreamRfb the noVNC RFB.

const screen = document.getElementById('screen');
const banner = document.getElementById('banner');
const notice = document.getElementById('notice');
const noticeTitle = document.getElementById('notice-title');
const noticeText = document.getElementById('notice-text');
const noticeAction = document.getElementById('notice-action');

const entitlementUrl = location.origin + location.pathname.replace(/\/+$/, '');
const storeKey = 'appstreamd:resume:' + location.pathname;

/** WebSocket close codes the server uses (src/stream/types.ts CLIENT_CLOSE). */
const CLOSE_PROGRAM_ENDED = 4000;
const CLOSE_REPLACED = 4001;

/** Reconnect attempts after one drop before asking the person to retry (about 30 s). */
const MAX_RECONNECT_ATTEMPTS = 10;

// ---------------------------------------------------------------------------- UI states

function setState(state) {
  document.body.dataset.state = state;
}

function progress(state, text) {
  setState(state);
  notice.classList.add('hidden');
  banner.textContent = text;
  banner.classList.remove('hidden');
}

function running() {
  setState('running');
  banner.classList.add('hidden');
  notice.classList.add('hidden');
}

/** A blocking message; `action` ({ label, run }) adds one button. */
function showNotice(state, title, text, action) {
  setState(state);
  banner.classList.add('hidden');
  noticeTitle.textContent = title;
  noticeText.textContent = text;
  if (action) {
    noticeAction.textContent = action.label;
    noticeAction.onclick = () => {
      noticeAction.onclick = null;
      action.run();
    };
    noticeAction.classList.remove('hidden');
  } else {
    noticeAction.classList.add('hidden');
    noticeAction.onclick = null;
  }
  notice.classList.remove('hidden');
  if (action) noticeAction.focus();
}

const reloadAction = { label: 'Try again', run: () => location.reload() };

function showEnded() {
  showNotice('ended', 'The session has ended', 'The application has closed. You can close this window.');
}

/** Redemption and resume failures, by AWS error code, as a person should read them. */
function showFailure(err) {
  switch (err.code) {
    case 'EntitlementExpiredException':
      return showNotice('expired', 'This link can no longer be used', 'This link has already been used or has expired. Ask for a new link to start another session.');
    case 'EntitlementNotFoundException':
      return showNotice('invalid', 'This link is not valid', 'Check that you copied the whole link, or ask for a new one.');
    case 'ConflictException':
      return showNotice('error', 'The application is not available', 'The application cannot start sessions right now. Try again later.', reloadAction);
    case 'NoAvailableInstanceException':
      return showNotice('error', 'No streaming slot is free', 'All streaming slots are in use. Try again in a moment.', reloadAction);
    default:
      return showNotice('error', 'The application could not be shown', err.message || 'Something went wrong.', reloadAction);
  }
}

// ---------------------------------------------------------------------------- API calls

class ApiFailure extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function post(url, body) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body ?? {}),
      cache: 'no-store',
    });
  } catch {
    throw new ApiFailure('The server cannot be reached.', 'NetworkError', 0);
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const code = String(data.__type || '').split('#').pop();
    throw new ApiFailure(data.message || 'The request failed (HTTP ' + res.status + ').', code, res.status);
  }
  return data;
}

/** Resume answers that mean the session is over (or the secret is not for it): no retry helps. */
function sessionIsGone(err) {
  return err.status === 410 || err.status === 404 || err.status === 401;
}

const savedSecret = {
  load() {
    try {
      return JSON.parse(sessionStorage.getItem(storeKey) || 'null')?.resumeSecret ?? null;
    } catch {
      return null;
    }
  },
  save(resumeSecret) {
    try {
      sessionStorage.setItem(storeKey, JSON.stringify({ resumeSecret }));
    } catch {
      // storage disabled: a reload will not resume, everything else works
    }
  },
};

function resume(resumeSecret) {
  return post(entitlementUrl + '/resume', { resumeSecret });
}

/** The first grant of this page: resume what this tab redeemed before, else redeem. */
async function firstGrant() {
  const saved = savedSecret.load();
  if (saved) {
    try {
      return { ...(await resume(saved)), resumeSecret: saved };
    } catch (err) {
      // The secret stays: every later reload of this tab says "ended" too, not "link used".
      if (!sessionIsGone(err)) throw err;
      throw new ApiFailure('The session has ended.', 'SessionEnded', err.status);
    }
  }
  const grant = await post(entitlementUrl);
  savedSecret.save(grant.resumeSecret);
  return grant;
}

// ---------------------------------------------------------------------------- renderers
// A renderer draws one program: attach(socket, ready) wires a fresh WebSocket (ready() is
// called once the program is visible), detach() forgets it, end() freezes the view.

async function terminalRenderer() {
  const { Terminal } = await import('/vendor/xterm/lib/xterm.mjs');
  const term = new Terminal({
    cursorBlink: true,
    fontSize: 15,
    fontFamily: "'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace",
    scrollback: 5000,
  });
  term.open(screen);
  window.appstreamTerminal = term;
  let ws = null;
  const encoder = new TextEncoder();
  const isOpen = () => ws !== null && ws.readyState === WebSocket.OPEN;
  const sendSize = () => isOpen() && ws.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));

  // Rows and columns that fill the window. The cell size is read from the rendered grid
  // (.xterm-screen spans exactly cols × rows cells), not from xterm internals.
  const SCROLLBAR = 14;
  const PADDING = 8;
  const fit = () => {
    const grid = screen.querySelector('.xterm-screen');
    if (!grid) return;
    const { width, height } = grid.getBoundingClientRect();
    if (!width || !height) return;
    const cellWidth = width / term.cols;
    const cellHeight = height / term.rows;
    const cols = Math.max(20, Math.floor((screen.clientWidth - PADDING - SCROLLBAR) / cellWidth));
    const rows = Math.max(5, Math.floor((screen.clientHeight - PADDING) / cellHeight));
    if (cols !== term.cols || rows !== term.rows) term.resize(cols, rows);
  };
  new ResizeObserver(() => fit()).observe(screen);
  requestAnimationFrame(fit);

  term.onResize(sendSize);
  term.onData((data) => isOpen() && ws.send(encoder.encode(data)));
  // Mouse reports in legacy encodings arrive as binary strings (one char per byte).
  term.onBinary((data) => isOpen() && ws.send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));

  return {
    attach(socket, ready) {
      ws = socket;
      socket.binaryType = 'arraybuffer';
      socket.addEventListener('message', (ev) => {
        if (ws !== socket) return;
        term.write(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data));
      });
      socket.addEventListener('open', () => {
        fit();
        sendSize();
        term.focus();
        ready();
      });
    },
    detach() {
      ws = null;
    },
    end() {
      ws = null;
      term.options.cursorBlink = false;
      term.options.disableStdin = true;
      term.blur();
    },
  };
}

async function rfbRenderer() {
  const { default: RFB } = await import('/vendor/novnc/core/rfb.js');
  let rfb = null;
  let rfbGone = true;
  return {
    attach(socket, ready) {
      // noVNC is handed the WebSocket we opened, so the close code (program ended, replaced,
      // network drop) stays visible to us; noVNC's own "clean" flag cannot tell them apart.
      const current = new RFB(screen, socket, { shared: true });
      rfb = current;
      rfbGone = false;
      current.scaleViewport = true; // the whole remote desktop, scaled to the window
      current.resizeSession = false; // the program keeps the desktop size it started with
      current.focusOnClick = true;
      current.background = '#111';
      current.addEventListener('connect', () => {
        current.focus();
        ready();
      });
      current.addEventListener('disconnect', () => {
        if (rfb === current) rfbGone = true;
      });
      window.appstreamRfb = current;
    },
    detach() {
      const current = rfb;
      rfb = null;
      if (current && !rfbGone) {
        try {
          current.disconnect();
        } catch {
          // already torn down
        }
      }
    },
    end() {
      this.detach();
    },
  };
}

// ---------------------------------------------------------------------------- connection

let grant = null;
let renderer = null;
let socket = null;
let connections = 0;
let attempts = 0;
let finished = false;
let leaving = false;

window.addEventListener('pagehide', () => {
  leaving = true;
});
// Back/forward cache: the page comes back without its socket; attach again.
window.addEventListener('pageshow', (ev) => {
  if (!ev.persisted) return;
  leaving = false;
  if (!finished && renderer && !socket) reconnect();
});

function finish(show) {
  finished = true;
  const current = socket;
  socket = null;
  current?.close();
  renderer?.end();
  show();
}

function openStream() {
  const url = grant.streamUrl + '?token=' + encodeURIComponent(grant.connectToken);
  const ws = grant.protocol === 'rfb' ? new WebSocket(url, ['binary']) : new WebSocket(url);
  socket = ws;
  window.appstreamSocket = ws;
  ws.addEventListener('close', (ev) => {
    if (socket !== ws) return; // replaced on purpose
    socket = null;
    // Let the renderer (noVNC) see the close first, then decide what it means.
    setTimeout(() => {
      renderer.detach();
      onClose(ev.code);
    }, 0);
  });
  renderer.attach(ws, () => {
    if (socket !== ws) return;
    attempts = 0;
    connections += 1;
    document.body.dataset.connections = String(connections);
    running();
  });
}

function onClose(code) {
  if (finished || leaving) return;
  if (code === CLOSE_PROGRAM_ENDED) return finish(showEnded);
  if (code === CLOSE_REPLACED) {
    // Another window attached to this session; taking it back is the person's choice,
    // otherwise two windows would keep stealing it from each other.
    return showNotice('replaced', 'Opened in another window', 'This session is now shown in another window or tab.', {
      label: 'Show it here',
      run: () => reconnect(),
    });
  }
  reconnect();
}

async function reconnect() {
  if (finished) return;
  attempts += 1;
  if (attempts > MAX_RECONNECT_ATTEMPTS) {
    attempts = 0;
    return showNotice('error', 'Connection lost', 'The connection to the application could not be restored.', {
      label: 'Try again',
      run: () => reconnect(),
    });
  }
  progress('reconnecting', 'Connection lost. Reconnecting…');
  await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** (attempts - 1))));
  if (finished) return;
  try {
    const next = await resume(grant.resumeSecret);
    grant = { ...grant, ...next };
  } catch (err) {
    if (sessionIsGone(err)) return finish(showEnded);
    return reconnect();
  }
  openStream();
}

async function start() {
  setState('starting');
  try {
    grant = await firstGrant();
  } catch (err) {
    if (err.code === 'SessionEnded') return finish(showEnded);
    finished = true;
    return showFailure(err);
  }
  progress('connecting', 'Connecting…');
  try {
    renderer = grant.protocol === 'rfb' ? await rfbRenderer() : await terminalRenderer();
  } catch (err) {
    finished = true;
    return showNotice('error', 'The viewer could not start', String(err?.message || err), reloadAction);
  }
  openStream();
}

void start();
