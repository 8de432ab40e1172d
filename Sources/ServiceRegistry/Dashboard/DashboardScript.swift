/// The dashboard's script, hand-written, no framework. Data reaches the DOM only through `textContent` and
/// attribute setters (never `innerHTML`), so a hostile service name stays text.
enum DashboardScript {
    static let source = #"""
'use strict';
(function () {
  const body = document.body;
  const page = body.dataset.page;
  const authRequired = body.dataset.auth === 'token';
  const refreshMs = Math.max(250, parseInt(body.dataset.refreshMs, 10) || 3000);
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
        await refresh();
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

  // ---- index: the table, filters, sorting, refresh -----------------------------------------
  const table = document.getElementById('services');
  const tbody = table ? table.tBodies[0] : null;
  const filterForm = document.getElementById('filters');
  const rows = new Map();
  let rowsRebuilt = 0;   // exposed as data-rows-rebuilt: the browser test checks that unchanged rows are left alone
  let services = null;
  let timer = null;
  const view = { status: '', health: '', source: '', q: '', sort: 'name', dir: 'asc' };

  function readView() {
    if (!filterForm) return;
    for (const key of ['status', 'health', 'source', 'q', 'sort', 'dir']) view[key] = filterForm.elements[key].value;
    view.q = view.q.trim();
  }
  function writeURL() {
    const params = new URLSearchParams();
    for (const key of ['status', 'health', 'source', 'q']) if (view[key]) params.set(key, view[key]);
    if (view.sort !== 'name') params.set('sort', view.sort);
    if (view.dir === 'desc') params.set('dir', 'desc');
    const query = params.toString();
    history.replaceState(null, '', query ? '?' + query : location.pathname);
  }
  const HEALTH_RANK = { unhealthy: 0, unknown: 1, healthy: 2 };
  const STATUS_RANK = { failed: 0, inactive: 1, active: 2 };
  function sortValue(s, key) {
    switch (key) {
      case 'name': return s.name.toLowerCase();
      case 'description': return s.description === null ? null : s.description.toLowerCase();
      case 'status': return STATUS_RANK[s.status];
      case 'health': return HEALTH_RANK[s.health_status];
      case 'response': return s.last_response_time_ms;
      case 'port': return s.port;
      case 'checked': return s.last_health_check === null ? null : Date.parse(s.last_health_check);
    }
    return s.id;
  }
  // Same order as the server's render: missing values last either way, ties by id.
  function visibleServices() {
    const q = view.q.toLowerCase();
    const list = services.filter(function (s) {
      if (view.status && s.status !== view.status) return false;
      if (view.health && s.health_status !== view.health) return false;
      if (view.source && s.source !== view.source) return false;
      if (q && s.name.toLowerCase().indexOf(q) < 0 && (s.description || '').toLowerCase().indexOf(q) < 0) return false;
      return true;
    });
    const sign = view.dir === 'desc' ? -1 : 1;
    return list.map(function (s) { return [sortValue(s, view.sort), s]; }).sort(function (a, b) {
      const x = a[0], y = b[0];
      if (x === null && y === null) return a[1].id - b[1].id;
      if (x === null) return 1;
      if (y === null) return -1;
      if (x < y) return -sign;
      if (x > y) return sign;
      return a[1].id - b[1].id;
    }).map(function (pair) { return pair[1]; });
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
  // Rebuilds a row's cells only when what it shows changed, so focus and selection survive a refresh.
  function renderRow(tr, s) {
    // Same as DashboardRenderer.signature: updated_at moves whenever the name, URL, description or status changes.
    const signature = [s.name, s.status, s.health_status, s.port === null ? '' : String(s.port), s.updated_at,
      s.last_health_check || ''].join('\n');
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
  function renderTable() {
    if (!services || !tbody) return;
    const live = new Set();
    for (const s of services) live.add(s.id);
    for (const id of Array.from(rows.keys())) if (!live.has(id)) { rows.get(id).remove(); rows.delete(id); }
    const shown = visibleServices();
    let index = 0;
    for (const s of shown) {
      let tr = rows.get(s.id);
      if (!tr) { tr = el('tr', { 'data-id': String(s.id) }); rows.set(s.id, tr); }
      renderRow(tr, s);
      const current = tbody.children[index];
      if (current !== tr) tbody.insertBefore(tr, current || null);   // moves only what is out of place
      index++;
    }
    while (tbody.children.length > index) tbody.lastElementChild.remove();
    body.dataset.rowsRebuilt = String(rowsRebuilt);
    const counts = { total: services.length, healthy: 0, unhealthy: 0, unknown: 0, active: 0, inactive: 0, failed: 0 };
    for (const s of services) { counts[s.health_status]++; counts[s.status]++; }
    for (const node of document.querySelectorAll('[data-count]')) {
      const text = String(counts[node.dataset.count] || 0);
      if (node.textContent !== text) node.textContent = text;
    }
    document.getElementById('summary').textContent = 'Showing ' + shown.length + ' of ' + services.length + ' services';
    document.getElementById('empty').hidden = shown.length > 0;
    for (const th of table.tHead.rows[0].cells) {
      if (!th.dataset.sort) continue;
      if (th.dataset.sort === view.sort) th.setAttribute('aria-sort', view.dir === 'desc' ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
  }
  async function refresh() {
    const status = document.getElementById('refresh-status');
    try {
      const response = await fetch('/api/services', { headers: { 'Accept': 'application/json' }, cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      services = await response.json();
      renderTable();
      if (!body.dataset.refreshedAt) performance.mark('dashboard:first-refresh');
      if (status.textContent) setStatus(status, '');
      body.dataset.refreshedAt = String(Date.now());
    } catch (e) {
      setStatus(status, 'Could not refresh (' + e.message + '); retrying every ' + refreshMs / 1000 + ' s.', 'error');
    }
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(async function () {
      if (!document.hidden) await refresh();
      tickTimes();
      schedule();
    }, refreshMs);
  }

  if (page === 'index' && tbody) {
    // The server-rendered table is painted in the frame after this deferred script runs: mark that moment
    // (the benchmark reads it as "time until the full table is visible").
    // The first refresh waits for that paint, so it cannot delay it.
    requestAnimationFrame(function () {
      setTimeout(function () {
        performance.mark('dashboard:table-painted');
        refresh().then(schedule);
      }, 0);
    });
    for (const tr of tbody.rows) rows.set(Number(tr.dataset.id), tr);   // adopt the server-rendered rows
    readView();
    let debounce = null;
    filterForm.addEventListener('submit', function (event) { event.preventDefault(); readView(); writeURL(); renderTable(); });
    filterForm.addEventListener('change', function () { readView(); writeURL(); renderTable(); });
    filterForm.elements.q.addEventListener('input', function () {
      clearTimeout(debounce);
      debounce = setTimeout(function () { readView(); writeURL(); renderTable(); }, 120);
    });
    table.tHead.addEventListener('click', function (event) {
      const link = event.target.closest('a.sort');
      if (!link || !services) return;   // before the first refresh the link itself works (server-side sort)
      event.preventDefault();
      const key = link.dataset.sort;
      filterForm.elements.dir.value = key === view.sort && view.dir === 'asc' ? 'desc' : 'asc';
      filterForm.elements.sort.value = key;
      readView(); writeURL(); renderTable();
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
          await refresh();
        } else {
          setStatus(scanResult, 'Scan failed: ' + detailText(result.data, result.status), 'error');
        }
      } catch (e) {
        setStatus(scanResult, 'Could not reach the registry: ' + e.message, 'error');
      } finally {
        scanButton.disabled = false;
      }
    });
    document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh(); });
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
  }
})();
"""#
}
