// Starts Swagger UI (a file, not an inline script: the page's CSP allows scripts from the app only).
(function () {
  const config = JSON.parse(document.getElementById("docs-config").textContent);
  window.ui = SwaggerUIBundle({url: config.url, dom_id: "#swagger-ui",
    requestInterceptor: (req) => {
      const m = document.cookie.match(new RegExp("(?:^|; )" + config.csrf_cookie + "=([^;]+)"));
      if (m) req.headers["X-CSRF-Token"] = decodeURIComponent(m[1]);
      return req;
    }});
})();
