// Starts the API reference on /docs. A file of its own, not an inline script, so the page's
// Content-Security-Policy can be `script-src 'self'`.
Scalar.createApiReference("#app", {
  url: "/openapi.json",
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false,
});
