/**
 * The dashboard's browser script, as text for the page. Plain ES2017, no
 * libraries; every value from the mesh goes into the page as text
 * (textContent), never as HTML.
 */
export const DASHBOARD_SCRIPT = String.raw`
'use strict';
function h(tag, attrs, children) {
  var el = document.createElement(tag);
  if (attrs) for (var k in attrs) {
    if (attrs[k] === undefined || attrs[k] === null) continue;
    if (k === 'text') el.textContent = attrs[k]; else if (k === 'cls') el.className = attrs[k]; else el.setAttribute(k, attrs[k]);
  }
  (children || []).forEach(function (c) { if (c) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
  return el;
}
function short(id) { return id ? id.slice(-8) : '-'; }
/** peer ids inside free text, shortened as everywhere else */
function shortIds(text) { return String(text).replace(/12D3KooW[1-9A-HJ-NP-Za-km-z]{44}/g, function (id) { return id.slice(-8); }); }
function cpu(m) { return m === undefined ? '-' : (m % 1000 === 0 ? String(m / 1000) : (m / 1000).toFixed(1)); }
function bytes(n) {
  if (n === undefined) return '-';
  var u = ['B', 'Ki', 'Mi', 'Gi', 'Ti'], i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)) + u[i];
}
function ago(ms) {
  if (ms === undefined) return '-';
  if (ms < 1000) return ms + 'ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + 's';
  if (ms < 3600000) return Math.round(ms / 60000) + 'm';
  return Math.round(ms / 3600000) + 'h';
}
function clock(t) { var d = new Date(t); return d.toTimeString().slice(0, 8); }
function bar(used, total, label, what) {
  var share = total > 0 ? Math.min(1, used / total) : 0;
  var i = h('i'); i.style.width = (share * 100).toFixed(1) + '%';
  return h('span', { title: what + ' ' + label + ' (' + Math.round(share * 100) + '%)' }, [
    h('span', { cls: 'bar' + (share >= 0.95 ? ' full' : share >= 0.8 ? ' high' : ''), 'data-share': share.toFixed(3), 'aria-label': what }, [i]),
    h('span', { cls: 'barlabel', text: label })
  ]);
}
function replace(id, children) { var el = document.getElementById(id); el.replaceChildren.apply(el, children); return el; }
function tile(n, label) { return h('div', { cls: 'tile' }, [h('div', { cls: 'n', text: n }), h('div', { cls: 'l', text: label })]); }

function render(s) {
  var st = s.status;
  var health = document.getElementById('health');
  health.textContent = st.healthy ? 'HEALTHY' : 'NEEDS ATTENTION';
  health.className = 'badge ' + (st.healthy ? 'ok' : 'bad');
  document.getElementById('meta').textContent = 'mesh ' + s.meshId + ' · seen from node ' + short(s.node) + ' (' + s.org + ')';
  var problems = replace('problems', st.problems.map(function (p) { return h('li', { text: p }); }));
  problems.hidden = st.problems.length === 0;
  replace('tiles', [
    tile(st.nodes.alive + ' / ' + (st.nodes.total - st.nodes.removed), 'nodes alive' + (st.nodes.suspect ? ', ' + st.nodes.suspect + ' suspect' : '') + (st.nodes.dead ? ', ' + st.nodes.dead + ' dead' : '')),
    tile(String(st.services.total - st.services.degraded.length) + ' / ' + st.services.total, 'services at full health'),
    tile(st.replicas.healthy + ' / ' + st.replicas.desired, 'replicas healthy' + (st.replicas.unplaced ? ', ' + st.replicas.unplaced + ' unplaced' : '')),
    tile(st.agreeing + ' / ' + (st.nodes.alive + st.nodes.suspect), 'live nodes agree on the state')
  ]);
  replace('orgs', s.orgs.map(function (o) {
    var rows = o.nodes.map(function (n) {
      var cap = n.capacity || {}, alloc = n.allocated || { cpu: 0, memory: 0 };
      return h('tr', { 'data-node': n.id, 'data-status': n.status }, [
        h('td', null, [h('span', { cls: 'dot ' + n.status, title: n.status }), h('span', { cls: 'id', title: n.id, text: short(n.id) }),
          n.self ? h('span', { cls: 'tag', text: 'this node' }) : null, n.cordoned ? h('span', { cls: 'tag', text: 'cordoned', title: n.cordonReason || '' }) : null]),
        h('td', { text: n.status }),
        h('td', null, [bar(alloc.cpu, cap.cpu, cpu(alloc.cpu) + '/' + cpu(cap.cpu), 'cpu')]),
        h('td', null, [bar(alloc.memory, cap.memory, bytes(alloc.memory) + '/' + bytes(cap.memory), 'memory')]),
        h('td', { text: String(n.replicas), title: 'replicas on this node' }),
        h('td', { text: n.self ? 'now' : ago(n.lastSeenMs), title: 'last heartbeat' })
      ]);
    });
    return h('div', { cls: 'card', 'data-org': o.name }, [
      h('h3', { text: o.name + ' · ' + o.nodes.length + ' node' + (o.nodes.length === 1 ? '' : 's') }),
      h('table', null, [h('tr', null, ['node', 'state', 'cpu', 'memory', 'replicas', 'seen'].map(function (t) { return h('th', { text: t }); }))].concat(rows))
    ]);
  }));
  var services = s.services.map(function (svc) {
    var chips = svc.replicaViews.map(function (r) {
      var copy = r.running.filter(function (c) { return c.current; })[0] || r.running[0];
      var state = !copy ? 'missing' : copy.healthy && copy.current ? 'healthy' : 'running';
      var where = copy ? short(copy.node) : (r.assigned ? short(r.assigned) + '?' : 'unplaced');
      return h('span', { cls: 'chip ' + state, 'data-replica': String(r.replica), 'data-node': copy ? copy.node : '', 'data-state': state,
        title: state + (copy ? ' on ' + copy.node + ' (' + copy.state + ')' : '') + (r.problem ? ': ' + r.problem : '') }, ['#' + r.replica + ' ▸ ' + where]);
    });
    var problems = svc.replicaViews.filter(function (r) { return r.problem; }).map(function (r) { return '#' + r.replica + ': ' + shortIds(r.problem); });
    return h('tr', { 'data-service': svc.id }, [
      h('td', null, [h('strong', { text: svc.id }), h('div', { cls: 'barlabel', text: svc.image })]),
      h('td', { text: svc.healthy + '/' + svc.replicas + ' healthy' + (svc.updated < svc.healthy ? ', ' + svc.updated + ' on the current spec' : ''), cls: svc.healthy < svc.replicas ? 'problem' : '' }),
      h('td', null, chips.concat(problems.length ? [h('div', { cls: 'problem', text: problems.join('; ') })] : []))
    ]);
  });
  replace('services', services.length ? [h('tr', null, ['service', 'health', 'replicas ▸ node'].map(function (t) { return h('th', { text: t }); }))].concat(services)
    : [h('tr', null, [h('td', { cls: 'empty', text: 'No services yet: deploy one with "minga deploy -f web.yaml"' })])]);
  var events = s.events.map(function (e) {
    var bad = /dead|crash|error|unhealthy|rejected|suspect/.test(e.kind), good = /up|healthy|joined/.test(e.kind) && !bad;
    return h('tr', { 'data-kind': e.kind }, [
      h('td', { text: clock(e.time), title: new Date(e.time).toISOString() }),
      h('td', { cls: 'id', text: short(e.node), title: 'observed by ' + e.node + (e.observers > 1 ? ' and ' + (e.observers - 1) + ' other node(s)' : '') }),
      h('td', null, [h('span', { cls: 'kind' + (bad ? ' bad' : good ? ' good' : ''), text: e.kind })]),
      h('td', { cls: 'id', text: e.subject.length > 40 ? short(e.subject) : e.subject, title: e.subject }),
      h('td', { text: shortIds(e.reason), title: e.reason })
    ]);
  });
  replace('events', events.length ? events : [h('tr', null, [h('td', { cls: 'empty', text: 'No events in the last hour' })])]);
  if (!document.body.dataset.ready) {
    document.body.dataset.ready = 'true';
    // ms since the navigation started: what the dashboard benchmark reports
    window.__firstRenderMs = performance.now();
  }
  document.body.dataset.updated = String(s.time);
}

function live(on) { var el = document.getElementById('live'); el.className = 'live ' + (on ? 'on' : 'off'); el.textContent = on ? 'live' : 'reconnecting…'; }
var polling = null;
function poll() {
  fetch('api/snapshot').then(function (r) { return r.json(); }).then(function (s) { render(s); live(true); }).catch(function () { live(false); });
}
function connect() {
  if (!window.EventSource) { poll(); polling = setInterval(poll, 3000); return; }
  var source = new EventSource('api/stream');
  source.addEventListener('snapshot', function (m) { render(JSON.parse(m.data)); live(true); if (polling) { clearInterval(polling); polling = null; } });
  source.onerror = function () { live(false); if (!polling) { polling = setInterval(poll, 3000); } };
}
connect();
`
