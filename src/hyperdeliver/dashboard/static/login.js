// The dashboard's login: POST /auth/login with fetch (sending the CSRF cookie back as
// X-CSRF-Token when there is one), then open the dashboard.
(function () {
  "use strict";
  var form = document.getElementById("login");
  var config = JSON.parse(document.getElementById("login-config").textContent);
  var error = document.getElementById("login-error");

  function cookie(name) {
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(name + "=") === 0; })[0];
    return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    var csrf = cookie(config.csrf_cookie);
    if (csrf) headers["X-CSRF-Token"] = csrf;
    fetch("/auth/login", {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: JSON.stringify({ email: form.email.value, password: form.password.value })
    }).then(function (r) {
      if (r.ok) { window.location.assign(config.next); return; }
      return r.json().then(function (p) { throw new Error(p.detail || ("login failed: " + r.status)); });
    }).catch(function (e) {
      error.textContent = e.message;
      error.hidden = false;
    });
  });
})();
