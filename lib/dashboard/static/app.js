// The dashboard page: draws the snapshot from /api/state, then follows /api/events. It shows one
// loop tag (the snapshot's `view`): rows are numbered within it (#0 is its baseline), as
// `autoresearch results` numbers them; the runs in flight within the loop's tag (`status.first`).
// Plain browser JavaScript, no build step; charts through uPlot (loaded before this file).
// Every text that comes from the session (descriptions, diffs, log lines) is set as text,
// never as HTML: descriptions and diffs are written by an agent.
'use strict';
(function () {
  const COLORS = { keep: '#2ca02c', keepDark: '#1b6e1b', discard: '#b8b8b8', discardStroke: '#9a9a9a', crash: '#d62728', run: '#1f77b4', incumbent: '#ff7f0e' };
  const ROW_HEIGHT = 28;
  const $ = (id) => document.getElementById(id);

  const state = {
    dir: '',
    // The tag shown: { id, tag, first, following, tags } (see TagView in session.ts).
    tagView: { id: 0, tag: null, first: 0, following: true, tags: [] },
    rows: [],
    summary: null,
    status: null,
    live: { runId: 0, points: [] },
    // The experiments in flight on several workers, by the name of their log ('9', '10.confirm').
    runs: new Map(),
    incumbent: null,
    workers: [],
    fingerprint: null,
    skipped: [],
    sort: { key: 'experiment', desc: true },
    filter: 'all',
    search: '',
    view: [],
    stream: null,
  };
  let bestChart = null;
  let liveChart = null;
  let liveChartSeries = '';
  // One colour per in-flight run's curve (the incumbent keeps its orange).
  const RUN_COLORS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  let bestChartRows = [];

  // ---------------------------------------------------------------------------- formatting
  const fmtBpb = (v) => (v === null || v === undefined ? '–' : v.toFixed(6));
  const statusWord = { keep: 'kept', discard: 'discarded', crash: 'crashed' };
  function fmtDuration(ms) {
    if (!(ms >= 0)) return '–';
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
    return `${Math.floor(h / 24)} d ${h % 24} h`;
  }
  const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const dayAndTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  function fmtTime(value) {
    const t = typeof value === 'number' ? value : Date.parse(value);
    if (!Number.isFinite(t)) return '';
    return new Date(t).toDateString() === new Date().toDateString() ? timeOfDay.format(t) : dayAndTime.format(t);
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  const tagName = (tag) => (tag === null ? '(untagged)' : tag);
  const describeTag = (t) => `${tagName(t.tag)} (${t.experiments} experiment${t.experiments === 1 ? '' : 's'})`;
  /** A row's number within the tag shown (#0: its baseline). */
  const shownNumber = (experiment) => experiment - state.tagView.first;
  /** An experiment of the loop's tag (in flight, or the incumbent) numbered within that tag. */
  const loopNumber = (experiment) => experiment - (state.status ? state.status.first : state.tagView.first);
  function setCard(id, value, sub, good) {
    const card = $(id);
    const v = card.querySelector('.value');
    v.textContent = value;
    v.classList.toggle('good', !!good);
    if (sub !== undefined) card.querySelector('.sub').textContent = sub;
  }

  // ---------------------------------------------------------------------------- derived data
  /** A row from its wire form (an array in the order of the snapshot's `fields`). */
  function fromTuple(t) {
    return { index: t[0], experiment: t[1], number: shownNumber(t[1]), status: t[2], val_bpb: t[3], peak_vram_mb: t[4], num_steps: t[5], time: t[6], description: t[7], commit: t[8], worker: t[9], delta: null };
  }
  /** The running best before each row and each row's delta to it (file order, as the loop judged). */
  function computeDeltas(rows) {
    let best = null;
    for (const r of rows) {
      r.delta = r.status !== 'crash' && r.val_bpb !== null && best !== null ? r.val_bpb - best : null;
      if (r.status === 'keep' && r.val_bpb !== null && (best === null || r.val_bpb < best)) best = r.val_bpb;
    }
  }
  function isRunning() {
    return !!(state.status && state.status.running);
  }
  /** A loop runs the tag shown (its clock still runs). */
  function runningShown() {
    return isRunning() && state.status.tag === state.tagView.tag;
  }

  // ---------------------------------------------------------------------------- cards
  function renderCards() {
    const s = state.summary;
    if (!s) return;
    const base = s.baseline && s.baseline.status !== 'crash' ? s.baseline.val_bpb : null;
    setCard('card-baseline', fmtBpb(base), s.baseline ? `#${shownNumber(s.baseline.experiment)} · ${s.baseline.commit.slice(0, 7)}` : 'no experiment yet');
    setCard('card-best', fmtBpb(s.best ? s.best.val_bpb : null), s.best ? `#${shownNumber(s.best.experiment)} · ${s.best.description}` : 'nothing kept yet');
    if (s.improvement) {
      setCard('card-improvement', `${(s.improvement.relative * 100).toFixed(2)}%`, `${s.improvement.absolute.toFixed(6)} bpb lower`, s.improvement.absolute > 0);
    } else setCard('card-improvement', '–', 'needs a baseline and a kept experiment');
    $('card-counts').querySelector('.value').textContent = String(s.counts.total);
    $('count-keep').textContent = String(s.counts.keep);
    $('count-discard').textContent = String(s.counts.discard);
    $('count-crash').textContent = String(s.counts.crash);
    renderClock();
  }
  /** The cards that move with the clock while a loop runs. */
  function renderClock() {
    const s = state.summary;
    if (!s || s.startedAt === null) {
      setCard('card-rate', '–', '');
      setCard('card-time', '–', runningShown() ? 'the baseline is running' : 'no experiment yet');
      return;
    }
    const end = runningShown() ? Date.now() : s.lastAt;
    const span = Math.max(0, end - s.startedAt);
    const hours = span / 3.6e6;
    setCard('card-rate', hours > 0 ? (s.counts.total / hours).toFixed(1) : '–', `${s.counts.total} in ${fmtDuration(span)}`);
    setCard('card-time', fmtDuration(span), runningShown() ? `since ${fmtTime(s.startedAt)}, still running` : `finished ${fmtTime(s.lastAt)}`);
  }

  // ---------------------------------------------------------------------------- the tag shown
  function renderTagLine() {
    const v = state.tagView;
    const st = state.status;
    document.body.dataset.tag = tagName(v.tag);
    $('tag-line').hidden = v.tag === null && v.tags.length === 0;
    $('tag-shown').textContent = tagName(v.tag);
    $('tag-first').textContent = v.first > 0 ? ` (#0 is experiment ${v.first} in results.jsonl)` : '';
    let mode = v.following ? "· the loop's tag (a new one is followed)" : '· chosen with --tag';
    if (!v.following && st && st.running && st.tag !== null && st.tag !== v.tag) mode += `; the loop is running tag ${st.tag}`;
    $('tag-mode').textContent = mode;
    const others = v.tags.filter((t) => t.tag !== v.tag);
    $('tag-others').textContent = others.length > 0 ? `other tags: ${others.map(describeTag).join(', ')}; \`autoresearch dashboard --tag NAME\` shows one` : '';
  }

  // ---------------------------------------------------------------------------- status and controls
  function renderStatus() {
    const st = state.status;
    if (!st) return;
    const pill = $('status-pill');
    const stopping = st.running && st.stopRequested;
    pill.className = `pill ${stopping ? 'stopping' : st.running ? 'running' : 'idle'}`;
    pill.textContent = stopping ? 'stopping after this experiment' : st.running ? 'running' : st.lock && st.lock.alive === null ? `loop on ${st.lock.host}` : 'not running';
    let text = st.tag ? `tag ${st.tag}` : '';
    if (st.running && st.lock) text += ` · pid ${st.lock.pid}`;
    $('status-text').textContent = text;
    const stop = $('stop-button');
    stop.hidden = !st.running || !!st.stopRequested;
    stop.disabled = false;
    $('withdraw-button').hidden = !st.stopRequested;

    const now = $('now-text');
    now.replaceChildren();
    if (!st.running) {
      now.append(st.stopRequested ? 'No loop is running (a stop request is pending for the next one to clear).' : 'No loop is running: this is the record of a finished session.');
    } else if (st.inFlight > 1 || (st.inFlight === 1 && state.runs.size > 0)) {
      const busy = state.workers.filter((w) => w.current);
      now.append(el('b', { text: `${st.inFlight} experiment${st.inFlight === 1 ? '' : 's'} in flight` }), busy.length > 0 ? ': ' : '');
      busy.forEach((w, i) => {
        const c = w.current;
        now.append(i > 0 ? ' · ' : '', el('b', { text: `#${loopNumber(c.experiment)}` }), ` on ${w.worker} (${c.state}${c.step ? ` ${c.step.progress.toFixed(0)}%` : ''})`);
      });
    } else if (st.phase === 'proposing') {
      now.append('Between experiments: the agent is proposing the next change.');
    } else if (st.current) {
      now.append(el('b', { text: st.current.experiment !== null ? `experiment #${loopNumber(st.current.experiment)}` : 'an experiment' }), ' ');
      if (st.current.description) now.append('“', el('span', { id: 'now-description', text: st.current.description }), '” ');
      now.append(`· ${st.phase}`);
      if (st.step) {
        now.append(' · step ', el('b', { text: String(st.step.step) }), ` (${st.step.progress.toFixed(1)}%) · loss `, el('b', { text: st.step.loss.toFixed(4) }));
        if (st.incumbentLossNow !== null) {
          const d = st.step.loss - st.incumbentLossNow;
          now.append(' · incumbent at the same progress ', el('b', { text: st.incumbentLossNow.toFixed(4) }), el('span', { class: d < 0 ? 'keep' : 'discard', text: ` (${d < 0 ? '' : '+'}${d.toFixed(4)})` }));
        }
      }
    }
    $('log-tail').textContent = st.logTail.join('\n');
    renderLiveCaption();
    renderTagLine();
  }

  async function control(method) {
    const stop = $('stop-button');
    stop.disabled = true;
    try {
      const res = await fetch('/api/stop', { method, headers: { 'x-autoresearch-control': '1' } });
      const body = await res.json();
      if (!res.ok) alert(body.error || `request failed: ${res.status}`);
      else if (state.status) {
        state.status.stopRequested = body.stopRequested;
        renderStatus();
      }
    } finally {
      stop.disabled = false;
    }
  }

  // ---------------------------------------------------------------------------- the running-best chart
  function bestChartData() {
    const rows = state.rows.slice();
    let sorted = true;
    for (let i = 1; i < rows.length && sorted; i++) if (rows[i].experiment < rows[i - 1].experiment) sorted = false;
    if (!sorted) rows.sort((a, b) => a.experiment - b.experiment);
    bestChartRows = rows;
    let keptMax = -Infinity;
    let low = Infinity;
    for (const r of rows) {
      if (r.status === 'crash' || r.val_bpb === null) continue;
      if (r.val_bpb < low) low = r.val_bpb;
      if (r.status === 'keep' && r.val_bpb > keptMax) keptMax = r.val_bpb;
    }
    // Discarded outliers far above the kept range would flatten the interesting part: cap them.
    const cap = keptMax > -Infinity ? keptMax + Math.max(keptMax - low, 0.02 * Math.abs(keptMax)) : Infinity;
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of rows) {
      if (r.status === 'crash' || r.val_bpb === null || r.val_bpb > cap) continue;
      if (r.val_bpb < lo) lo = r.val_bpb;
      if (r.val_bpb > hi) hi = r.val_bpb;
    }
    if (lo === Infinity) {
      lo = 0;
      hi = 1;
    }
    const spread = hi - lo || Math.abs(hi) * 0.01 || 0.1;
    lo -= spread * 0.1;
    hi += spread * 0.1;
    const n = rows.length;
    const x = new Array(n);
    const best = new Array(n);
    const kept = new Array(n);
    const discarded = new Array(n);
    const above = new Array(n);
    const crashed = new Array(n);
    let running = null;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      x[i] = r.number;
      kept[i] = discarded[i] = above[i] = crashed[i] = null;
      if (r.status === 'crash' || r.val_bpb === null) crashed[i] = lo + spread * 0.02;
      else if (r.val_bpb > cap) above[i] = hi - spread * 0.02;
      else if (r.status === 'keep') kept[i] = r.val_bpb;
      else discarded[i] = r.val_bpb;
      // The running best as a step line: only its corners (and the last x) carry a value; the
      // stepped path spans the gaps, so 10,000 experiments cost a few dozen segments.
      best[i] = null;
      if (r.status === 'keep' && r.val_bpb !== null && (running === null || r.val_bpb < running)) {
        running = r.val_bpb;
        best[i] = running;
      }
    }
    if (n > 0 && running !== null) best[n - 1] = running;
    return { data: [x, best, discarded, above, kept, crashed], range: [lo, hi] };
  }

  function crossPaths(u, seriesIdx, i0, i1) {
    const path = new Path2D();
    const xs = u.data[0];
    const ys = u.data[seriesIdx];
    const r = 4 * devicePixelRatio;
    for (let i = i0; i <= i1; i++) {
      if (ys[i] === null || ys[i] === undefined) continue;
      const cx = u.valToPos(xs[i], 'x', true);
      const cy = u.valToPos(ys[i], 'y', true);
      path.moveTo(cx - r, cy - r);
      path.lineTo(cx + r, cy + r);
      path.moveTo(cx - r, cy + r);
      path.lineTo(cx + r, cy - r);
    }
    return { stroke: path, fill: null, clip: null, flags: 0 };
  }

  function renderBestChart() {
    const host = $('chart-best');
    const { data, range } = bestChartData();
    state.bestRange = range;
    const counts = { keep: 0, discard: 0, above: 0, crash: 0 };
    for (let i = 0; i < data[0].length; i++) {
      if (data[4][i] !== null) counts.keep++;
      if (data[2][i] !== null) counts.discard++;
      if (data[3][i] !== null) counts.above++;
      if (data[5][i] !== null) counts.crash++;
    }
    // What was handed to the chart, for anyone checking it (one mark per experiment).
    host.dataset.points = String(counts.keep + counts.discard + counts.above + counts.crash);
    host.dataset.kept = String(counts.keep);
    host.dataset.discarded = String(counts.discard + counts.above);
    host.dataset.crashed = String(counts.crash);
    if (bestChart) {
      bestChart.setData(data, true);
      return;
    }
    const width = Math.max(300, host.clientWidth);
    const opts = {
      width,
      height: 320,
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: false }, y: { range: () => state.bestRange } },
      axes: [
        { label: 'experiment', labelSize: 20, size: 36, grid: { stroke: '#eef0f3' }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000] },
        { label: 'val_bpb (lower is better)', labelSize: 20, size: 70, grid: { stroke: '#eef0f3' }, values: (u, vals) => vals.map((v) => v.toFixed(Math.max(0, Math.min(6, -Math.floor(Math.log10((vals[1] - vals[0]) || 1)))))) },
      ],
      series: [
        {},
        { label: 'running best', stroke: COLORS.keep, width: 2, alpha: 0.8, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false }, spanGaps: true },
        // Filled only (no outline): the many discarded points are the chart's drawing cost.
        { label: 'discarded', stroke: COLORS.discard, paths: () => null, points: { show: true, size: 6, space: 0, width: 0, fill: COLORS.discard } },
        { label: 'above the chart', stroke: COLORS.discardStroke, paths: () => null, points: { show: true, size: 7, space: 0, width: 1.5, fill: '#ffffff', stroke: COLORS.discardStroke } },
        { label: 'kept', stroke: COLORS.keepDark, paths: () => null, points: { show: true, size: 10, space: 0, width: 1.5, fill: COLORS.keep, stroke: COLORS.keepDark } },
        { label: 'crashed', stroke: COLORS.crash, width: 2, paths: () => null, points: { show: true, space: 0, width: 2, stroke: COLORS.crash, paths: crossPaths } },
      ],
      hooks: { setCursor: [showChartTip] },
    };
    bestChart = new uPlot(opts, data, host);
    window.__bestChart = bestChart; // for tests and the console
    host.addEventListener('mouseleave', () => ($('chart-tip').hidden = true));
    host.addEventListener('click', () => {
      const i = bestChart.cursor.idx;
      if (i !== null && i !== undefined && bestChartRows[i]) openDetail(bestChartRows[i].index);
    });
  }

  function showChartTip(u) {
    const tip = $('chart-tip');
    const i = u.cursor.idx;
    const row = i === null || i === undefined ? null : bestChartRows[i];
    if (!row || u.cursor.left < 0) {
      tip.hidden = true;
      return;
    }
    tip.replaceChildren(
      el('b', { text: `#${row.number} ${statusWord[row.status]}` }),
      row.status === 'crash' || row.val_bpb === null ? '' : ` ${row.val_bpb.toFixed(6)}`,
      el('br'),
      row.description,
    );
    tip.hidden = false;
    const over = u.over.getBoundingClientRect();
    const panel = tip.parentElement.getBoundingClientRect();
    const left = over.left - panel.left + u.valToPos(row.number, 'x');
    tip.style.left = `${Math.min(left + 12, panel.width - 370)}px`;
    tip.style.top = `${over.top - panel.top + 8}px`;
  }

  // ---------------------------------------------------------------------------- the live loss chart
  function liveChartData() {
    const run = state.live.points.filter((p) => p.progress > 0);
    const inc = state.incumbent ? state.incumbent.points.filter((p) => p.progress > 0) : [];
    const xs = [];
    const a = [];
    const b = [];
    let i = 0;
    let j = 0;
    while (i < run.length || j < inc.length) {
      const pa = run[i];
      const pb = inc[j];
      if (pb === undefined || (pa !== undefined && pa.progress <= pb.progress)) {
        if (pb !== undefined && pa.progress === pb.progress) {
          xs.push(pa.progress);
          a.push(pa.loss);
          b.push(pb.loss);
          i++;
          j++;
          continue;
        }
        xs.push(pa.progress);
        a.push(pa.loss);
        b.push(null);
        i++;
      } else {
        xs.push(pb.progress);
        a.push(null);
        b.push(pb.loss);
        j++;
      }
    }
    return [xs, a, b];
  }

  /** Curves on one x axis (progress, %): uPlot's columns, a null where a curve has no point. */
  function alignCurves(curves) {
    const xs = [...new Set(curves.flatMap((c) => c.map((p) => p.progress)))].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    return [
      xs,
      ...curves.map((c) => {
        const ys = new Array(xs.length).fill(null);
        for (const p of c) ys[at.get(p.progress)] = p.loss;
        return ys;
      }),
    ];
  }

  /** The in-flight runs' curves (several workers), labelled by experiment and worker. */
  function runCurves() {
    return [...state.runs.values()].map((r, i) => ({
      label: `#${loopNumber(r.experiment)}${r.phase === 'confirm' ? ' (confirmation)' : ''} on ${r.worker || '?'}`,
      color: RUN_COLORS[i % RUN_COLORS.length],
      points: r.points.filter((p) => p.progress > 0),
    }));
  }

  function renderLiveCaption() {
    const st = state.status;
    const active = st && st.running && st.current && st.current.experiment !== null && st.phase !== 'proposing';
    $('live-caption').textContent =
      state.runs.size > 0
        ? `of the ${state.runs.size} experiment${state.runs.size === 1 ? '' : 's'} in flight`
        : active
          ? `of experiment #${loopNumber(st.current.experiment)}`
          : state.live.points.length > 0
            ? 'of the last run (run.log)'
            : '';
  }

  function renderLive() {
    const host = $('chart-live');
    const inc = state.incumbent;
    const incPoints = inc ? inc.points.filter((p) => p.progress > 0) : [];
    // Several workers: one curve per run in flight; one worker: run.log's run, as it always was.
    const multi = state.runs.size > 0;
    const curves = multi ? runCurves() : [{ label: 'this run', color: COLORS.run, points: state.live.points.filter((p) => p.progress > 0) }];
    const data = multi ? alignCurves([...curves.map((c) => c.points), incPoints]) : liveChartData();
    const count = (ys) => ys.filter((v) => v !== null).length;
    host.dataset.points = String(data.slice(1, -1).reduce((n, ys) => n + count(ys), 0));
    host.dataset.incumbentPoints = String(count(data[data.length - 1]));
    host.dataset.curves = String(curves.length);
    const st = state.status;
    const legend = $('live-legend');
    legend.replaceChildren(
      ...curves.flatMap((c) => [el('i', { class: 'line', style: `background: ${c.color}` }), el('span', { class: 'curve-label', text: c.label })]),
      el('i', { class: 'line incumbent' }),
      el('span', {
        id: 'incumbent-label',
        text: inc ? `incumbent #${loopNumber(inc.experiment)}${inc.points.length === 0 ? ' (no curve: this dashboard did not see its run and its log was not kept)' : ''}` : 'incumbent (none yet)',
      }),
    );
    const empty = $('live-empty');
    empty.hidden = data[0].length > 0;
    const anyPoints = multi ? [...state.runs.values()].some((r) => r.points.length > 0) : state.live.points.length > 0;
    empty.textContent = anyPoints ? 'the run is in its warm-up steps (not counted, not drawn)' : st && st.running ? 'waiting for the first training step' : 'no run.log: no run to show';
    renderLiveCaption();
    const series = JSON.stringify(curves.map((c) => [c.label, c.color]));
    if (liveChart && series === liveChartSeries) {
      liveChart.setData(data, true);
      return;
    }
    if (liveChart) liveChart.destroy();
    liveChartSeries = series;
    liveChart = new uPlot(
      {
        width: Math.max(300, host.clientWidth),
        height: 320,
        legend: { show: false },
        cursor: { points: { size: 6 } },
        scales: { x: { time: false } },
        axes: [
          { label: 'progress through the time budget (%)', labelSize: 20, size: 36, grid: { stroke: '#eef0f3' } },
          { label: 'training loss (smoothed)', labelSize: 20, size: 60, grid: { stroke: '#eef0f3' } },
        ],
        series: [
          {},
          ...curves.map((c) => ({ label: c.label, stroke: c.color, width: 2, spanGaps: true, points: { size: 5, fill: c.color } })),
          { label: 'incumbent', stroke: COLORS.incumbent, width: 2, dash: [6, 4], spanGaps: true, points: { show: false } },
        ],
      },
      data,
      host,
    );
  }

  // ---------------------------------------------------------------------------- the table
  /** Rows sorted by one column (missing values last either way; ties in file order). */
  function sortRows(rows, key, desc) {
    const present = [];
    const missing = [];
    for (const r of rows) (r[key] === null || r[key] === undefined ? missing : present).push(r);
    const numeric = present.length > 0 && typeof present[0][key] === 'number';
    let ordered = true;
    for (let i = 1; i < present.length && ordered; i++) {
      const a = present[i - 1][key];
      const b = present[i][key];
      if (numeric ? a > b : String(a) > String(b)) ordered = false;
    }
    if (!ordered) {
      present.sort(numeric ? (a, b) => a[key] - b[key] || a.index - b.index : (a, b) => String(a[key]).localeCompare(String(b[key])) || a.index - b.index);
    }
    if (desc) present.reverse();
    return present.concat(missing);
  }
  function computeView() {
    const q = state.search.trim().toLowerCase();
    const all = state.filter === 'all' && q === '';
    const rows = all ? state.rows : state.rows.filter((r) => (state.filter === 'all' || r.status === state.filter) && (q === '' || r.description.toLowerCase().includes(q)));
    const view = sortRows(rows, state.sort.key, state.sort.desc);
    state.view = view;
    $('table-count').textContent = view.length === state.rows.length ? `${view.length}` : `${view.length} of ${state.rows.length}`;
    $('table-spacer').style.height = `${view.length * ROW_HEIGHT}px`;
    for (const b of document.querySelectorAll('.grid-head button')) {
      b.classList.toggle('sorted', b.dataset.key === state.sort.key);
      b.classList.toggle('desc', b.dataset.key === state.sort.key && state.sort.desc);
    }
    renderTableRows();
  }
  function rowElement(r) {
    const delta =
      r.delta === null || r.delta === undefined
        ? el('span', { class: 'num', text: '' })
        : el('span', { class: `num ${r.delta < 0 ? 'delta-good' : 'delta-bad'}`, text: `${r.delta < 0 ? '' : '+'}${r.delta.toFixed(6)}` });
    const row = el(
      'div',
      { class: 'grid-row', role: 'row', tabindex: 0, 'data-index': r.index, 'data-experiment': r.experiment, 'data-number': r.number, 'data-status': r.status },
      el('span', { class: 'num', text: String(r.number) }),
      el('span', null, el('span', { class: `badge ${r.status}`, text: r.status })),
      el('span', { class: 'num', text: r.status === 'crash' ? '–' : fmtBpb(r.val_bpb) }),
      delta,
      el('span', { class: 'num', text: r.peak_vram_mb === null || r.status === 'crash' ? '–' : (r.peak_vram_mb / 1024).toFixed(2) }),
      el('span', { class: 'num', text: r.num_steps === null ? '–' : String(r.num_steps) }),
      el('span', { text: fmtTime(r.time) }),
      el('span', { class: 'description', title: r.description, text: r.description }),
      el('span', { class: 'mono', text: r.commit }),
    );
    return row;
  }
  function renderTableRows() {
    const scroll = $('table-scroll');
    const first = Math.max(0, Math.floor(scroll.scrollTop / ROW_HEIGHT) - 5);
    const count = Math.ceil(scroll.clientHeight / ROW_HEIGHT) + 10;
    const body = $('table-body');
    body.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    body.replaceChildren(...state.view.slice(first, first + count).map(rowElement));
  }

  // ---------------------------------------------------------------------------- workers and fingerprint
  function renderWorkers() {
    const panel = $('workers-panel');
    // One worker (a loop without --workers records `local:0` too) needs no table of workers.
    panel.hidden = state.workers.length < 2;
    const body = $('workers').querySelector('tbody');
    body.replaceChildren(
      ...state.workers.map((w) => {
        const c = w.current;
        const last = w.last;
        let progress = '–';
        if (c) {
          progress = c.state;
          if (c.step) {
            progress += ` · ${c.step.progress.toFixed(1)}% · loss ${c.step.loss.toFixed(4)}`;
            if (c.incumbentLossNow !== null) {
              const d = c.step.loss - c.incumbentLossNow;
              progress += ` (incumbent ${c.incumbentLossNow.toFixed(4)}, ${d < 0 ? '' : '+'}${d.toFixed(4)})`;
            }
          }
        }
        const now = c ? `#${loopNumber(c.experiment)}${c.phase === 'confirm' ? ' (confirmation)' : ''}${c.attempts > 1 ? ` (attempt ${c.attempts})` : ''} ${c.description}` : 'idle';
        return el(
          'tr',
          { 'data-worker': w.worker, 'data-current': c ? String(loopNumber(c.experiment)) : '' },
          el('td', { text: w.worker }),
          el('td', { class: c ? 'now' : 'muted', text: now }),
          el('td', { text: progress }),
          el('td', { text: String(w.experiments) }),
          el('td', { text: String(w.kept) }),
          el('td', { text: last ? `#${shownNumber(last.experiment)}` : '–' }),
          el('td', null, last ? el('span', { class: `badge ${last.status}`, text: last.status }) : '–'),
          el('td', { text: !last || last.status === 'crash' ? '–' : fmtBpb(last.val_bpb) }),
          el('td', { text: last ? last.description : '' }),
        );
      }),
    );
  }
  function renderFingerprint() {
    const fp = state.fingerprint;
    const fill = (id, obj) => {
      const dl = $(id);
      dl.replaceChildren();
      for (const [k, v] of Object.entries(obj || {})) dl.append(el('dt', { text: k }), el('dd', { text: typeof v === 'string' ? v : JSON.stringify(v) }));
    };
    fill('fingerprint-harness', fp && fp.latest ? fp.latest.harness : null);
    fill('fingerprint-hardware', fp && fp.latest ? fp.latest.hardware : null);
    $('fingerprint-note').textContent = !fp || !fp.latest ? 'no experiment yet' : fp.harnesses > 1 ? `of the latest experiment; the rows carry ${fp.harnesses} different harnesses, so not all of them are comparable` : 'of the latest experiment (all rows share this harness)';
  }

  // ---------------------------------------------------------------------------- detail
  async function openDetail(index) {
    const res = await fetch(`/api/rows/${index}`);
    if (!res.ok) return;
    const { row } = await res.json();
    const dialog = $('detail');
    dialog.dataset.index = String(index);
    $('detail-title').textContent = `Experiment ${shownNumber(row.experiment)} · ${statusWord[row.status]}${row.status === 'crash' || row.val_bpb === null ? '' : ` · val_bpb ${row.val_bpb.toFixed(6)}`}`;
    $('detail-description').textContent = row.description;
    const facts = $('detail-facts');
    facts.replaceChildren();
    const fact = (k, v) => facts.append(el('dt', { text: k }), el('dd', { text: v === null || v === undefined || v === '' ? '–' : String(v) }));
    fact('tag', tagName(state.tagView.tag));
    fact('in results.jsonl', `experiment ${row.experiment}`);
    fact('commit', row.commit);
    fact('parent', row.parent);
    fact('agent', row.agent);
    fact('finished', row.time);
    if (row.worker) fact('worker', row.worker);
    for (const key of ['val_bpb', 'training_seconds', 'total_seconds', 'peak_vram_mb', 'mfu_percent', 'total_tokens_M', 'num_steps', 'num_params_M', 'depth']) fact(key, row[key]);
    const diff = $('detail-diff');
    diff.replaceChildren();
    if (row.diff === '') diff.append(el('span', { text: row.parent === null ? '(the baseline: no parent to compare with)' : '(no change recorded)' }));
    for (const line of row.diff.split('\n')) {
      if (line === '') continue;
      const cls = line.startsWith('+++') || line.startsWith('---') ? 'file' : line.startsWith('@@') ? 'hunk' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : null;
      diff.append(el('span', { class: cls, text: line }));
    }
    if (!dialog.open) dialog.showModal();
  }

  // ---------------------------------------------------------------------------- data flow
  function applySnapshot(snap) {
    state.dir = snap.dir;
    if (snap.fields[0] !== 'index' || snap.fields[9] !== 'worker' || !snap.view) throw new Error('this page does not match its server: reload it');
    state.tagView = snap.view;
    state.rows = snap.rows.map(fromTuple);
    state.summary = snap.summary;
    state.status = snap.status;
    state.live = snap.live;
    state.runs = new Map(snap.runs.map((r) => [r.key, r]));
    state.incumbent = snap.incumbent;
    state.workers = snap.workers;
    state.fingerprint = snap.fingerprint;
    state.skipped = snap.skipped;
    computeDeltas(state.rows);
    document.body.dataset.rows = String(state.rows.length);
    $('session-dir').textContent = snap.dir;
    document.title = `autoresearch · ${snap.dir.split('/').pop()}${snap.view.tag === null ? '' : ` · ${snap.view.tag}`}`;
    renderTagLine();
    renderStatus();
    renderCards();
    performance.mark('cards');
    renderBestChart();
    performance.mark('best-chart');
    renderLive();
    performance.mark('live-chart');
    computeView();
    performance.mark('table');
    renderWorkers();
    renderFingerprint();
  }

  async function load() {
    performance.mark('script');
    const res = await fetch('/api/state');
    const snap = await res.json();
    performance.mark('snapshot');
    applySnapshot(snap);
    connect();
    // Time from navigation start: the DOM and both charts built, then the first frame after it.
    document.body.dataset.renderMs = performance.now().toFixed(1);
    requestAnimationFrame(() =>
      setTimeout(() => {
        document.body.dataset.paintMs = performance.now().toFixed(1);
        document.body.dataset.ready = 'true';
      }, 0),
    );
  }

  function connect() {
    if (state.stream) state.stream.close();
    const stream = new EventSource(`/api/events?from=${state.rows.length}&view=${state.tagView.id}`);
    state.stream = stream;
    stream.addEventListener('rows', (e) => {
      const msg = JSON.parse(e.data);
      // `from` counts the view's rows: a gap, or rows of a view this page does not hold, means reload.
      if (msg.view !== state.tagView.id || msg.from > state.rows.length) return void reload();
      const fresh = msg.rows.slice(state.rows.length - msg.from).map(fromTuple);
      if (fresh.length === 0) return;
      state.rows.push(...fresh);
      computeDeltas(state.rows);
      state.summary = msg.summary;
      state.workers = msg.workers;
      state.fingerprint = msg.fingerprint;
      renderCards();
      renderBestChart();
      computeView();
      renderWorkers();
      renderFingerprint();
      renderLive();
      document.body.dataset.rows = String(state.rows.length);
      document.body.dataset.rowsAt = String(Date.now());
    });
    stream.addEventListener('reset', () => void reload());
    stream.addEventListener('tags', (e) => {
      state.tagView.tags = JSON.parse(e.data).tags;
      renderTagLine();
    });
    stream.addEventListener('status', (e) => {
      state.status = JSON.parse(e.data);
      renderStatus();
      renderClock();
    });
    stream.addEventListener('live', (e) => {
      const msg = JSON.parse(e.data);
      if (msg.restart || msg.runId !== state.live.runId) state.live = { runId: msg.runId, points: msg.points };
      else state.live.points.push(...msg.points);
      renderLive();
    });
    stream.addEventListener('run', (e) => {
      const msg = JSON.parse(e.data);
      const run = state.runs.get(msg.key);
      if (!run || msg.restart) state.runs.set(msg.key, { key: msg.key, experiment: msg.experiment, worker: msg.worker, phase: msg.phase, points: msg.points });
      else run.points.push(...msg.points);
      renderLive();
    });
    stream.addEventListener('workers', (e) => {
      const msg = JSON.parse(e.data);
      state.workers = msg.workers;
      // A run that left the queue ended: its curve leaves the chart (its row has it).
      for (const key of [...state.runs.keys()]) if (!msg.runs.includes(key)) state.runs.delete(key);
      renderWorkers();
      renderStatus();
      renderLive();
    });
    stream.addEventListener('incumbent', (e) => {
      state.incumbent = JSON.parse(e.data);
      renderLive();
    });
    stream.addEventListener('error', () => {
      // The server went away or restarted: start over from a fresh snapshot once it answers.
      stream.close();
      setTimeout(() => void reload(), 1000);
    });
  }

  async function reload() {
    try {
      const res = await fetch('/api/state');
      applySnapshot(await res.json());
      connect();
    } catch {
      setTimeout(() => void reload(), 2000);
    }
  }

  // ---------------------------------------------------------------------------- wiring
  $('stop-button').addEventListener('click', () => void control('POST'));
  $('withdraw-button').addEventListener('click', () => void control('DELETE'));
  for (const b of document.querySelectorAll('.filter')) {
    b.addEventListener('click', () => {
      state.filter = b.dataset.status;
      for (const o of document.querySelectorAll('.filter')) o.classList.toggle('active', o === b);
      computeView();
    });
  }
  for (const b of document.querySelectorAll('.grid-head button')) {
    b.addEventListener('click', () => {
      const key = b.dataset.key;
      state.sort = state.sort.key === key ? { key, desc: !state.sort.desc } : { key, desc: key === 'experiment' || key === 'time' };
      computeView();
    });
  }
  $('search').addEventListener('input', (e) => {
    state.search = e.target.value;
    computeView();
  });
  let scheduled = false;
  $('table-scroll').addEventListener('scroll', () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      renderTableRows();
    });
  });
  const rowOf = (target) => target.closest && target.closest('.grid-row');
  $('table-body').addEventListener('click', (e) => {
    const row = rowOf(e.target);
    if (row) void openDetail(Number(row.dataset.index));
  });
  $('table-body').addEventListener('keydown', (e) => {
    const row = rowOf(e.target);
    if (row && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      void openDetail(Number(row.dataset.index));
    }
  });
  $('detail').addEventListener('click', (e) => {
    if (e.target === $('detail')) $('detail').close();
  });
  window.addEventListener('resize', () => {
    if (bestChart) bestChart.setSize({ width: Math.max(300, $('chart-best').clientWidth), height: 320 });
    if (liveChart) liveChart.setSize({ width: Math.max(300, $('chart-live').clientWidth), height: 320 });
  });
  setInterval(renderClock, 1000);
  void load();
})();
