/**
 * Concept picker: an accessible "combobox with chips" for multi-value fields.
 *
 * Contract
 * --------
 * Enhances every element carrying `data-concept-picker` once the DOM is ready.
 * The element must contain a `<label for="ID">` and a text `<input id="ID">`
 * whose value is a ";"-separated list of items. Each item is either a concept
 * slug or a free tag typed by the member. Without JavaScript that input keeps
 * working on its own (progressive enhancement).
 *
 * Data attributes read from the `[data-concept-picker]` element:
 *   data-source         URL answering `GET ?q=<text>` with a JSON array of
 *                       `{slug, label, other_label, sector}` (same origin).
 *   data-labels         JSON object `{slug: label}` for the current items, so
 *                       chips show labels in the viewer's language. Items not
 *                       found here are treated as free tags.
 *   data-remove-label   Accessible name of a chip's remove button ("Remove %s").
 *   data-free-tag-label Text of the "add as free tag" option ("Add “%s” as a free tag").
 *   data-no-results     Status text when no concept matches.
 *   data-chosen-label   Accessible name of the list of chosen items.
 *   data-results-label  Optional status text for N results ("%d results").
 *
 * What the enhancement does:
 *   - the original input becomes `type="hidden"` (same name and value, no id,
 *     no aria-describedby); it carries the submitted value, items joined "; ";
 *   - a new text input takes over the id and aria-describedby and follows the
 *     WAI-ARIA APG combobox pattern (list autocomplete, aria-activedescendant),
 *     controlling a `<ul role="listbox" id="ID-listbox">` of suggestions;
 *   - chosen items are shown as removable chips above the text input;
 *   - a polite live region announces how many suggestions were found.
 *
 * No inline style attributes, no eval, no globals: compatible with
 * `script-src 'self'; style-src 'self'`. Styles live in concept-picker.css.
 */
