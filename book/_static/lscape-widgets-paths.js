// Resolve the AMD modules of @jupyter-widgets/html-manager (embed-amd.js) to
// its copy under _static/vendor. Each module finds its fonts next to its own
// URL, which RequireJS would otherwise place relative to the page.
(function () {
  var root = document.documentElement.dataset.content_root || "";
  var base = root + "_static/vendor/html-manager-1.0.15";
  require.config({
    paths: {
      "@jupyter-widgets": base,
      "@jupyter-widgets/html-manager/dist": base,
    },
  });
})();
