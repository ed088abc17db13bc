// Loads /openapi.json into Swagger UI; on a server with a token, asks for it once per tab
// and sends it with the document request and with every "Try it out" request.
(function () {
  "use strict";
  var specUrl = new URL("openapi.json", document.baseURI).href;
  var key = "policykb-token";
  var form = document.getElementById("token-form");
  var error = document.getElementById("token-error");

  function token() { return sessionStorage.getItem(key) || ""; }

  function load() {
    var headers = token() ? { Authorization: "Bearer " + token() } : {};
    fetch(specUrl, { headers: headers }).then(function (response) {
      if (response.status === 401) {
        form.hidden = false;
        error.textContent = token() ? "That token was refused." : "";
        return null;
      }
      if (!response.ok) { throw new Error("GET openapi.json: " + response.status); }
      return response.json();
    }).then(function (spec) {
      if (!spec) { return; }
      form.hidden = true;
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        tryItOutEnabled: true,
        requestInterceptor: function (request) {
          if (token()) { request.headers.Authorization = "Bearer " + token(); }
          return request;
        }
      });
    }).catch(function (e) { error.textContent = String(e); form.hidden = false; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    sessionStorage.setItem(key, document.getElementById("token").value.trim());
    load();
  });
  load();
})();
