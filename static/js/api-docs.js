// The API docs page (templates/accounts/api_docs.html): Swagger UI over the schema.
// validatorUrl null: otherwise Swagger UI shows a badge fetched from validator.swagger.io,
// a request leaving the site.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    // No deep links: they put a link inside each operation's toggle button, a control
    // inside a control that screen readers cannot reach (axe: nested-interactive).
    deepLinking: false,
    persistAuthorization: false,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" while logged in uses the session cookie; Django then wants the CSRF
    // token on writes (with a Bearer token it is not needed, and not sent further).
    requestInterceptor: function (request) {
      var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
      if (match && !request.headers.Authorization) {
        request.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
      }
      return request;
    },
  });
})();
