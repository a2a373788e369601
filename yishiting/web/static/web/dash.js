/* Leader pages: ECharts charts drawn from the page's #dash-data; the wall screen (大屏)
   re-fetches its figures when a live event arrives (debounced) and every minute. */
(function () {
  "use strict";
  var body = document.body, wall = body.hasAttribute("data-wall"), charts = [];
  var still = window.matchMedia && matchMedia("(prefers-reduced-motion: reduce)").matches;
  var FG = wall ? "#dbe6ff" : "#222", GRID = wall ? "#2b3a5c" : "#ddd";
  var COLORS = wall ? ["#36cfc9", "#597ef7", "#ffc53d", "#ff7a45", "#73d13d", "#b37feb", "#ff85c0", "#40a9ff"]
                    : ["#a8071a", "#0646b8", "#d48806", "#0a6b2d", "#722ed1", "#08979c", "#c41d7f", "#595959"];
  function axis(cat) {
    var a = { axisLabel: { color: FG, fontSize: wall ? 16 : 12 }, axisLine: { lineStyle: { color: GRID } }, splitLine: { lineStyle: { color: GRID } } };
    if (cat) { a.type = "category"; a.data = cat; } else { a.type = "value"; a.minInterval = 1; }
    return a;
  }
  function option(kind, pts, narrow) {
    var base = { color: COLORS, backgroundColor: "transparent", animation: !still && (!wall || !window.__wallRefreshes), textStyle: { color: FG }, tooltip: { trigger: kind === "states" || kind === "categories" ? "item" : "axis" }, grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true } };
    var names = pts.map(function (p) { return p.name; });
    if (kind === "states" || kind === "categories") {
      /* narrow screens: a legend below instead of labels that would be cut off */
      base.legend = { show: narrow, bottom: 0, type: "plain", textStyle: { color: FG }, formatter: function (n) {
        var p = pts.filter(function (q) { return q.name === n; })[0]; return n + " " + (p ? p.value : ""); } };
      base.series = [{ type: "pie", radius: narrow ? ["28%", "50%"] : ["40%", "70%"], center: ["50%", narrow ? "38%" : "50%"], data: pts,
        label: { show: !narrow, color: FG, fontSize: wall ? 18 : 12, formatter: "{b} {c}" } }];
    } else if (kind === "days") {
      base.xAxis = axis(names.map(function (d) { return d.slice(5); })); base.yAxis = axis();
      base.series = [{ type: "line", areaStyle: { opacity: 0.2 }, data: pts }];
    } else if (kind === "hours") {
      base.xAxis = axis(names); base.yAxis = axis();
      base.series = [{ type: "bar", barMaxWidth: 24, data: pts }];
    } else { /* halls, departments: horizontal bars, largest on top */
      var rev = pts.slice().reverse();
      base.yAxis = axis(rev.map(function (p) { return p.name; })); base.xAxis = axis();
      base.series = [{ type: "bar", barMaxWidth: wall ? 40 : 28, data: rev, label: { show: true, position: "right", color: FG, fontSize: wall ? 18 : 12 } }];
    }
    return base;
  }
  function draw(root) {
    if (!window.echarts) return;
    var el = root.querySelector("#dash-data");
    if (!el) return;
    var data = JSON.parse(el.textContent);
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    root.querySelectorAll("[data-chart]").forEach(function (box) {
      var pts = data[box.dataset.chart] || [];
      var c = echarts.init(box, null, { renderer: "canvas" });
      c.setOption(option(box.dataset.chart, pts, box.clientWidth < 480));
      c.on("click", function (p) { if (p.data && p.data.url && !wall) location.href = p.data.url; });
      charts.push(c);
    });
    window.__charts = charts.length;
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  draw(document);
  if (!wall) return;

  /* The wall: live refresh. */
  var holder = document.getElementById("wall-body"), url = body.dataset.partUrl;
  var every = (+body.dataset.refresh || 60) * 1000, timer, loading = false, again = false;
  function refresh() {
    if (loading) { again = true; return; }
    loading = true;
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      holder.innerHTML = html;
      draw(holder);
      window.__wallRefreshes = (window.__wallRefreshes || 0) + 1;
      showLive();
    }).catch(function () {}).then(function () {
      loading = false;
      if (again) { again = false; soon(); }
    });
  }
  function soon() { clearTimeout(timer); timer = setTimeout(refresh, 1500); }
  setInterval(refresh, every);
  var ws, retry = 500, live = false;
  function showLive() { var dot = document.getElementById("live-state"); if (dot) dot.classList.toggle("on", live); }
  function connect() {
    if (!window.WebSocket) return;
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/live/");
    ws.onopen = function () { retry = 500; live = true; showLive(); body.setAttribute("data-live", "on"); };
    ws.onmessage = function (m) {
      var d = JSON.parse(m.data);
      if (d.kind === "following") return;
      window.__liveAt = Date.now();
      soon();
    };
    ws.onclose = function () { live = false; showLive(); body.setAttribute("data-live", "off"); setTimeout(connect, retry); retry = Math.min(retry * 2, 15000); };
  }
  connect();
})();
