/* Yishiting pages: large type, photo compression, countdowns, live updates. No library but htmx. */
(function () {
  "use strict";
  var body = document.body, T = body.dataset;

  /* Large type (适老化): remembered in this browser. */
  var big = document.getElementById("big-toggle");
  function showBig() { if (big) big.setAttribute("aria-pressed", document.documentElement.classList.contains("big")); }
  if (big) big.addEventListener("click", function () {
    var on = document.documentElement.classList.toggle("big");
    try { localStorage.setItem("big", on ? "1" : "0"); } catch (e) {}
    showBig();
  });
  showBig();

  /* Photos: resized in the browser to at most 1600 px, JPEG 0.8, before they are sent. */
  var MAX_SIDE = 1600, QUALITY = 0.8;
  function shrink(file) {
    return new Promise(function (resolve) {
      if (!/^image\//.test(file.type) || file.type === "image/gif") return resolve(file);
      var url = URL.createObjectURL(file), img = new Image();
      img.onload = function () {
        var scale = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var w = Math.round(img.naturalWidth * scale), h = Math.round(img.naturalHeight * scale);
        var canvas = document.createElement("canvas");
        canvas.width = w; canvas.height = h;
        canvas.getContext("2d").drawImage(img, 0, 0, w, h);
        URL.revokeObjectURL(url);
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size && scale === 1) return resolve(file);
          resolve(new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }));
        }, "image/jpeg", QUALITY);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }
  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input.matches || !input.matches("input[type=file][data-compress]")) return;
    var form = input.form, max = +(input.dataset.max || 9);
    var status = form && form.querySelector("[data-photo-status]");
    var files = Array.prototype.slice.call(input.files, 0, max);
    var buttons = form ? form.querySelectorAll("button[type=submit],button:not([type])") : [];
    buttons.forEach(function (b) { b.disabled = true; });
    if (status) status.textContent = T.tWait;
    form && form.setAttribute("data-compressing", "1");
    Promise.all(files.map(shrink)).then(function (out) {
      try { /* old browsers without new DataTransfer() send the originals (the server shrinks) */
        var dt = new DataTransfer();
        out.forEach(function (f) { dt.items.add(f); });
        input.files = dt.files;
      } catch (e) { out = files; }
      var kb = Math.round(out.reduce(function (s, f) { return s + f.size; }, 0) / 1024);
      if (status) status.textContent = out.length + " " + T.tPhotos + " (" + kb + " KB)";
      buttons.forEach(function (b) { b.disabled = false; });
      form && form.removeAttribute("data-compressing");
    });
  });

  /* Voice messages (语音留言): record in the page where the browser allows it (HTTPS or
     localhost, MediaRecorder), else the file input opens the phone's own recorder. The
     recording becomes the form's `voice` file; the text is then optional. */
  var MAX_VOICE_MS = 180000;
  document.querySelectorAll("[data-voice]").forEach(function (box) {
    var rec = box.querySelector("[data-voice-record]"), file = box.querySelector("[data-voice-file]");
    var preview = box.querySelector("[data-voice-preview]"), clear = box.querySelector("[data-voice-clear]");
    var status = box.querySelector("[data-voice-status]"), form = box.closest("form");
    var text = form && form.querySelector("textarea[name=text]");
    var recorder = null, chunks = [], timer = null;
    function done(blob) {
      if (preview) { preview.src = URL.createObjectURL(blob); preview.hidden = false; }
      if (clear) clear.hidden = false;
      if (text) text.required = false;
      if (status) status.textContent = T.tVoiceDone + " (" + Math.max(1, Math.round(blob.size / 1024)) + " KB)";
    }
    if (file) file.addEventListener("change", function () { if (file.files.length) done(file.files[0]); });
    if (clear) clear.addEventListener("click", function () {
      file.value = ""; preview.hidden = true; preview.removeAttribute("src"); clear.hidden = true;
      if (text) text.required = true;
      if (status) status.textContent = "";
    });
    if (!rec) return;
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder)) {
      rec.hidden = true; return;
    }
    function stop() { if (recorder && recorder.state === "recording") recorder.stop(); }
    rec.addEventListener("click", function () {
      if (recorder && recorder.state === "recording") return stop();
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.ondataavailable = function (e) { if (e.data.size) chunks.push(e.data); };
        recorder.onstop = function () {
          clearTimeout(timer);
          stream.getTracks().forEach(function (t) { t.stop(); });
          rec.setAttribute("aria-pressed", "false"); rec.textContent = rec.dataset.idle;
          var type = (recorder.mimeType || "audio/webm").split(";")[0];
          var ext = /mp4|aac/.test(type) ? "m4a" : /ogg/.test(type) ? "ogg" : "webm";
          var blob = new Blob(chunks, { type: type });
          try {
            var dt = new DataTransfer();
            dt.items.add(new File([blob], "voice." + ext, { type: type }));
            file.files = dt.files;
          } catch (e) { if (status) status.textContent = T.tVoiceFail; return; }
          done(blob);
        };
        recorder.start();
        rec.setAttribute("aria-pressed", "true"); rec.textContent = rec.dataset.recording;
        if (status) status.textContent = T.tVoiceOn;
        timer = setTimeout(stop, MAX_VOICE_MS);
      }, function () { if (status) status.textContent = T.tVoiceFail; });
    });
  });

  /* Location, when the resident agrees. */
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-locate]");
    if (btn && navigator.geolocation) {
      navigator.geolocation.getCurrentPosition(function (p) {
        var f = btn.form || btn.closest("form");
        f.lat.value = p.coords.latitude.toFixed(6); f.lng.value = p.coords.longitude.toFixed(6);
        btn.textContent = "✓ " + btn.textContent;
      });
    }
    var chip = ev.target.closest && ev.target.closest("[data-fill]");
    if (chip) { var ta = chip.closest("form").querySelector("textarea[name=note]"); if (ta) ta.value = chip.dataset.fill; }
    var notify = ev.target.closest && ev.target.closest("[data-notify]");
    if (notify) { unlockAudio(); if (window.Notification && Notification.permission === "default") Notification.requestPermission(); notify.textContent = "✓ " + notify.textContent; }
  });

  /* Quick capture: phone and place pre-filled from the pasted message. */
  var parseTimer;
  document.addEventListener("input", function (ev) {
    var ta = ev.target;
    if (!ta.dataset || !ta.dataset.captureParse) return;
    clearTimeout(parseTimer);
    parseTimer = setTimeout(function () {
      var fd = new FormData(); fd.append("text", ta.value);
      fetch(ta.dataset.captureParse, { method: "POST", body: fd, headers: { "X-CSRFToken": ta.form.csrfmiddlewaretoken.value }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          var f = ta.form;
          if (d.phone && !f.phone.dataset.touched) f.phone.value = d.phone;
          if (d.place && !f.address.dataset.touched) f.address.value = d.place;
        });
    }, 300);
  });
  document.addEventListener("keydown", function (ev) { if (ev.target.name === "phone" || ev.target.name === "address") ev.target.dataset.touched = "1"; });

  /* Countdowns: green, amber from half the time, red when overdue. */
  function fmt(s) {
    s = Math.abs(Math.round(s));
    if (s >= 86400) return Math.floor(s / 86400) + T.tDay + Math.floor(s % 86400 / 3600) + T.tHour;
    if (s >= 3600) return Math.floor(s / 3600) + T.tHour + Math.floor(s % 3600 / 60) + T.tMin;
    return Math.floor(s / 60) + T.tMin + (s % 60) + T.tSec;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".clock[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due), start = Date.parse(el.dataset.start);
      var left = (due - now) / 1000, share = (now - start) / Math.max(1, due - start);
      el.classList.toggle("red", left <= 0);
      el.classList.toggle("amber", left > 0 && share >= 0.5);
      el.textContent = left > 0 ? T.tLeft + " " + fmt(left) : T.tOver + " " + fmt(left);
    });
  }
  tick(); setInterval(tick, 1000);

  /* A short beep made with WebAudio (no sound file). */
  var audio;
  function unlockAudio() { try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); audio.resume(); } catch (e) {} }
  function beep() {
    try {
      unlockAudio();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.2;
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.25);
      window.__beeps = (window.__beeps || 0) + 1;
    } catch (e) {}
  }

  /* Live: one WebSocket per page; a change refreshes what this page shows of that request. */
  var pending = {}, seen = {}, busy = 0, flushTimer;
  function dirty(panel) {
    return Array.prototype.some.call(panel.querySelectorAll("textarea,input[type=file],input[name=until],input[name=into]"), function (f) {
      return f.type === "file" ? f.files.length > 0 : f.value !== f.defaultValue;
    });
  }
  function stale(id) {
    var panel = document.getElementById("panel-" + id);
    return !panel || !seen[id] || +panel.dataset.version < seen[id];
  }
  function flush() {
    if (busy) return; /* this page's own request is on its way: check again after it */
    var ids = pending; pending = {};
    var list = document.getElementById("list");
    if (list && body.hasAttribute("data-live-list")) htmx.trigger(list, "live");
    Object.keys(ids).forEach(function (id) {
      var panel = document.getElementById("panel-" + id);
      if (!panel || !stale(id)) return; /* this page made the change, or already shows it */
      if (dirty(panel)) { /* never wipe what someone is typing */
        document.getElementById("flash").innerHTML = '<div class="notice"><p>' + T.tChanged + ' <a href="">' + T.tReload + "</a></p></div>";
        return;
      }
      htmx.trigger(panel, "live");
    });
  }
  function refresh(id, kind, version) {
    seen[id] = Math.max(seen[id] || 0, version || 0);
    pending[id] = kind;
    clearTimeout(flushTimer);
    flushTimer = setTimeout(flush, 150);
  }
  document.addEventListener("htmx:beforeRequest", function () { busy++; });
  document.addEventListener("htmx:afterRequest", function () {
    busy = Math.max(0, busy - 1);
    if (!busy && Object.keys(pending).length) { clearTimeout(flushTimer); flushTimer = setTimeout(flush, 50); }
  });
  function followed() {
    var ids = {};
    document.querySelectorAll("[data-req]").forEach(function (el) { ids[+el.dataset.req] = 1; });
    return Object.keys(ids).map(Number);
  }
  /* Deliberation pages: sections marked data-delib="topic.5" refetch themselves on a change,
     unless someone is filling a form inside them. */
  var delibTimer;
  function watched() {
    var names = {};
    document.querySelectorAll("[data-delib]").forEach(function (el) { names[el.dataset.delib] = 1; });
    if (body.dataset.delibWatch) names[body.dataset.delibWatch] = 1;
    return Object.keys(names);
  }
  function touched(el) {
    return Array.prototype.some.call(el.querySelectorAll("input,textarea,select"), function (f) {
      if (f.type === "radio" || f.type === "checkbox") return f.checked !== f.defaultChecked;
      if (f.type === "file") return f.files.length > 0;
      if (f.tagName === "SELECT") return f.selectedIndex > 0 && !f.options[f.selectedIndex].defaultSelected;
      return f.type !== "hidden" && f.value !== f.defaultValue;
    });
  }
  function delibChanged() {
    clearTimeout(delibTimer);
    delibTimer = setTimeout(function () {
      document.querySelectorAll("[data-delib]").forEach(function (el) {
        if (!touched(el)) htmx.trigger(el, "live");
      });
      window.__delibRefreshed = (window.__delibRefreshed || 0) + 1;
    }, 150);
  }
  /* Reconnect with a back-off doubling from 0.5 s to 15 s, each wait drawn from the upper half
     of the current step, so that the pages of a restarted server do not all come back in the
     same instant; only a connection that held for 10 s starts the back-off afresh. */
  var ws, retry = 500, openedAt = 0;
  function connect() {
    if (!window.WebSocket) return;
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/live/");
    ws.onopen = function () { openedAt = Date.now(); ws.send(JSON.stringify({ follow: followed(), watch: watched() })); body.setAttribute("data-live", "on"); };
    ws.onmessage = function (m) {
      var d = JSON.parse(m.data);
      if (d.kind === "following") return;
      window.__liveAt = Date.now();
      if (d.kind === "delib") { delibChanged(); return; }
      if (d.kind === "new" && body.hasAttribute("data-inbox")) {
        beep();
        if (window.Notification && Notification.permission === "granted") {
          try { new Notification(T.tNew, { body: "#" + d.id, tag: "req-" + d.id }); window.__notified = (window.__notified || 0) + 1; } catch (e) {}
        }
      }
      refresh(d.id, d.kind, d.version);
    };
    ws.onclose = function () {
      body.setAttribute("data-live", "off");
      if (openedAt && Date.now() - openedAt > 10000) retry = 500;
      openedAt = 0;
      setTimeout(connect, retry * (0.5 + Math.random() / 2));
      retry = Math.min(retry * 2, 15000);
    };
  }
  connect();
  document.addEventListener("htmx:afterSwap", function (ev) {
    tick();
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ follow: followed(), watch: watched() }));
  });
})();
