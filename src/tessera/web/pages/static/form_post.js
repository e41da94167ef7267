// response_mode=form_post: send the authorization response on at once (OAuth 2.0 Form Post
// Response Mode §2). Without this file, the page's Continue button does the same.
(function () {
  "use strict";
  var form = document.querySelector("form[data-auto-submit]");
  if (form) { form.submit(); }
})();
