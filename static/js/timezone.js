// Tell the server the browser's time zone (a cookie read on the next page), so event times can
// also be shown in the viewer's own time when their profile names no zone.
(function () {
  "use strict";
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) { return; }
    var current = document.cookie.split("; ").find(function (c) { return c.indexOf("tz=") === 0; });
    if (current !== "tz=" + encodeURIComponent(zone)) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* an old browser: times stay in the event's zone only */ }
})();