(function () {
  "use strict";

  const DEBOUNCE_MS = 150;
  const MIN_CHARS = 2;
  let instanceCounter = 0;

  /** Replace every "%s" in a translatable template (no regex "$" pitfalls). */
  function format(template, value) {
    return String(template).split("%s").join(String(value));
  }

  /** Items may not contain ";" (the separator); collapse whitespace too. */
  function cleanItem(text) {
    return String(text == null ? "" : text)
      .replace(/;+/g, " ")
      .replace(/\s+/g, " ")
      .trim();
  }

  function lower(text) {
    return String(text).toLocaleLowerCase();
  }

  /** Parse the data-labels JSON into a Map (safe against prototype keys). */
  function parseLabels(json) {
    const labels = new Map();
    if (!json) {
      return labels;
    }
    try {
      const data = JSON.parse(json);
      if (data && typeof data === "object" && !Array.isArray(data)) {
        Object.keys(data).forEach(function (slug) {
          if (typeof data[slug] === "string" && data[slug].trim()) {
            labels.set(slug, data[slug].trim());
          }
        });
      }
    } catch (error) {
      // Invalid JSON: chips fall back to showing the raw item.
    }
    return labels;
  }

  /** Keep only well-formed concepts from a server response. */
  function normaliseResults(data) {
    if (!Array.isArray(data)) {
      return [];
    }
    const seen = new Set();
    const results = [];
    data.forEach(function (entry) {
      if (!entry || typeof entry !== "object") {
        return;
      }
      const slug = cleanItem(entry.slug);
      const label = cleanItem(entry.label) || slug;
      if (!slug || seen.has(lower(slug))) {
        return;
      }
      seen.add(lower(slug));
      results.push({
        slug: slug,
        label: label,
        otherLabel: typeof entry.other_label === "string" ? entry.other_label.trim() : "",
        sector: typeof entry.sector === "string" ? entry.sector.trim() : "",
      });
    });
    return results;
  }

  function enhance(root) {
    if (root.hasAttribute("data-concept-picker-ready")) {
      return;
    }
    const original = root.querySelector("input:not([type=hidden])");
    const source = root.getAttribute("data-source");
    if (!original || !source) {
      return;
    }
    root.setAttribute("data-concept-picker-ready", "");
    instanceCounter += 1;

    const baseId = original.id || "concept-picker-" + instanceCounter;
    const labels = parseLabels(root.getAttribute("data-labels"));
    const removeLabel = root.getAttribute("data-remove-label") || "Remove %s";
    const freeTagLabel = root.getAttribute("data-free-tag-label") || "Add “%s”";
    const noResultsLabel = root.getAttribute("data-no-results") || "0";
    const resultsLabel = root.getAttribute("data-results-label") || "%d";
    const chosenLabel = root.getAttribute("data-chosen-label") || "";
    const describedBy = original.getAttribute("aria-describedby");
    const label = root.querySelector('label[for="' + baseId.replace(/(["\\])/g, "\\$1") + '"]');

    /** @type {{value: string, label: string, kind: string}[]} */
    let items = [];
    /** Rendered options: {kind: "concept"|"free", concept?, text?, el}. */
    let options = [];
    let activeIndex = -1;
    let renderedQuery = null;
    let debounceTimer = 0;
    let requestSeq = 0;
    let controller = null;

    // --- Build the widget --------------------------------------------------

    const input = document.createElement("input");
    input.type = "text";
    input.id = baseId;
    input.className = original.className || "form-control";
    input.classList.add("form-control");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", baseId + "-listbox");
    input.setAttribute("autocomplete", "off");
    input.setAttribute("autocapitalize", "none");
    input.spellcheck = false;
    if (describedBy) {
      input.setAttribute("aria-describedby", describedBy);
    }
    ["placeholder", "aria-invalid", "aria-errormessage", "disabled", "readonly"].forEach(function (name) {
      if (original.hasAttribute(name)) {
        input.setAttribute(name, original.getAttribute(name));
      }
    });
    if (original.required) {
      input.setAttribute("aria-required", "true");
    }

    const listbox = document.createElement("ul");
    listbox.id = baseId + "-listbox";
    listbox.className = "concept-picker-options";
    listbox.setAttribute("role", "listbox");
    listbox.hidden = true;
    if (label) {
      if (!label.id) {
        label.id = baseId + "-label";
      }
      listbox.setAttribute("aria-labelledby", label.id);
    } else if (chosenLabel) {
      listbox.setAttribute("aria-label", chosenLabel);
    }

    const field = document.createElement("div");
    field.className = "concept-picker-field";
    field.appendChild(input);
    field.appendChild(listbox);

    const chips = document.createElement("ul");
    chips.className = "concept-picker-chips";
    if (chosenLabel) {
      chips.setAttribute("aria-label", chosenLabel);
    }
    chips.hidden = true;

    const status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");

    // The original input becomes the submitted hidden field.
    const initialValue = original.value;
    original.removeAttribute("id");
    original.removeAttribute("aria-describedby");
    original.type = "hidden";
    original.value = initialValue;
    original.parentNode.insertBefore(chips, original);
    original.parentNode.insertBefore(field, original);
    original.parentNode.insertBefore(status, original);

    // --- Items and chips ---------------------------------------------------

    function sync() {
      original.value = items.map(function (item) { return item.value; }).join("; ");
      original.dispatchEvent(new Event("change", { bubbles: true }));
      renderChips();
    }

    function renderChips() {
      chips.textContent = "";
      items.forEach(function (item) {
        const isConcept = item.kind === "concept";
        const chip = document.createElement("li");
        chip.className = "badge concept-picker-chip " +
          (isConcept ? "concept-picker-chip--concept" : "concept-picker-chip--free");
        const text = document.createElement("span");
        text.className = "concept-picker-chip-text";
        text.textContent = item.label;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = isConcept ? "btn-close btn-close-white" : "btn-close";
        remove.setAttribute("aria-label", format(removeLabel, item.label));
        remove.addEventListener("click", function () {
          removeItem(item);
          input.focus();
        });
        chip.appendChild(text);
        chip.appendChild(document.createTextNode(" "));
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
      chips.hidden = items.length === 0;
    }

    function findItem(text) {
      const key = lower(text);
      return items.find(function (item) {
        return lower(item.value) === key || lower(item.label) === key;
      });
    }

    function isChosenConcept(slug) {
      const key = lower(slug);
      return items.some(function (item) {
        return item.kind === "concept" && lower(item.value) === key;
      });
    }

    function addConcept(concept) {
      if (isChosenConcept(concept.slug)) {
        return;
      }
      labels.set(concept.slug, concept.label);
      const item = { value: concept.slug, label: concept.label, kind: "concept" };
      // A free tag naming the same thing is upgraded to the concept.
      const twin = findItem(concept.slug) || findItem(concept.label);
      if (twin && twin.kind === "free") {
        items[items.indexOf(twin)] = item;
      } else if (!twin) {
        items.push(item);
      } else {
        return;
      }
      sync();
    }

    function addFreeTag(text) {
      const value = cleanItem(text);
      if (!value || findItem(value)) {
        return;
      }
      items.push({ value: value, label: value, kind: "free" });
      sync();
    }

    function removeItem(item) {
      const index = items.indexOf(item);
      if (index !== -1) {
        items.splice(index, 1);
        sync();
      }
    }

    String(initialValue || "").split(";").forEach(function (raw) {
      const value = cleanItem(raw);
      if (!value || findItem(value)) {
        return;
      }
      if (labels.has(value)) {
        items.push({ value: value, label: labels.get(value), kind: "concept" });
      } else {
        items.push({ value: value, label: value, kind: "free" });
      }
    });
    original.value = items.map(function (item) { return item.value; }).join("; ");
    renderChips();

    // --- Listbox -----------------------------------------------------------

    function isOpen() {
      return !listbox.hidden;
    }

    function setStatus(text) {
      if (status.textContent !== text) {
        status.textContent = text;
      }
    }

    function scrollIntoView(el) {
      const top = el.offsetTop;
      const bottom = top + el.offsetHeight;
      if (top < listbox.scrollTop) {
        listbox.scrollTop = top;
      } else if (bottom > listbox.scrollTop + listbox.clientHeight) {
        listbox.scrollTop = bottom - listbox.clientHeight;
      }
    }

    function setActive(index) {
      if (activeIndex >= 0 && options[activeIndex]) {
        options[activeIndex].el.classList.remove("active");
        options[activeIndex].el.removeAttribute("aria-selected");
      }
      activeIndex = index >= 0 && index < options.length ? index : -1;
      if (activeIndex === -1) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      const el = options[activeIndex].el;
      el.classList.add("active");
      el.setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", el.id);
      scrollIntoView(el);
    }

    function open() {
      if (!options.length) {
        close();
        return;
      }
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      setActive(-1);
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }

    function clearOptions() {
      close();
      listbox.textContent = "";
      options = [];
      renderedQuery = null;
    }

    function makeOption(index) {
      const li = document.createElement("li");
      li.id = baseId + "-opt-" + index;
      li.className = "concept-picker-option";
      li.setAttribute("role", "option");
      return li;
    }

    function renderOptions(query, results) {
      setActive(-1);
      listbox.textContent = "";
      options = [];
      renderedQuery = query;
      const shownLabels = new Set();

      results.forEach(function (concept) {
        const li = makeOption(options.length);
        const main = document.createElement("span");
        main.className = "concept-picker-option-label";
        main.textContent = concept.label;
        li.appendChild(main);
        const extra = [concept.otherLabel, concept.sector].filter(Boolean).join(" · ");
        if (extra) {
          const meta = document.createElement("span");
          meta.className = "concept-picker-option-meta";
          meta.textContent = extra;
          li.appendChild(document.createTextNode(" "));
          li.appendChild(meta);
        }
        shownLabels.add(lower(concept.label));
        if (concept.otherLabel) {
          shownLabels.add(lower(concept.otherLabel));
        }
        listbox.appendChild(li);
        options.push({ kind: "concept", concept: concept, el: li });
      });

      const text = cleanItem(query);
      if (text && !shownLabels.has(lower(text)) && !findItem(text)) {
        const li = makeOption(options.length);
        li.classList.add("concept-picker-option--free");
        li.textContent = format(freeTagLabel, text);
        listbox.appendChild(li);
        options.push({ kind: "free", text: text, el: li });
      }

      setStatus(results.length
        ? resultsLabel.split("%d").join(String(results.length))
        : noResultsLabel);
      if (document.activeElement === input) {
        open();
      } else {
        close();
      }
    }

    // --- Searching ---------------------------------------------------------

    /** Forget pending and in-flight searches: their results must not show. */
    function invalidate() {
      window.clearTimeout(debounceTimer);
      requestSeq += 1;
      if (controller) {
        controller.abort();
        controller = null;
      }
    }

    function search(query) {
      invalidate();
      const seq = requestSeq;
      let url;
      try {
        url = new URL(source, window.location.href);
      } catch (error) {
        return;
      }
      url.searchParams.set("q", query);
      controller = typeof AbortController === "function" ? new AbortController() : null;
      fetch(url.toString(), {
        method: "GET",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          if (seq !== requestSeq) {
            return; // Out of order: a newer request superseded this one.
          }
          controller = null;
          const results = normaliseResults(data).filter(function (concept) {
            return !isChosenConcept(concept.slug);
          });
          renderOptions(query, results);
        })
        .catch(function (error) {
          if (seq !== requestSeq || (error && error.name === "AbortError")) {
            return;
          }
          controller = null;
          // The service failed: still offer the typed text as a free tag.
          renderOptions(query, []);
        });
    }

    function scheduleSearch() {
      invalidate();
      const query = input.value.trim();
      if (query.length < MIN_CHARS) {
        clearOptions();
        setStatus("");
        return;
      }
      setActive(-1);
      debounceTimer = window.setTimeout(function () {
        search(query);
      }, DEBOUNCE_MS);
    }

    // --- Choosing ----------------------------------------------------------

    function resetText() {
      invalidate();
      input.value = "";
      clearOptions();
      setStatus("");
    }

    function pick(option) {
      if (option.kind === "concept") {
        addConcept(option.concept);
      } else {
        addFreeTag(option.text);
      }
      resetText();
      input.focus();
    }

    /** Commit what was typed: a concept whose label matches exactly, else a free tag. */
    function commitText() {
      const text = cleanItem(input.value);
      if (text) {
        const key = lower(text);
        const match = options.find(function (option) {
          return option.kind === "concept" &&
            (lower(option.concept.label) === key || lower(option.concept.otherLabel) === key);
        });
        if (match) {
          addConcept(match.concept);
        } else {
          addFreeTag(text);
        }
      }
      resetText();
    }

    function moveActive(step) {
      if (!options.length) {
        return;
      }
      let next;
      if (activeIndex === -1) {
        next = step > 0 ? 0 : options.length - 1;
      } else {
        next = (activeIndex + step + options.length) % options.length;
      }
      setActive(next);
    }

    /** Arrow key pressed while the list is closed: reopen or search now. */
    function openFromKeyboard(step, moveFocus) {
      const query = input.value.trim();
      if (options.length && renderedQuery === query) {
        open();
        if (moveFocus) {
          moveActive(step);
        }
      } else if (query.length >= MIN_CHARS) {
        search(query);
      }
    }

    // --- Events ------------------------------------------------------------

    input.addEventListener("input", scheduleSearch);

    input.addEventListener("keydown", function (event) {
      if (event.isComposing || event.keyCode === 229) {
        return;
      }
      switch (event.key) {
        case "ArrowDown":
        case "Down":
          event.preventDefault();
          if (isOpen() && !event.altKey) {
            moveActive(1);
          } else if (!isOpen()) {
            openFromKeyboard(1, !event.altKey);
          }
          break;
        case "ArrowUp":
        case "Up":
          event.preventDefault();
          if (isOpen() && event.altKey) {
            close();
          } else if (isOpen()) {
            moveActive(-1);
          } else {
            openFromKeyboard(-1, true);
          }
          break;
        case "Enter":
          if (isOpen()) {
            event.preventDefault();
            if (activeIndex >= 0) {
              pick(options[activeIndex]);
            } else {
              commitText();
            }
          } else if (input.value.trim()) {
            event.preventDefault();
            commitText();
          }
          break;
        case "Escape":
        case "Esc":
          if (isOpen()) {
            event.preventDefault();
            event.stopPropagation();
            close();
          }
          break;
        case "Tab":
          close();
          break;
        case "ArrowLeft":
        case "ArrowRight":
        case "Home":
        case "End":
          // Visual focus goes back to the text; the caret moves as usual.
          setActive(-1);
          break;
        case "Backspace":
          if (input.value === "" && items.length && !event.repeat) {
            removeItem(items[items.length - 1]);
          }
          break;
        default:
          break;
      }
    });

    input.addEventListener("blur", function () {
      close();
    });

    // Keep focus in the text input while the pointer is on the list.
    listbox.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });

    listbox.addEventListener("click", function (event) {
      const li = event.target.closest('[role="option"]');
      if (!li) {
        return;
      }
      const option = options.find(function (candidate) { return candidate.el === li; });
      if (option) {
        pick(option);
      }
    });

    // Nothing typed is lost: pending text becomes an item before submitting.
    if (original.form) {
      original.form.addEventListener("submit", function () {
        if (input.value.trim()) {
          commitText();
        }
      });
    }
  }

  function init() {
    document.querySelectorAll("[data-concept-picker]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
