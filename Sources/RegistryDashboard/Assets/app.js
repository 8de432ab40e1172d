// The dashboard's script, hand-written, no framework. Data reaches the DOM only through `textContent` and
// attribute setters (never as markup), so a hostile service name stays text. Pages the server rendered for a view
// change are parsed with DOMParser and their nodes imported: the server escaped them (HTML.escape).
// Embedded into the binary at build time (Package.swift: `.embedInCode`); served as /static/app.js?v=<hash>.
'use strict';
(function () {
  const body = document.body;
  const page = body.dataset.page;
  const authRequired = body.dataset.auth === 'token';
  const TOKEN_KEY = 'service-registry.api-token';

  // ---- small DOM helpers -------------------------------------------------------------------
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) for (const k of Object.keys(attrs)) node.setAttribute(k, attrs[k]);
    for (const child of children || []) node.append(child);
    return node;
  }
  function setStatus(node, text, kind) {
    if (!node) return;
    node.textContent = text;
    node.classList.remove('error', 'ok');
    if (kind) node.classList.add(kind);
  }
  function relative(iso, now) {
    if (!iso) return 'never';
    const seconds = Math.floor((now - Date.parse(iso)) / 1000);
    if (seconds < 1) return 'just now';
    if (seconds < 60) return seconds + ' s ago';
    if (seconds < 3600) return Math.floor(seconds / 60) + ' min ago';
    if (seconds < 86400) return Math.floor(seconds / 3600) + ' h ago';
    return Math.floor(seconds / 86400) + ' d ago';
  }
  function milliseconds(ms) {
    if (ms === null || ms === undefined) return '\u2014';
    return ms < 10 ? ms.toFixed(1) + ' ms' : Math.round(ms) + ' ms';
  }
  function linkable(url) {
    // Links never carry URL credentials (user:secret@): the browser asks for them if needed.
    return typeof url === 'string' && /^https?:\/\/[^\s\u0000-\u001f\u007f]+$/i.test(url)
      ? url.replace(/^(https?:\/\/)[^\/?#]*@/i, '$1') : null;
  }
  function tickTimes() {
    const now = Date.now();
    for (const t of document.querySelectorAll('time[datetime]')) {
      const text = relative(t.getAttribute('datetime'), now);
      if (t.textContent !== text) t.textContent = text;
    }
  }

  // ---- API token and requests --------------------------------------------------------------
  function storedToken() { try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
  function storeToken(token) {
    try { if (token) localStorage.setItem(TOKEN_KEY, token); else localStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off: ask each time */ }
  }
  function askToken(message) {
    const dialog = document.getElementById('token-dialog');
    const input = document.getElementById('token-input');
    document.getElementById('token-message').textContent = message;
    input.value = '';
    dialog.returnValue = '';
    return new Promise(function (resolve) {
      dialog.addEventListener('close', function () {
        resolve(dialog.returnValue === 'ok' && input.value ? input.value : null);
      }, { once: true });
      dialog.showModal();
      input.focus();
    });
  }
  function detailText(data, status) {
    if (data && typeof data.detail === 'string') return data.detail;
    if (data && Array.isArray(data.detail)) return data.detail.map(function (d) { return d.msg; }).join('; ');
    return 'HTTP ' + status;
  }
  // Sends a request; writes carry the stored token when the registry needs one, asked for once and again after a 401.
  async function api(method, path, payload) {
    const write = method !== 'GET';
    for (;;) {
      const headers = { 'Accept': 'application/json' };
      if (payload !== undefined) headers['Content-Type'] = 'application/json';
      if (write && authRequired) {
        let token = storedToken();
        if (!token) {
          token = await askToken('This registry needs its API token for changes. It is kept in this browser.');
          if (!token) return { status: 0, data: { detail: 'An API token is needed for changes.' } };
          storeToken(token);
        }
        headers['Authorization'] = 'Bearer ' + token;
      }
      const response = await fetch(path, {
        method: method, headers: headers, cache: 'no-store',
        body: payload === undefined ? undefined : JSON.stringify(payload)
      });
      const text = await response.text();
      let data = null;
      if (text) { try { data = JSON.parse(text); } catch (e) { data = { detail: text }; } }
      if (response.status === 401 && write && authRequired) {
        storeToken(null);
        const again = await askToken('The registry refused that token. Enter the API token again.');
        if (!again) return { status: 401, data: data };
        storeToken(again);
        continue;
      }
      return { status: response.status, data: data };
    }
  }

  // ---- service forms (add on the index, edit on the service page) --------------------------
  const NUMBER_FIELDS = ['port', 'probe_interval_seconds', 'probe_timeout_seconds'];
  function FieldError(field, message) { this.field = field; this.message = message; }
  function parseLabels(text) {
    const labels = {};
    text.split('\n').forEach(function (line, index) {
      if (!line.trim()) return;
      const eq = line.indexOf('=');
      if (eq < 0) throw new FieldError('labels', 'line ' + (index + 1) + ': expected key=value');
      labels[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    });
    return labels;
  }
  function fieldValue(control) {
    if (control.type === 'checkbox') return control.checked;
    if (control.name === 'labels') return parseLabels(control.value);
    const value = control.value.trim();
    if (value === '') return null;
    if (NUMBER_FIELDS.indexOf(control.name) >= 0) {
      const n = Number(value);
      return Number.isFinite(n) ? n : value;   // the server explains what is wrong with a non-number
    }
    return value;
  }
  function isChanged(control) {
    if (control.type === 'checkbox') return control.checked !== control.defaultChecked;
    if (control.tagName === 'SELECT') {
      const option = control.options[control.selectedIndex];
      return !option || !option.defaultSelected;
    }
    return control.value !== control.defaultValue;
  }
  // Create: every filled field. Update: only what changed (a PUT is partial, and on a discovered service every
  // field sent becomes user-owned), an emptied field is sent as null.
  function formPayload(form, onlyChanged) {
    const payload = {};
    for (const control of form.elements) {
      if (!control.name || control.disabled) continue;
      if (onlyChanged && !isChanged(control)) continue;
      const value = fieldValue(control);
      if (!onlyChanged && (value === null || value === false)) continue;
      if (!onlyChanged && control.name === 'labels' && Object.keys(value).length === 0) continue;
      payload[control.name] = value;
    }
    return payload;
  }
  function clearErrors(form) {
    for (const slot of form.querySelectorAll('[data-error-for]')) slot.textContent = '';
    for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
  }
  // A 422 names fields as loc ["body", field, ...]: its message goes next to that field.
  function showErrors(form, data, status) {
    clearErrors(form);
    const general = [];
    let first = null;
    const items = data && Array.isArray(data.detail) ? data.detail : null;
    if (!items) general.push(detailText(data, status));
    for (const item of items || []) {
      const loc = Array.isArray(item.loc) ? item.loc : [];
      const name = loc[0] === 'body' && typeof loc[1] === 'string' ? loc[1] : null;
      const slot = name ? form.querySelector('[data-error-for="' + CSS.escape(name) + '"]') : null;
      const message = String(item.msg) + (loc.length > 2 ? ' (' + loc.slice(2).join('.') + ')' : '');
      if (!slot) { general.push(name ? name + ': ' + message : message); continue; }
      slot.textContent = slot.textContent ? slot.textContent + ' ' + message : message;
      const control = form.elements.namedItem(name);
      if (control && control.setAttribute) {
        control.setAttribute('aria-invalid', 'true');
        first = first || control;
      }
    }
    form.querySelector('.form-error').textContent = general.join(' ');
    if (first) first.focus();
  }
  async function submitService(form) {
    clearErrors(form);
    const status = form.querySelector('.form-status');
    const update = form.dataset.mode === 'update';
    let payload;
    try {
      payload = formPayload(form, update);
    } catch (e) {
      if (e instanceof FieldError) { showErrors(form, { detail: [{ loc: ['body', e.field], msg: e.message }] }, 422); return; }
      throw e;
    }
    if (update && Object.keys(payload).length === 0) { setStatus(status, 'Nothing changed.'); return; }
    const button = form.querySelector('[type=submit]');
    button.disabled = true;
    setStatus(status, 'Saving\u2026');
    try {
      const result = await api(update ? 'PUT' : 'POST', update ? '/api/services/' + form.dataset.id : '/api/services', payload);
      if (result.status === 200) {
        if (update) { location.reload(); return; }
        form.reset();
        setStatus(status, '', 'ok');
        status.append('Saved ', el('a', { href: '/services/' + result.data.id }, [result.data.name]), '.');
        await reloadView();
      } else {
        setStatus(status, '');
        showErrors(form, result.data, result.status);
      }
    } catch (e) {
      setStatus(status, 'Could not reach the registry: ' + e.message, 'error');
    } finally {
      button.disabled = false;
    }
  }
  for (const form of document.querySelectorAll('form.service-form')) {
    form.addEventListener('submit', function (event) { event.preventDefault(); submitService(form); });
  }

  // ---- index: the server renders the view; the change stream keeps it live ----------------
  // The server decides filtering, sorting and paging (DashboardQuery): the script never sorts or filters rows.
  // A view change fetches the server's page for the new URL and takes its rows; changes arrive over
  // GET /api/events, resumed from the version the page was rendered at (data-index), so nothing in between is
  // lost. A change to a row on screen updates that row; anything else that may change what the page holds
  // (a service created, deleted, or changed off screen) reloads the page's rows, at most every few seconds.
  const table = document.getElementById('services');
  const tbody = table ? table.tBodies[0] : null;
  const filterForm = document.getElementById('filters');
  const rows = new Map();
  let rowsRebuilt = 0;   // exposed as data-rows-rebuilt: the browser test checks that unchanged rows are left alone
  let lastEventId = body.dataset.index || '';
  let events = null;
  let reloadTimer = null;
  let lastReload = 0;
  let pageNumber = 1;
  const lastView = { url: null, tag: null };
  const RELOAD_EVERY_MS = 3000;

  function viewParams() {
    const params = new URLSearchParams();
    if (!filterForm) return params;
    for (const key of ['status', 'health', 'source']) if (filterForm.elements[key].value) params.set(key, filterForm.elements[key].value);
    const q = filterForm.elements.q.value.trim();
    if (q) params.set('q', q);
    if (filterForm.elements.sort.value !== 'name') params.set('sort', filterForm.elements.sort.value);
    if (filterForm.elements.dir.value === 'desc') params.set('dir', 'desc');
    if (pageNumber > 1) params.set('page', String(pageNumber));
    return params;
  }
  function writeURL() {
    const query = viewParams().toString();
    history.replaceState(null, '', query ? '?' + query : location.pathname);
  }
  function badge(kind, value, title) {
    const span = el('span', { 'class': 'badge ' + kind + ' ' + kind + '-' + value });
    if (title) span.title = title;
    if (kind === 'health') span.append(el('span', { 'class': 'dot', 'aria-hidden': 'true' }));
    span.append(value);
    return span;
  }
  function cell(col, children, extraClass) {
    const td = el('td', { 'data-col': col }, children);
    if (extraClass) td.className = extraClass;
    return td;
  }
  function signatureOf(s) {
    // Same as DashboardRenderer.signature: updated_at moves whenever the name, URL, description or status changes.
    return [s.name, s.status, s.health_status, s.port === null ? '' : String(s.port), s.updated_at, s.last_health_check || ''].join('\n');
  }
  // Rebuilds a row's cells only when what it shows changed, so focus and selection survive an update.
  function renderRow(tr, s) {
    const signature = signatureOf(s);
    if (tr.dataset.signature === signature) return;
    tr.dataset.signature = signature;
    rowsRebuilt++;
    const url = linkable(s.url);
    const name = url ? el('a', { 'class': 'service-link', href: url }, [s.name])
                     : el('span', { 'class': 'service-name' }, [s.name]);
    const checked = s.last_health_check
      ? el('time', { datetime: s.last_health_check, title: s.last_health_check }, [relative(s.last_health_check, Date.now())])
      : el('span', { 'class': 'muted' }, ['never']);
    tr.replaceChildren(
      cell('name', [name]),
      cell('description', [s.description || '']),
      cell('status', [badge('status', s.status)]),
      cell('health', [badge('health', s.health_status, s.last_error)]),
      cell('response', [milliseconds(s.last_response_time_ms)], 'num'),
      cell('port', [s.port === null ? '\u2014' : String(s.port)], 'num'),
      cell('checked', [checked]),
      cell('details', [el('a', { href: '/services/' + s.id }, ['Details', el('span', { 'class': 'visually-hidden' }, [' of ' + s.name])])])
    );
  }
  function markUpdated() {
    body.dataset.rowsRebuilt = String(rowsRebuilt);
    body.dataset.updatedAt = String(Date.now());
  }
  // Takes the rows, counts, summary and pager of a page the server rendered for the current view. Rows whose
  // signature did not change stay the same elements (focus, selection and scroll survive).
  function adopt(doc) {
    const fresh = doc.getElementById('services').tBodies[0].rows;
    const keep = new Map();
    for (const tr of Array.from(fresh)) {
      const id = Number(tr.dataset.id);
      const old = rows.get(id);
      if (old && old.dataset.signature === tr.dataset.signature) keep.set(id, old);
      else { keep.set(id, document.importNode(tr, true)); if (old) rowsRebuilt++; }
    }
    let index = 0;
    for (const [, tr] of keep) {
      const current = tbody.children[index];
      if (current !== tr) tbody.insertBefore(tr, current || null);   // moves only what is out of place
      index++;
    }
    while (tbody.children.length > index) tbody.lastElementChild.remove();
    rows.clear();
    for (const [id, tr] of keep) rows.set(id, tr);
    for (const id of ['summary', 'pager']) {
      const node = document.getElementById(id), update = doc.getElementById(id);
      if (node && update) { node.replaceWith(document.importNode(update, true)); }
    }
    document.getElementById('empty').hidden = keep.size > 0;
    pageNumber = Number(doc.getElementById('view').dataset.page) || 1;
    for (const node of doc.querySelectorAll('[data-count]')) setCount(node.dataset.count, node.textContent);
    for (const th of table.tHead.rows[0].cells) {
      const fresh = doc.querySelector('th[data-sort="' + th.dataset.sort + '"]');
      if (!th.dataset.sort || !fresh) continue;
      if (fresh.hasAttribute('aria-sort')) th.setAttribute('aria-sort', fresh.getAttribute('aria-sort'));
      else th.removeAttribute('aria-sort');
      th.querySelector('a.sort').setAttribute('href', fresh.querySelector('a.sort').getAttribute('href'));
    }
    markUpdated();
  }
  function setCount(key, text) {
    const node = document.querySelector('[data-count="' + key + '"]');
    if (node && node.textContent !== text) node.textContent = text;
  }
  async function reloadView() {
    if (!tbody) return;
    clearTimeout(reloadTimer);
    reloadTimer = null;
    lastReload = Date.now();
    const status = document.getElementById('refresh-status');
    const ids = Array.from(rows.keys()).join(',');
    try {
      const query = viewParams().toString();
      const url = '/' + (query ? '?' + query : '');
      // The stable form of the page: unchanged since the last reload of this view, it costs a 304 and no body.
      const headers = { 'Accept': 'text/html', 'X-Dashboard-View': 'update' };
      if (lastView.url === url && lastView.tag) headers['If-None-Match'] = lastView.tag;
      const response = await fetch(url, { headers: headers, cache: 'no-store' });
      if (response.status === 304) { writeURL(); return; }
      if (!response.ok) throw new Error('HTTP ' + response.status);
      lastView.url = url;
      lastView.tag = response.headers.get('ETag');
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      adopt(doc);
      tickTimes();
      writeURL();
      if (status.textContent && events && events.readyState === 1) setStatus(status, '');
      // The stream sends timing updates only for the rows on screen: follow the page's rows.
      if (Array.from(rows.keys()).join(',') !== ids) connect();
    } catch (e) {
      setStatus(status, 'Could not load the view (' + e.message + ').', 'error');
    }
  }
  // Soon after the first change, then at most every RELOAD_EVERY_MS while changes keep coming.
  function scheduleReload() {
    if (reloadTimer) return;
    const wait = Math.max(200, lastReload + RELOAD_EVERY_MS - Date.now());
    reloadTimer = setTimeout(function () { reloadTimer = null; if (!document.hidden) reloadView(); else pendingWhileHidden = true; }, wait);
  }
  let pendingWhileHidden = false;
  async function updateCounts() {
    try {
      const response = await fetch('/api/summary', { headers: { 'Accept': 'application/json' }, cache: 'no-cache' });
      if (!response.ok) return;
      const summary = await response.json();
      setCount('total', String(summary.total));
      for (const group of ['health', 'status']) for (const key of Object.keys(summary[group])) setCount(key, String(summary[group][key]));
    } catch (e) { /* the next change tries again */ }
  }
  let countsTimer = null;
  function scheduleCounts() {
    if (countsTimer) return;
    countsTimer = setTimeout(function () { countsTimer = null; updateCounts(); }, 250);
  }
  function onUpsert(event) {
    lastEventId = event.lastEventId || lastEventId;
    let s;
    try { s = JSON.parse(event.data); } catch (e) { return; }
    const tr = rows.get(s.id);
    if (!tr) { scheduleReload(); return; }   // off screen: it may belong on this page now, and counts may move
    const before = tr.dataset.signature.split('\n');
    renderRow(tr, s);
    markUpdated();
    const after = tr.dataset.signature.split('\n');
    // Health or status moved: the counts change. Anything but timings moved: the row may leave or move.
    if (before[1] !== after[1] || before[2] !== after[2]) scheduleCounts();
    if (before.slice(0, 5).join('\n') !== after.slice(0, 5).join('\n')) scheduleReload();
  }
  function connect() {
    if (events) events.close();
    const params = new URLSearchParams();
    if (lastEventId) params.set('since', lastEventId);
    const ids = Array.from(rows.keys());
    params.set('timings', ids.length ? ids.join(',') : 'none');
    events = new EventSource('/api/events?' + params.toString());
    const status = document.getElementById('refresh-status');
    events.addEventListener('open', function () {
      if (!performance.getEntriesByName('dashboard:live').length) performance.mark('dashboard:live');
      body.dataset.live = 'open';
      if (status.textContent) setStatus(status, '');
    });
    const source = events;
    events.addEventListener('error', function () {
      body.dataset.live = 'reconnecting';
      setStatus(status, 'Live updates interrupted; reconnecting\u2026', 'error');
      // Refused (503: --max-event-streams streams are open) or otherwise given up on: EventSource does not retry
      // then, so try again after the server's Retry-After.
      if (source.readyState === 2) setTimeout(function () { if (events === source) connect(); }, 5000);
    });
    events.addEventListener('upsert', onUpsert);
    events.addEventListener('delete', function (event) {
      lastEventId = event.lastEventId || lastEventId;
      let id = null;
      try { id = JSON.parse(event.data).id; } catch (e) { return; }
      const tr = rows.get(id);
      if (tr) { tr.remove(); rows.delete(id); markUpdated(); }
      scheduleReload();
    });
    // The registry no longer holds the changes since our position: take the view again.
    events.addEventListener('reset', function (event) {
      lastEventId = event.lastEventId || lastEventId;
      reloadView();
    });
  }

  if (page === 'index' && tbody) {
    for (const tr of tbody.rows) rows.set(Number(tr.dataset.id), tr);   // adopt the server-rendered rows
    pageNumber = Number(document.getElementById('view').dataset.page) || 1;
    // The server-rendered table is painted in the frame after this deferred script runs: mark that moment
    // (the benchmark reads it as "time until the table is visible"), then subscribe.
    requestAnimationFrame(function () {
      setTimeout(function () {
        performance.mark('dashboard:table-painted');
        markUpdated();
        connect();
      }, 0);
    });
    let debounce = null;
    function viewChanged() { pageNumber = 1; writeURL(); reloadView(); }
    filterForm.addEventListener('submit', function (event) { event.preventDefault(); viewChanged(); });
    filterForm.addEventListener('change', function (event) { if (event.target.name !== 'q') viewChanged(); });
    filterForm.elements.q.addEventListener('input', function () {
      clearTimeout(debounce);
      debounce = setTimeout(viewChanged, 150);
    });
    table.tHead.addEventListener('click', function (event) {
      const link = event.target.closest('a.sort');
      if (!link) return;
      event.preventDefault();
      const key = link.dataset.sort;
      const current = filterForm.elements.sort.value;
      filterForm.elements.dir.value = key === current && filterForm.elements.dir.value === 'asc' ? 'desc' : 'asc';
      filterForm.elements.sort.value = key;
      viewChanged();
    });
    document.getElementById('main').addEventListener('click', function (event) {
      const link = event.target.closest('#pager a');
      if (!link) return;
      event.preventDefault();
      pageNumber = Number(new URL(link.href).searchParams.get('page')) || 1;
      writeURL();
      reloadView();
    });
    const scanButton = document.getElementById('scan-button');
    const scanResult = document.getElementById('scan-result');
    scanButton.addEventListener('click', async function () {
      scanButton.disabled = true;
      setStatus(scanResult, 'Scanning\u2026');
      try {
        const result = await api('POST', '/api/scan');
        if (result.status === 200) {
          setStatus(scanResult, 'Discovered ' + result.data.discovered + ', updated ' + result.data.updated + '.', 'ok');
        } else {
          setStatus(scanResult, 'Scan failed: ' + detailText(result.data, result.status), 'error');
        }
      } catch (e) {
        setStatus(scanResult, 'Could not reach the registry: ' + e.message, 'error');
      } finally {
        scanButton.disabled = false;
      }
    });
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && pendingWhileHidden) { pendingWhileHidden = false; reloadView(); }
    });
    setInterval(tickTimes, 5000);
  }

  // ---- service page: check now, delete -----------------------------------------------------
  if (page === 'service') {
    const id = body.dataset.serviceId;
    const result = document.getElementById('action-result');
    const checkButton = document.getElementById('check-button');
    checkButton.addEventListener('click', async function () {
      checkButton.disabled = true;
      setStatus(result, 'Checking\u2026');
      try {
        const reply = await api('POST', '/api/services/' + id + '/check');
        if (reply.status === 200) { location.reload(); return; }
        setStatus(result, 'Check failed (HTTP ' + reply.status + '): ' + detailText(reply.data, reply.status), 'error');
      } catch (e) {
        setStatus(result, 'Could not reach the registry: ' + e.message, 'error');
      } finally {
        checkButton.disabled = false;
      }
    });
    const dialog = document.getElementById('delete-dialog');
    document.getElementById('delete-button').addEventListener('click', function () {
      dialog.returnValue = '';
      dialog.showModal();
    });
    dialog.addEventListener('close', async function () {
      if (dialog.returnValue !== 'delete') return;
      setStatus(result, 'Deleting\u2026');
      try {
        const reply = await api('DELETE', '/api/services/' + id);
        if (reply.status === 204 || reply.status === 404) { location.href = '/'; return; }
        setStatus(result, 'Delete failed: ' + detailText(reply.data, reply.status), 'error');
      } catch (e) {
        setStatus(result, 'Could not reach the registry: ' + e.message, 'error');
      }
    });
    setInterval(tickTimes, 5000);

    // Live: the change stream (from the version the page shows) says when this service changed; the sections marked
    // data-live are then taken from a fresh render, at most once a second. The edit form is left alone.
    let liveTimer = null;
    let lastLive = 0;
    let lastServiceEventId = body.dataset.index || '';
    async function refreshService() {
      liveTimer = null;
      lastLive = Date.now();
      try {
        const response = await fetch('/services/' + id, { headers: { 'Accept': 'text/html' }, cache: 'no-store' });
        if (response.status === 404) { setStatus(result, 'This service was deleted.', 'error'); return; }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
        for (const section of document.querySelectorAll('[data-live]')) {
          const fresh = doc.querySelector('[data-live="' + section.dataset.live + '"]');
          if (fresh && !fresh.isEqualNode(section)) section.replaceWith(document.importNode(fresh, true));
        }
        tickTimes();
        body.dataset.updatedAt = String(Date.now());
      } catch (e) {
        setStatus(result, 'Could not update the page (' + e.message + ').', 'error');
      }
    }
    function scheduleService() {
      if (liveTimer) return;
      liveTimer = setTimeout(refreshService, Math.max(100, lastLive + 1000 - Date.now()));
    }
    function subscribe() {
      const params = new URLSearchParams();
      if (lastServiceEventId) params.set('since', lastServiceEventId);
      params.set('timings', id);
      const events = new EventSource('/api/events?' + params.toString());
      events.addEventListener('open', function () { body.dataset.live = 'open'; });
      events.addEventListener('error', function () {
        body.dataset.live = 'reconnecting';
        // Refused (503 past --max-event-streams): EventSource gives up; subscribe again after Retry-After.
        if (events.readyState === 2) setTimeout(subscribe, 5000);
      });
      for (const name of ['upsert', 'delete']) {
        events.addEventListener(name, function (event) {
          lastServiceEventId = event.lastEventId || lastServiceEventId;
          let changed = null;
          try { changed = JSON.parse(event.data).id; } catch (e) { return; }
          if (String(changed) === String(id)) scheduleService();
        });
      }
      events.addEventListener('reset', function (event) {
        lastServiceEventId = event.lastEventId || lastServiceEventId;
        scheduleService();
      });
    }
    subscribe();
  }
})();
