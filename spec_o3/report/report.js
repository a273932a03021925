/* spec-o3 review report: plain JavaScript, no dependencies, works from file://.
 *
 * data/report.js defines window.SPEC_O3_REPORT (one small entry per candidate); the details of
 * each group of candidates come from data/chunk-NNNNN.js, added as a <script> when first needed
 * (browsers refuse fetch() of local files). Text from the data (model output, file names,
 * comments) reaches the page only through text nodes and plain attributes, never as HTML.
 * Decisions live in localStorage under REPORT.storage_key: {candidate key: {decision, comment,
 * decided_at}}; decisions made at build time come with the candidates and the browser's win.
 */
(function () {
  "use strict";

  const REPORT = window.SPEC_O3_REPORT;
  const DECISIONS = ["accept", "reject", "unsure"];
  const DECISION_LABELS = {accept: "Accept", reject: "Reject", unsure: "Unsure"};
  const EXPORT_COLUMNS = ["id", "file", "task", "agent_verdict", "decision", "comment", "decided_at"];
  const PAGE_SIZE = 100;
  const OUTCOMES = REPORT.outcome_labels;  // outcome -> its name: YES, NO, no answer, failed, error
  /* What the error of a row without a verdict means, by outcome. */
  const ERROR_PREFIXES = {
    no_answer: "The agent gave no answer: ",
    failed: "Could not be vetted: ",
    error: "Inspection error: ",
  };

  const entries = REPORT.candidates;
  entries.forEach(function (entry, index) { entry.index = index; });
  const byKey = new Map(entries.map(function (entry) { return [entry.key, entry]; }));

  /* ---------------------------------------------------------------- helpers */

  function h(tag, attributes) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") element.className = value;
      else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of Array.prototype.slice.call(arguments, 2).flat()) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : String(child));  // strings become text nodes
    }
    return element;
  }

  function $(id) { return document.getElementById(id); }

  function formatNumber(value, digits) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
  }

  function formatRedshift(z) {
    if (z === null || z === undefined) return "–";
    const text = Math.abs(z) < 1e-3 && z !== 0 ? z.toExponential(2) : z.toFixed(4);
    // the speed of light in km/s (astropy.constants.c, as the Python side uses)
    return text + "  (cz = " + (299792.458 * z).toFixed(1) + " km/s)";
  }

  function outcomeBadge(outcome, big) {
    return h("span", {class: "badge outcome-" + outcome + (big ? " big" : "")},
      (big ? "agent: " : "") + OUTCOMES[outcome]);
  }

  function countOutcomes(list) {
    const result = {};
    for (const outcome of Object.keys(OUTCOMES)) result[outcome] = 0;
    for (const entry of list) result[entry.outcome] += 1;
    return result;
  }

  function formatTime(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleString();
  }

  function message(text) {
    const element = $("message");
    if (element) element.textContent = text;
  }

  /* ---------------------------------------------------------------- decisions */

  const store = {
    available: true,
    read: function () {
      try {
        return JSON.parse(window.localStorage.getItem(REPORT.storage_key) || "{}") || {};
      } catch (error) {
        this.available = false;
        return {};
      }
    },
    write: function (all) {
      try {
        window.localStorage.setItem(REPORT.storage_key, JSON.stringify(all));
      } catch (error) {
        this.available = false;
        message("Decisions cannot be saved in this browser: export them before closing the page.");
      }
    },
  };
  let saved = store.read();

  function review(entry) {
    const mine = saved[entry.key];
    if (mine) return mine;
    return {decision: entry.decision || "", comment: entry.comment || "", decided_at: entry.decided_at || ""};
  }

  function updateReview(entry, changes) {
    saved = store.read();  // another tab may have saved meanwhile
    saved[entry.key] = Object.assign({}, review(entry), changes);
    store.write(saved);
  }

  function counts(list) {
    const result = {total: list.length, decided: 0, accept: 0, reject: 0, unsure: 0};
    for (const entry of list) {
      const decision = review(entry).decision;
      if (decision) { result.decided += 1; result[decision] += 1; }
    }
    return result;
  }

  function renderProgress() {
    const c = counts(entries);
    $("progress-text").textContent =
      c.decided + " / " + c.total + " reviewed · " + c.accept + " accepted · " +
      c.reject + " rejected · " + c.unsure + " unsure";
    $("progress-fill").style.width = (c.total ? 100 * c.decided / c.total : 0) + "%";
  }

  /* ---------------------------------------------------------------- export and import */

  function exportRows() {
    const rows = [];
    for (const entry of entries) {
      const r = review(entry);
      if (!r.decision && !r.comment) continue;
      rows.push([entry.id, entry.file, entry.task, entry.verdict, r.decision || "", r.comment || "", r.decided_at || ""]);
    }
    return rows;
  }

  function csvField(value) {
    return '"' + String(value).replace(/"/g, '""') + '"';
  }

  function csvText(rows) {
    return [EXPORT_COLUMNS].concat(rows).map(function (row) {
      return row.map(csvField).join(",");
    }).join("\n") + "\n";
  }

  function ecsvText(rows) {
    const header = ["# %ECSV 1.0", "# ---", "# delimiter: ','", "# datatype:"];
    for (const name of EXPORT_COLUMNS) header.push("# - {name: " + name + ", datatype: string}");
    header.push("# schema: astropy-2.0");
    return header.join("\n") + "\n" + csvText(rows);
  }

  function download(name, text, type) {
    const url = URL.createObjectURL(new Blob([text], {type: type}));
    const link = h("a", {href: url, download: name});
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    message("Exported " + name + ".");
  }

  function parseCsv(text) {
    const rows = [];
    let row = [], field = "", quoted = false;
    for (let i = 0; i < text.length; i++) {
      const char = text[i];
      if (quoted) {
        if (char === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (char === '"') quoted = false;
        else field += char;
      } else if (char === '"') quoted = true;
      else if (char === ",") { row.push(field); field = ""; }
      else if (char === "\n" || char === "\r") {
        if (char === "\r" && text[i + 1] === "\n") i++;
        row.push(field); rows.push(row); row = []; field = "";
      } else field += char;
    }
    if (field || row.length) { row.push(field); rows.push(row); }
    return rows.filter(function (r) { return r.length > 1 || r[0]; });
  }

  function importDecisions(text) {
    const lines = text.split(/\r?\n/);
    const body = lines.filter(function (line) { return !line.startsWith("#"); }).join("\n");
    const rows = parseCsv(body);
    const header = rows.shift() || [];
    const column = {};
    header.forEach(function (name, i) { column[name.trim()] = i; });
    for (const name of ["file", "task", "decision", "comment", "decided_at"]) {
      if (!(name in column)) throw new Error("not a decisions file: no '" + name + "' column");
    }
    saved = store.read();
    let taken = 0, unknown = 0;
    for (const row of rows) {
      const entry = byKey.get(row[column.task] + "|" + row[column.file]);
      if (!entry) { unknown += 1; continue; }
      const incoming = {
        decision: DECISIONS.includes(row[column.decision]) ? row[column.decision] : "",
        comment: row[column.comment] || "",
        decided_at: row[column.decided_at] || "",
      };
      const current = saved[entry.key];
      if (current && current.decided_at && current.decided_at > incoming.decided_at) continue;
      saved[entry.key] = incoming;
      taken += 1;
    }
    store.write(saved);
    return "Imported " + taken + " decision(s)" + (unknown ? "; " + unknown + " are not in this report." : ".");
  }

  /* ---------------------------------------------------------------- candidate details */

  const chunks = new Map();  // chunk number -> {promise, resolve, reject, records}

  window.specO3Report = {
    receive: function (number, records) {
      const chunk = chunk_(number);
      chunk.records = records;
      chunk.resolve(records);
    },
  };

  function chunk_(number) {
    if (!chunks.has(number)) {
      const chunk = {};
      chunk.promise = new Promise(function (resolve, reject) {
        chunk.resolve = resolve;
        chunk.reject = reject;
      });
      chunks.set(number, chunk);
    }
    return chunks.get(number);
  }

  function loadRecord(entry) {
    const number = Math.floor(entry.index / REPORT.chunk_size);
    const chunk = chunk_(number);
    if (!chunk.requested) {
      chunk.requested = true;
      const script = h("script", {src: "data/chunk-" + String(number).padStart(5, "0") + ".js"});
      script.addEventListener("error", function () {
        chunk.reject(new Error("cannot load " + script.getAttribute("src")));
      });
      document.head.append(script);
    }
    return chunk.promise.then(function (records) { return records[entry.index % REPORT.chunk_size]; });
  }

  /* ---------------------------------------------------------------- review page */

  function reviewPage() {
    const state = {view: [], position: 0, autoAdvance: true};
    const prefsKey = REPORT.storage_key + ":view";
    const filters = {
      verdict: $("filter-verdict"), task: $("filter-task"), status: $("filter-status"), text: $("filter-text"),
    };

    const tasks = Array.from(new Set(entries.map(function (e) { return e.task; }))).sort();
    for (const task of tasks) filters.task.append(h("option", {value: task}, task));
    const outcomes = countOutcomes(entries);
    for (const [outcome, name] of Object.entries(OUTCOMES)) {
      if (outcomes[outcome]) filters.verdict.append(h("option", {value: outcome}, name + " (" + outcomes[outcome] + ")"));
    }

    try {
      const prefs = JSON.parse(window.localStorage.getItem(prefsKey) || "{}") || {};
      for (const name of Object.keys(filters)) if (prefs[name] !== undefined) filters[name].value = prefs[name];
      if (prefs.autoAdvance !== undefined) state.autoAdvance = prefs.autoAdvance;
    } catch (error) { /* no saved view */ }

    function savePrefs() {
      const prefs = {autoAdvance: state.autoAdvance};
      for (const name of Object.keys(filters)) prefs[name] = filters[name].value;
      try { window.localStorage.setItem(prefsKey, JSON.stringify(prefs)); } catch (error) { /* fine */ }
    }

    function matches(entry) {
      if (filters.verdict.value && entry.outcome !== filters.verdict.value) return false;
      if (filters.task.value && entry.task !== filters.task.value) return false;
      const decision = review(entry).decision;
      const status = filters.status.value;
      if (status === "undecided" && decision) return false;
      if (status === "decided" && !decision) return false;
      if (DECISIONS.includes(status) && decision !== status) return false;
      const text = filters.text.value.trim().toLowerCase();
      if (text) {
        const haystack = [entry.id, entry.file, entry.evidence, entry.error, review(entry).comment].join("\n").toLowerCase();
        if (!haystack.includes(text)) return false;
      }
      return true;
    }

    /* The list is recomputed when the filters change, not when a decision is made, so that
       deciding under the "undecided" filter moves on instead of reshuffling the list. */
    function applyFilters(keepIndex) {
      state.view = entries.filter(matches).map(function (e) { return e.index; });
      const at = state.view.indexOf(keepIndex);
      state.position = at >= 0 ? at : 0;
      $("filter-count").textContent = state.view.length + " of " + entries.length + " candidates";
      savePrefs();
      show(state.position);
    }

    function current() {
      return state.view.length ? entries[state.view[state.position]] : null;
    }

    /* What the list says after the task: the S/N and confidence of a verdict, or why there is none. */
    function itemFact(entry) {
      if (!entry.verdict) return entry.error ? " · " + entry.error : "";
      return (entry.snr === null ? "" : " · S/N " + formatNumber(entry.snr, 0)) + confidenceFact(entry);
    }

    /* A verdict's confidence, where the backend gave one (see spec-o3 report --sort-by confidence). */
    function confidenceFact(entry) {
      return typeof entry.confidence === "number" ? " · confidence " + formatNumber(entry.confidence, 2) : "";
    }

    function renderList() {
      const list = $("list");
      const page = Math.floor(state.position / PAGE_SIZE);
      const start = page * PAGE_SIZE;
      const items = state.view.slice(start, start + PAGE_SIZE).map(function (index, offset) {
        const entry = entries[index];
        const decision = review(entry).decision || "undecided";
        return h("li", {
            class: "item status-" + decision + (start + offset === state.position ? " current" : ""),
            title: entry.file,
            onclick: function () { show(start + offset); },
          },
          h("span", {class: "dot", title: decision}),
          h("span", {class: "item-id"}, entry.id),
          h("span", {class: "item-facts"}, outcomeBadge(entry.outcome), " " + entry.task + itemFact(entry)));
      });
      list.replaceChildren.apply(list, items);
      const pages = Math.max(1, Math.ceil(state.view.length / PAGE_SIZE));
      $("page-label").textContent = "page " + (page + 1) + " / " + pages;
      $("page-prev").disabled = page === 0;
      $("page-next").disabled = page + 1 >= pages;
      const selected = list.querySelector(".current");
      if (selected) selected.scrollIntoView({block: "nearest"});
    }

    function show(position) {
      if (!state.view.length) {
        state.position = 0;
        renderList();
        $("detail").replaceChildren(h("p", {class: "empty"}, "No candidate matches the filters."));
        return;
      }
      state.position = Math.max(0, Math.min(position, state.view.length - 1));
      const entry = current();
      history.replaceState(null, "", "#" + entry.index);
      renderList();
      const detail = $("detail");
      detail.replaceChildren(h("p", {class: "empty"}, "Loading " + entry.id + "…"));
      loadRecord(entry).then(function (record) {
        if (current() === entry) renderDetail(entry, record);
      }, function (error) {
        if (current() === entry) detail.replaceChildren(h("p", {class: "note error"}, String(error.message)));
      });
      const next = state.view[state.position + 1];
      if (next !== undefined) loadRecord(entries[next]).catch(function () {});
    }

    function move(step) { show(state.position + step); }

    function decide(decision) {
      const entry = current();
      if (!entry) return;
      if (decision === review(entry).decision) {
        if (decision && state.autoAdvance) move(1);
        return;
      }
      updateReview(entry, {decision: decision, decided_at: decision ? new Date().toISOString() : ""});
      renderProgress();
      if (decision && state.autoAdvance && state.position + 1 < state.view.length) move(1);
      else show(state.position);
    }

    function decisionBar(entry) {
      const r = review(entry);
      const buttons = DECISIONS.map(function (decision) {
        return h("button", {
            type: "button",
            class: "decide decide-" + decision + (r.decision === decision ? " chosen" : ""),
            "aria-pressed": r.decision === decision ? "true" : "false",
            onclick: function () { decide(decision); },
          },
          DECISION_LABELS[decision], h("kbd", null, decision[0].toUpperCase()));
      });
      const advance = h("input", {type: "checkbox", id: "auto-advance", checked: state.autoAdvance,
        onchange: function (event) { state.autoAdvance = event.target.checked; savePrefs(); }});
      const comment = h("textarea", {id: "comment", rows: 2, placeholder: "Comment (C)…", "aria-label": "Comment"});
      comment.value = r.comment || "";
      comment.addEventListener("input", function () { updateReview(entry, {comment: comment.value}); });
      comment.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); comment.blur(); }
      });
      return h("section", {class: "decision-bar"},
        h("div", {class: "decide-buttons"},
          h("button", {type: "button", class: "nav", title: "Previous (←, K)", onclick: function () { move(-1); }}, "←"),
          buttons,
          h("button", {type: "button", class: "decide decide-clear", title: "Clear the decision (X)",
            onclick: function () { decide(""); }}, "Clear", h("kbd", null, "X")),
          h("button", {type: "button", class: "nav", title: "Next (→, J)", onclick: function () { move(1); }}, "→"),
          h("span", {class: "position"}, (state.position + 1) + " of " + state.view.length),
          h("label", {class: "advance"}, advance, " advance after deciding")),
        h("div", {class: "decided-at"}, r.decision ? DECISION_LABELS[r.decision] + " · " + formatTime(r.decided_at) : "No decision yet"),
        comment);
    }

    function renderDetail(entry, record) {
      const snrBands = Object.entries(record.survey_snr || {}).map(function (pair) {
        return pair[0] + " " + formatNumber(pair[1], 0);
      }).join(" · ");
      function fact(label, value, extra) {
        if (typeof extra === "string") extra = h("span", {class: "muted"}, extra);
        return h("div", null, h("dt", null, label), h("dd", null, value, extra));
      }
      const facts = h("dl", {class: "facts"},
        fact("Task", record.task),
        typeof record.confidence === "number" ? fact("Confidence", formatNumber(record.confidence, 2)) : null,
        fact("S/N", record.snr === null ? "–" : formatNumber(record.snr, 1) + " per pixel (median)",
          snrBands ? " · survey " + snrBands : null),
        fact("Redshift", formatRedshift(record.redshift), record.redshift_note ?
          h("span", {class: "redshift-note" + (record.redshift_source === "file" ? "" : " unusual"), id: "redshift-note"},
            record.redshift_note) : null),
        record.pipeline_class ? fact("Pipeline class", record.pipeline_class) : null,
        fact("Turns", record.n_steps === null ? "–" : String(record.n_steps),
          record.seconds === null ? null : " in " + formatNumber(record.seconds, 1) + " s"),
        h("div", {class: "file-fact"}, h("dt", null, "File"), h("dd", null, h("code", {class: "file"}, record.file))));

      const head = h("header", {class: "detail-head"},
        h("h2", null, record.id),
        outcomeBadge(record.outcome, true),
        facts);

      const failed = record.outcome === "failed";  // never inspected: no evidence at all
      const evidence = h("section", {class: "evidence"},
        h("h3", null, failed ? "Why there is no verdict" : "Agent's evidence"),
        failed ? null : h("blockquote", {id: "evidence"}, record.evidence || "(no justification given)"),
        record.error ? h("p", {class: "note error", id: "error"},
          (ERROR_PREFIXES[record.outcome] || ERROR_PREFIXES.error) + record.error) : null,
        record.notes.map(function (note) { return h("p", {class: "note"}, note); }));

      const spectrum = record.spectrum_image ? h("figure", {class: "spectrum"},
        h("img", {src: record.spectrum_image, alt: "Full spectrum of " + record.id}),
        h("figcaption", null, "Whole spectrum, rest frame: the windows the agent inspected are shaded and numbered; " +
          "identified lines are marked (red absorption, green emission).")) :
        h("p", {class: "empty"}, "No spectrum image.");

      const windows = h("section", {class: "windows"},
        h("h3", null, "Zoom windows, in the order inspected"),
        record.windows.length ? h("div", {class: "window-grid"}, record.windows.map(function (w) {
          return h("figure", {class: "window"},
            h("figcaption", null, h("span", {class: "number"}, String(w.number)),
              h("span", {class: "label"}, w.label || "window"),
              h("span", {class: "range"}, formatNumber(w.lo, 0) + "–" + formatNumber(w.hi, 0) + " Å")),
            w.image ? h("img", {src: w.image, loading: "lazy", alt: "Window " + w.number + ": " + (w.label || "")}) :
              h("p", {class: "empty"}, "No zoom image: no spectrum to draw here."));
        })) : h("p", {class: "empty"}, "The agent inspected no window."));

      const lines = record.lines.length ? h("section", {class: "lines"},
        h("h3", null, "Lines identified in the windows"),
        h("table", null,
          h("thead", null, h("tr", null, h("th", null, "Line"), h("th", null, "λ rest (Å)"), h("th", null, "Kind"), h("th", null, "Significance"))),
          h("tbody", null, record.lines.map(function (line) {
            return h("tr", {class: "kind-" + line.kind},
              h("td", null, line.name), h("td", null, formatNumber(line.rest, 1)),
              h("td", null, line.kind), h("td", null, formatNumber(line.significance, 1) + " σ"));
          })))) : null;

      const transcript = record.transcript.length ? h("details", {class: "transcript"},
        h("summary", null, "Agent's reasoning, turn by turn (" + record.transcript.length + ")"),
        h("ol", null, record.transcript.map(function (turn) {
          return h("li", null,
            turn.action ? h("div", {class: "action"}, turn.action) : null,
            h("p", null, turn.think),
            turn.error ? h("p", {class: "note error"}, turn.error) : null);
        }))) : null;

      // replaceChildren writes a null as the text "null": a failed row has no lines or turns
      const parts = [head, decisionBar(entry), evidence, spectrum, windows, lines, transcript];
      $("detail").replaceChildren(...parts.filter(Boolean));
    }

    function toggleHelp(open) {
      $("help").hidden = !open;
      if (open) $("help-close").focus();
    }

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (!$("help").hidden) {
        if (event.key === "Escape" || event.key === "?") { event.preventDefault(); toggleHelp(false); }
        return;
      }
      const target = event.target;
      if (target.matches && target.matches("input, textarea, select")) {
        if (event.key === "Escape") target.blur();
        return;
      }
      const actions = {
        a: function () { decide("accept"); }, y: function () { decide("accept"); },
        r: function () { decide("reject"); }, n: function () { decide("reject"); },
        u: function () { decide("unsure"); }, x: function () { decide(""); },
        j: function () { move(1); }, ArrowRight: function () { move(1); },
        k: function () { move(-1); }, ArrowLeft: function () { move(-1); },
        c: function () { const comment = $("comment"); if (comment) comment.focus(); },
        "?": function () { toggleHelp(true); },
      };
      const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      if (actions[key] && !(event.shiftKey && key !== "?")) {
        event.preventDefault();
        actions[key]();
      }
    });

    for (const name of Object.keys(filters)) {
      filters[name].addEventListener(name === "text" ? "input" : "change", function () {
        const entry = current();
        applyFilters(entry ? entry.index : -1);
      });
    }
    $("filters").addEventListener("submit", function (event) { event.preventDefault(); });
    $("page-prev").addEventListener("click", function () { show((Math.floor(state.position / PAGE_SIZE) - 1) * PAGE_SIZE); });
    $("page-next").addEventListener("click", function () { show((Math.floor(state.position / PAGE_SIZE) + 1) * PAGE_SIZE); });
    $("export-csv").addEventListener("click", function () { download("decisions.csv", csvText(exportRows()), "text/csv"); });
    $("export-ecsv").addEventListener("click", function () { download("decisions.ecsv", ecsvText(exportRows()), "text/plain"); });
    $("help-button").addEventListener("click", function () { toggleHelp(true); });
    $("help-close").addEventListener("click", function () { toggleHelp(false); });
    $("import").addEventListener("change", function (event) {
      const file = event.target.files[0];
      if (!file) return;
      file.text().then(function (text) {
        message(importDecisions(text));
        renderProgress();
        applyFilters(current() ? current().index : -1);
      }).catch(function (error) { message("Import failed: " + error.message); })
        .finally(function () { event.target.value = ""; });
    });
    window.addEventListener("storage", function (event) {
      if (event.key !== REPORT.storage_key) return;
      saved = store.read();
      renderProgress();
      show(state.position);
    });
    window.addEventListener("hashchange", function () {
      const index = parseInt(location.hash.slice(1), 10);
      if (Number.isInteger(index) && entries[index] && current() !== entries[index]) {
        if (!state.view.includes(index)) resetFilters();
        show(state.view.indexOf(index));
      }
    });

    function resetFilters() {
      for (const name of Object.keys(filters)) filters[name].value = "";
      applyFilters(-1);
    }

    renderProgress();
    const wanted = parseInt(location.hash.slice(1), 10);
    applyFilters(Number.isInteger(wanted) ? wanted : -1);
    if (Number.isInteger(wanted) && entries[wanted] && !state.view.includes(wanted)) {
      resetFilters();
      show(state.view.indexOf(wanted));
    }
    if (!store.available) message("This browser does not keep data for local files: export your decisions.");
  }

  /* ---------------------------------------------------------------- summary page */

  function summaryPage() {
    const summary = REPORT.summary;
    const main = $("summary");

    function table(head, rows) {
      return h("table", {class: "counts"},
        h("thead", null, h("tr", null, head.map(function (cell) { return h("th", null, cell); }))),
        h("tbody", null, rows.map(function (row) {
          return h("tr", null, row.map(function (cell, i) { return h(i ? "td" : "th", null, cell); }));
        })));
    }

    function render() {
      renderProgress();
      const c = counts(entries);
      const outcomes = countOutcomes(entries);

      const tasks = Object.keys(summary.verdict_counts);
      const names = summary.outcomes.map(function (outcome) { return OUTCOMES[outcome]; });
      const runTable = table(["Task"].concat(names, ["total"]), tasks.map(function (task) {
        const t = summary.verdict_counts[task];
        const cells = summary.outcomes.map(function (outcome) { return t[outcome]; });
        return [task].concat(cells, [cells.reduce(function (a, b) { return a + b; }, 0)]);
      }));

      const columns = DECISIONS.concat([""]);
      const matrix = {YES: {}, NO: {}};
      for (const verdict of ["YES", "NO"]) for (const d of columns) matrix[verdict][d] = 0;
      for (const entry of entries) {
        if (matrix[entry.verdict]) matrix[entry.verdict][review(entry).decision || ""] += 1;
      }
      const agree = matrix.YES.accept + matrix.NO.reject;
      const judged = matrix.YES.accept + matrix.YES.reject + matrix.NO.accept + matrix.NO.reject;
      const agreement = h("section", {class: "card", id: "agreement"},
        h("h2", null, "Agent and reviewer"),
        table(["Agent verdict", "accepted", "rejected", "unsure", "undecided"], ["YES", "NO"].map(function (verdict) {
          return ["agent " + verdict].concat(columns.map(function (d) { return matrix[verdict][d]; }));
        })),
        h("p", {class: "agreement-rate"}, judged ?
          "Agreement: " + agree + " of " + judged + " accepted or rejected candidates (" + Math.round(100 * agree / judged) + "%)." :
          "No candidate accepted or rejected yet: the agreement appears here as you review."));

      const disagreements = entries.filter(function (entry) {
        const d = review(entry).decision;
        return (entry.verdict === "YES" && d === "reject") || (entry.verdict === "NO" && d === "accept");
      });
      const disagreementList = h("section", {class: "card"},
        h("h2", null, "Disagreements (" + disagreements.length + ")"),
        disagreements.length ? h("ul", {class: "disagreements"}, disagreements.slice(0, 500).map(function (entry) {
          const r = review(entry);
          return h("li", null, h("a", {href: "index.html#" + entry.index}, entry.id),
            " agent " + entry.verdict + ", reviewer " + r.decision + (r.comment ? ": " : ""),
            r.comment ? h("span", {class: "muted"}, r.comment) : null);
        })) : h("p", {class: "muted"}, "None so far."));

      const figures = Object.entries(summary.images).map(function (pair) {
        return h("figure", {class: "card plot"}, h("img", {src: pair[1], alt: pair[0] + " plot"}));
      });

      main.replaceChildren(
        h("section", {class: "stats"},
          h("div", {class: "stat"}, h("strong", null, String(entries.length)), "candidates in this report"),
          Object.keys(OUTCOMES).map(function (outcome) {
            const verdict = outcome === "YES" || outcome === "NO";  // shown even when none
            return verdict || outcomes[outcome] ? h("div", {class: "stat", id: "stat-" + outcome},
              h("strong", null, String(outcomes[outcome])), (verdict ? "agent " : "") + OUTCOMES[outcome]) : null;
          }),
          h("div", {class: "stat"}, h("strong", null, String(c.decided)), "reviewed"),
          h("div", {class: "stat"}, h("strong", null, String(summary.rows)), "rows in the results table")),
        agreement,
        h("section", {class: "card"}, h("h2", null, "Outcomes in the results table"), runTable),
        disagreementList,
        h("section", {class: "plots"}, figures),
        h("p", {class: "muted footer"}, "Built " + formatTime(REPORT.generated) + " from " + REPORT.results +
          ". The plots show what was known at build time; the tables follow the decisions in this browser."));
    }

    window.addEventListener("storage", function (event) {
      if (event.key === REPORT.storage_key) { saved = store.read(); render(); }
    });
    render();
  }

  if (document.body.dataset.page === "summary") summaryPage();
  else reviewPage();
})();
