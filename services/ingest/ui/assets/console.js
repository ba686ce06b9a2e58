// Hermes incident console: keeps the server-rendered live regions fresh (polling with ETag) and sends
// approvals and pause/resume to the same JSON API the CLI uses. No dependencies, no build step.
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
const csrf = meta('csrf-token');
const user = meta('hermes-user');
const flash = document.getElementById('flash');
const etags = new WeakMap();
let expired = false;

function say(message, isError = false) {
  flash.textContent = message;
  flash.className = isError ? 'error' : 'ok';
  flash.setAttribute('role', isError ? 'alert' : 'status');
}

function sessionExpired() {
  expired = true;
  flash.className = 'error';
  flash.setAttribute('role', 'alert');
  flash.replaceChildren('Your session has ended. ');
  const link = document.createElement('a');
  link.href = `/ui/login?next=${encodeURIComponent(location.pathname)}`;
  link.textContent = 'Sign in again';
  flash.append(link);
}

async function refresh(region, force = false) {
  const active = document.activeElement;
  // Never rewrite a region under a control the user is typing into or choosing from.
  if (!force && region.contains(active) && active.matches('input, select, textarea')) return;
  const headers = {};
  const etag = etags.get(region);
  if (etag && !force) headers['if-none-match'] = etag;
  const response = await fetch(region.dataset.live, {
    headers,
    cache: 'no-store',
    credentials: 'same-origin',
  });
  if (response.status === 304) return;
  if (response.status === 401) return sessionExpired();
  if (!response.ok) throw new Error(`${region.dataset.live} answered ${response.status}`);
  const html = await response.text();
  etags.set(region, response.headers.get('etag'));
  const open = [...region.querySelectorAll('details[open][id]')].map((d) => d.id);
  const focused = region.contains(active) && active.id ? active.id : null;
  region.innerHTML = html;
  for (const id of open) document.getElementById(id)?.setAttribute('open', '');
  if (focused) document.getElementById(focused)?.focus();
}

function poll(region) {
  const interval = Number(region.dataset.interval) || 2000;
  const tick = async () => {
    if (expired) return;
    if (!document.hidden) {
      try {
        await refresh(region);
        if (flash.dataset.stale === region.id) {
          flash.dataset.stale = '';
          say('');
        }
      } catch (error) {
        flash.dataset.stale = region.id;
        say(`Live update failed (${error.message}); retrying.`, true);
      }
    }
    setTimeout(tick, interval);
  };
  setTimeout(tick, interval);
}

const regions = () => [...document.querySelectorAll('[data-live]')];

async function refreshAll() {
  await Promise.all(regions().map((region) => refresh(region, true).catch(() => undefined)));
}

async function post(button) {
  // data-confirm: ask first; data-reason: ask why (sent as `reason`; cancelling sends nothing);
  // data-region: the region a fleet incident's Release button names.
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  const body = { by: user };
  if (button.dataset.region) body.region = button.dataset.region;
  if (button.dataset.reason) {
    const reason = window.prompt(button.dataset.reason);
    if (!reason?.trim()) return;
    body.reason = reason.trim();
  }
  button.disabled = true;
  try {
    const response = await fetch(button.dataset.post, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    });
    if (response.status === 401) return sessionExpired();
    const answer = await response.json().catch(() => ({}));
    if (!response.ok)
      return say(`${button.textContent.trim()} failed: ${answer.error ?? response.status}`, true);
    const decided = answer.approval?.decidedBy ? ` by ${answer.approval.decidedBy}` : '';
    const paused = answer.paused ? ` by ${answer.by}` : '';
    say(`${button.dataset.done}${decided || paused}.`);
    await refreshAll();
  } catch (error) {
    say(`${button.textContent.trim()} failed: ${error.message}`, true);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-post]');
  if (button) post(button);
});

const filters = document.getElementById('filters');
const list = document.getElementById('live-incidents');
if (filters && list) {
  const apply = () => {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(filters)) if (value) query.set(name, String(value));
    const search = query.toString() ? `?${query}` : '';
    list.dataset.live = `/ui/live/incidents${search}`;
    history.replaceState(null, '', `/ui${search}`);
    refresh(list, true).catch((error) => say(`Filter failed: ${error.message}`, true));
  };
  filters.addEventListener('change', apply);
  // The search applies as one types, once the typing pauses.
  let typing;
  filters.addEventListener('input', (event) => {
    if (event.target.type !== 'search') return;
    clearTimeout(typing);
    typing = setTimeout(apply, 300);
  });
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
}

for (const region of regions()) poll(region);
