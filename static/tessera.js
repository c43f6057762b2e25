// Progressive enhancements for the Tessera pages; every page works without this file.
// Loaded as a static file (with `defer`) because the CSP forbids inline scripts.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="input-id" hidden>. Shown only when scripting works.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    var label = button.textContent;
    if (!target) return;
    button.hidden = false;
    target.addEventListener("focus", function () { target.select(); });
    button.addEventListener("click", function () {
      var done = function () {
        button.textContent = "Copied";
        if (status) status.textContent = "The code is on your clipboard.";
        window.setTimeout(function () { button.textContent = label; }, 2000);
      };
      target.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(target.value).then(done, function () {
          if (document.execCommand("copy")) done();
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });

  // Forms marked data-submit-once disable their submit button after the first submit,
  // so a double click does not post twice; coming back via the back button re-enables it.
  var onceForms = document.querySelectorAll("form[data-submit-once]");
  onceForms.forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
  // SAML HTTP-POST binding: <form data-autosubmit> goes to the identity provider at once.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) { form.submit(); });

  window.addEventListener("pageshow", function () {
    onceForms.forEach(function (form) {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });
})();
