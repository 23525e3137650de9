// Webhooks admin: after a create or a secret rotation the page was answered to a POST; put the
// endpoint's own address in the location bar, so reloading shows it (without the secret, which
// is shown once) instead of posting the form again.
(function () {
  "use strict";
  var marker = document.querySelector("[data-canonical-url]");
  if (marker && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", marker.getAttribute("data-canonical-url"));
  }
})();
