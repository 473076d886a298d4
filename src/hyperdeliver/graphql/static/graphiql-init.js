// Starts GraphiQL (a file, not an inline script: the page's CSP allows scripts from the app only).
(function () {
  const config = JSON.parse(document.getElementById("graphiql-config").textContent);
  function csrfHeaders() {
    const m = document.cookie.match(new RegExp("(?:^|; )" + config.csrf_cookie + "=([^;]+)"));
    return m ? {"X-CSRF-Token": decodeURIComponent(m[1])} : {};
  }
  const fetcher = async (params) => {
    const r = await fetch(config.endpoint, {method: "POST", credentials: "same-origin",
      headers: Object.assign({"Content-Type": "application/json", "Accept": "application/json"}, csrfHeaders()),
      body: JSON.stringify(params)});
    return r.json();
  };
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {fetcher: fetcher, defaultEditorToolsVisibility: true}));
})();
