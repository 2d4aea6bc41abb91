// Kizuna's own small enhancements. Every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The menu is a <details> for phones; on a wide screen keep it open.
  const menu = document.querySelector("details.menu");
  if (menu && window.matchMedia("(min-width: 761px)").matches) menu.open = true;

  // A button with data-confirm asks before its form is sent.
  document.addEventListener("submit", (e) => {
    const b = e.submitter;
    if (b && b.dataset.confirm && !window.confirm(b.dataset.confirm)) e.preventDefault();
  });

  // A select or input with data-autosubmit sends its form when changed
  // (the form still has a button for when scripts are off).
  for (const el of document.querySelectorAll("[data-autosubmit]")) {
    el.addEventListener("change", () => el.form && el.form.requestSubmit());
  }

  // A textarea or input with data-validate="URL" is checked as the user
  // types: the URL gets POST {rule: value} with the form's CSRF token and
  // answers JSON {ok, error}; the message goes to the element named by
  // data-validate-out.
  for (const el of document.querySelectorAll("[data-validate]")) {
    const out = document.getElementById(el.dataset.validateOut);
    let timer;
    el.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const body = new URLSearchParams();
        body.set("rule", el.value);
        const csrf = el.form && el.form.querySelector("input[name=csrf]");
        if (csrf) body.set("csrf", csrf.value);
        if (el.dataset.validateKind) body.set("kind", el.dataset.validateKind);
        try {
          const r = await fetch(el.dataset.validate, { method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin" });
          const j = await r.json();
          if (out) {
            out.textContent = j.ok ? (out.dataset.ok || "✓") : j.error;
            out.className = j.ok ? "hint" : "field-error";
          }
          el.setAttribute("aria-invalid", j.ok ? "false" : "true");
        } catch (err) {
          if (out) out.textContent = "";
        }
      }, 250);
    });
  }
});

// area: rules
// A select with data-rules-switch="NAME" shows only the elements with
// data-rules-show="NAME" whose data-rules-values (space-separated) hold its
// value: a playbook's trigger and action fields. Without scripts every
// field shows, and the server keeps only those of the chosen type.
document.addEventListener("DOMContentLoaded", () => {
  for (const sel of document.querySelectorAll("select[data-rules-switch]")) {
    const name = sel.dataset.rulesSwitch;
    const update = () => {
      for (const el of document.querySelectorAll('[data-rules-show="' + CSS.escape(name) + '"]')) {
        el.hidden = !el.dataset.rulesValues.split(" ").includes(sel.value);
      }
    };
    sel.addEventListener("change", update);
    update();
  }
});
