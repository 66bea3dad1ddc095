// Glue between the book's vendored scripts and @jupyter-widgets/html-manager
// (embed-amd.js), loaded after RequireJS and before embed-amd.js.
(function () {
  // Resolve the AMD modules of embed-amd.js to its copy under _static/vendor.
  // Each module finds its fonts next to its own URL, which RequireJS would
  // otherwise place relative to the page.
  var root = document.documentElement.dataset.content_root || "";
  var base = root + "_static/vendor/html-manager-1.0.15";
  require.config({
    paths: {
      "@jupyter-widgets": base,
      "@jupyter-widgets/html-manager/dist": base,
    },
  });

  // ipywidgets 8 typesets every widget label with the MathJax 2 call
  // MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]), but the book loads
  // MathJax 3, which has no Hub, so the call throws on every label. Route it
  // to MathJax 3. DOMContentLoaded fires after the deferred MathJax script has
  // run and before embed-amd.js renders the widgets on the load event.
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.startup) {
      return;
    }
    mathjax.Hub = {
      Queue: function (command) {
        var element = command[2];
        mathjax.startup.promise
          .then(function () {
            return mathjax.typesetPromise([element]);
          })
          .catch(function (error) {
            console.warn("MathJax could not typeset a widget label:", error);
          });
      },
    };
  });
})();
