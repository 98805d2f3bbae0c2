/* dprof HTML report: an interactive flamegraph (click to zoom, search to highlight).
 * Inlined into every report; reads the call tree from <script id="dprof-data">.
 * The tree arrives flat, in pre-order: [name, file, line, total, self, [seconds per
 * category], parent index (-1 for the root)]. Nothing here recurses over the tree, so a
 * 50,000-deep recursion draws as well as a shallow one.
 * After every render the counts are written to #dprof-status (read by the tests).
 * The URL hash may preset the view: #search=<regex>&zoom=<node number, pre-order>;
 * #click=<node number> clicks that frame once drawn (used by the browser tests). */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var ROW = 18, CHAR = 7, MIN_PX = 0.5;
  var data = JSON.parse(document.getElementById("dprof-data").textContent);
  var svg = document.getElementById("flame-svg");
  var info = document.getElementById("flame-info");
  var details = document.getElementById("details");
  var status = document.getElementById("dprof-status");
  var search = document.getElementById("search");
  var nodes = [];

  data.nodes.forEach(function (raw) {
    var parent = raw[6] >= 0 ? nodes[raw[6]] : null;
    var n = {id: nodes.length, name: raw[0], file: raw[1], line: raw[2], total: raw[3],
             self: raw[4], cats: raw[5], parent: parent,
             depth: parent ? parent.depth + 1 : 0, kids: []};
    nodes.push(n);
    if (parent) parent.kids.push(n);
  });
  var root = nodes[0];
  var state = {zoom: root, re: null};

  function hash(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return (h >>> 0) % 1000 / 1000;
  }
  function colour(n) {
    var best = 0;
    for (var i = 1; i < n.cats.length; i++) if (n.cats[i] > n.cats[best]) best = i;
    var c = data.colours[best], k = 0.85 + 0.3 * hash(n.name);
    var rgb = [1, 3, 5].map(function (i) {
      return Math.min(255, Math.round(parseInt(c.substr(i, 2), 16) * k));
    });
    return "rgb(" + rgb.join(",") + ")";
  }
  function secs(s) {
    return s >= 1 ? s.toFixed(2) + "s" : s >= 1e-3 ? (s * 1e3).toFixed(1) + "ms"
                                                   : (s * 1e6).toFixed(0) + "us";
  }
  function describe(n) {
    var parts = [n.name, secs(n.total) + " (" + (100 * n.total / root.total).toFixed(2) +
                 "% of all), self " + secs(n.self)];
    data.categories.forEach(function (c, i) {
      if (n.cats[i] > 0) parts.push(data.labels[i] + " " + secs(n.cats[i]));
    });
    return parts.join("  |  ");
  }

  function draw(n, x, w, ancestor, matched) {
    var g = document.createElementNS(SVGNS, "g");
    g.setAttribute("class", (ancestor ? "ancestor" : "frame") + (matched ? " match" : ""));
    g.setAttribute("data-id", n.id);
    var title = document.createElementNS(SVGNS, "title");
    title.textContent = describe(n);
    var r = document.createElementNS(SVGNS, "rect");
    var y = n.depth * ROW;
    r.setAttribute("x", x.toFixed(2));
    r.setAttribute("y", y);
    r.setAttribute("width", w.toFixed(2));
    r.setAttribute("height", ROW - 1);
    r.setAttribute("fill", colour(n));
    g.appendChild(title);
    g.appendChild(r);
    var fits = Math.floor((w - 6) / CHAR);
    if (fits >= 3) {
      var t = document.createElementNS(SVGNS, "text");
      t.setAttribute("x", (x + 3).toFixed(2));
      t.setAttribute("y", y + ROW - 5);
      t.textContent = n.name.length <= fits ? n.name : n.name.substr(0, fits - 2) + "..";
      g.appendChild(t);
    }
    g.addEventListener("click", function () { state.zoom = n; render(); });
    g.addEventListener("mouseover", function () { details.textContent = describe(n); });
    svg.appendChild(g);
  }

  function render() {
    var width = svg.parentNode.clientWidth || 1200;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var zoom = state.zoom, scale = zoom.total > 0 ? width / zoom.total : 0;
    var frames = 0, matches = 0, matchedTime = 0, deepest = 0;
    for (var a = zoom.parent; a; a = a.parent) {       // the path to the zoomed node
      draw(a, 0, width, true, false);
      frames++;
    }
    // pre-order with an explicit stack: [node, x, inside a match]
    var todo = scale > 0 ? [[zoom, 0, false]] : [];
    while (todo.length) {
      var item = todo.pop(), n = item[0], x = item[1], insideMatch = item[2];
      var w = n.total * scale;
      if (w < MIN_PX) continue;
      var matched = !!(state.re && state.re.test(n.name));
      if (matched) {
        matches++;
        if (!insideMatch) matchedTime += n.total;   // nested matches count once
      }
      draw(n, x, w, false, matched);
      frames++;
      deepest = Math.max(deepest, n.depth);
      var starts = [], kx = x;
      n.kids.forEach(function (k) { starts.push(kx); kx += k.total * scale; });
      for (var i = n.kids.length - 1; i >= 0; i--) {
        todo.push([n.kids[i], starts[i], insideMatch || matched]);
      }
    }
    svg.setAttribute("width", width);
    svg.setAttribute("height", (deepest + 1) * ROW);
    var text = frames + " frames drawn";
    if (state.re) {
      text += "; " + matches + " match /" + state.re.source + "/ (" +
              (zoom.total > 0 ? 100 * matchedTime / zoom.total : 0).toFixed(1) + "% of view)";
    }
    if (zoom !== root) text += "; zoomed to " + zoom.name + " (click 'Reset zoom')";
    info.textContent = text;
    status.setAttribute("data-frames", frames);
    status.setAttribute("data-matches", matches);
    status.setAttribute("data-matched-percent",
                        (zoom.total > 0 ? 100 * matchedTime / zoom.total : 0).toFixed(3));
    status.setAttribute("data-zoom", zoom.name);
    status.textContent = "rendered";
  }

  function setSearch(text) {
    try {
      state.re = text ? new RegExp(text, "i") : null;
      search.style.background = "";
    } catch (e) {                                     // an unfinished regex: show, keep old
      search.style.background = "#fdd";
      return;
    }
    render();
  }

  search.addEventListener("input", function () { setSearch(search.value); });
  document.getElementById("reset").addEventListener("click", function () {
    state.zoom = root;
    render();
  });
  window.addEventListener("resize", render);

  var clicks = [];
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var i = kv.indexOf("="), key = kv.slice(0, i), value = decodeURIComponent(kv.slice(i + 1));
    if (key === "search") {
      search.value = value;
      try { state.re = value ? new RegExp(value, "i") : null; } catch (e) { state.re = null; }
    } else if (key === "zoom" && nodes[+value]) {
      state.zoom = nodes[+value];
    } else if (key === "click") {                     // a real click, after the first render
      clicks.push(value);
    }
  });
  render();
  clicks.forEach(function (id) {
    var g = svg.querySelector('g[data-id="' + id + '"]');
    if (g) g.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  });
})();
