/* The patients' pages work without this file; with it they get:
   - "Add another medicine" without a page reload (focus moves to the new field),
   - autocomplete from /api/v1/drugs as an ARIA 1.2 combobox (keyboard: arrows, Enter, Escape),
   - focus moved to the result or error heading on load (a fallback for `autofocus`),
   - a "Print this page" button, and sources opened for printing.
   Every word shown comes from the page (data-* attributes), so translations need no JS change. */
(function () {
  "use strict";

  var MIN_QUERY = 2;
  var MAX_OPTIONS = 8;
  var DELAY_MS = 150;

  function fill(template, n) {
    return (template || "").replace("__N__", String(n));
  }

  function focusOnLoad() {
    var target = document.querySelector("[data-focus-on-load]");
    if (target && (document.activeElement === document.body || !document.activeElement)) {
      target.focus();
    }
  }

  function enablePrint() {
    // A printout is read away from the screen: print the sources too.
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details"), function (details) {
        details.open = true;
      });
    });
    var buttons = document.querySelectorAll("[data-print]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  /* ---- autocomplete ------------------------------------------------------------------------ */

  var list = document.getElementById("medicine-list");
  var status = null;
  var counter = 0;

  function announce(text) {
    if (!status) {
      return;
    }
    // Clear first so the same message is announced again.
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = text;
    }, 50);
  }

  function setUpCombobox(input, number) {
    counter += 1;
    var listbox = document.createElement("ul");
    listbox.id = "suggestions-" + counter;
    listbox.className = "suggestions";
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-label", fill(list.getAttribute("data-suggestions-label"), number));
    listbox.hidden = true;
    input.insertAdjacentElement("afterend", listbox);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);

    var timer = null;
    var sequence = 0;
    var active = -1;

    function options() {
      return listbox.querySelectorAll("[role=option]");
    }

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = options();
      if (!items.length) {
        return;
      }
      active = (index + items.length) % items.length;
      Array.prototype.forEach.call(items, function (item, i) {
        item.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function choose(item) {
      input.value = item.textContent;
      close();
      input.focus();
    }

    function show(names) {
      listbox.textContent = "";
      names.forEach(function (name, i) {
        var option = document.createElement("li");
        option.id = listbox.id + "-option-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = name; // text, never HTML
        // mousedown, not click: keep focus in the field while the pointer chooses.
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();
        });
        option.addEventListener("click", function () {
          choose(option);
        });
        listbox.appendChild(option);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (names.length && document.activeElement === input) {
        listbox.hidden = false;
        input.setAttribute("aria-expanded", "true");
        announce(fill(list.getAttribute("data-suggestions-status"), names.length));
      } else {
        close();
        if (document.activeElement === input) {
          announce(list.getAttribute("data-no-suggestions-status"));
        }
      }
    }

    function lookUp() {
      var query = input.value.trim();
      if (query.length < MIN_QUERY) {
        close();
        return;
      }
      sequence += 1;
      var mine = sequence;
      var url = "/api/v1/drugs?limit=" + MAX_OPTIONS + "&q=" + encodeURIComponent(query);
      fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" })
        .then(function (response) {
          return response.ok ? response.json() : { results: [] };
        })
        .then(function (body) {
          if (mine !== sequence) {
            return; // an older answer arriving late
          }
          show(
            (body.results || []).map(function (result) {
              return result.label || result.name;
            })
          );
        })
        .catch(function () {
          close(); // autocomplete is a help, never a blocker
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookUp, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !listbox.hidden;
      if (event.key === "ArrowDown" || event.key === "Down") {
        if (options().length) {
          event.preventDefault();
          if (!open) {
            listbox.hidden = false;
            input.setAttribute("aria-expanded", "true");
          }
          highlight(active + 1);
        }
      } else if (event.key === "ArrowUp" || event.key === "Up") {
        if (open) {
          event.preventDefault();
          highlight(active - 1);
        }
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault(); // choose the suggestion; do not submit yet
          choose(options()[active]);
        }
      } else if (event.key === "Escape" || event.key === "Esc") {
        if (open) {
          event.preventDefault();
          close();
        }
      } else if (event.key === "Tab") {
        close();
      }
    });

    input.addEventListener("blur", function () {
      window.setTimeout(close, 100);
    });
  }

  /* ---- add another medicine ---------------------------------------------------------------- */

  function setUpAddAnother() {
    var button = document.getElementById("add-medicine");
    var maxReached = document.getElementById("max-reached");
    var max = parseInt(list.getAttribute("data-max"), 10) || 30;
    if (!button) {
      return;
    }
    button.type = "button"; // with JS it adds a field here instead of posting the form

    button.addEventListener("click", function () {
      var count = list.querySelectorAll(".medicine-input").length;
      if (count >= max) {
        return;
      }
      var number = count + 1;
      var template = list.querySelector(".medicine-input");
      var item = document.createElement("li");
      item.className = "field medicine-field";
      var label = document.createElement("label");
      label.setAttribute("for", "medicine-" + number);
      label.textContent = fill(list.getAttribute("data-label"), number);
      var input = document.createElement("input");
      input.type = "text";
      input.id = "medicine-" + number;
      input.name = "medicine";
      input.className = "medicine-input";
      input.maxLength = template ? template.maxLength : 200;
      input.autocomplete = "off";
      input.spellcheck = false;
      input.setAttribute("autocapitalize", "none");
      input.setAttribute("aria-describedby", "medicines-hint");
      item.appendChild(label);
      item.appendChild(input);
      list.appendChild(item);
      setUpCombobox(input, number);
      input.focus();
      if (number >= max) {
        button.hidden = true;
        if (maxReached) {
          maxReached.hidden = false;
        }
      }
    });
  }

  function setUpForm() {
    if (!list) {
      return;
    }
    status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    list.insertAdjacentElement("afterend", status);
    Array.prototype.forEach.call(list.querySelectorAll(".medicine-input"), function (input, i) {
      setUpCombobox(input, i + 1);
    });
    setUpAddAnother();
  }

  function start() {
    setUpForm();
    enablePrint();
    focusOnLoad();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
